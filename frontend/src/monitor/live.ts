// The live state of an execution as its websocket tells it: the snapshot sent on connect,
// then one event per change. Pure functions, so the page's hook only wires them up.

export interface SnapshotNode {
  node: string;
  iteration: number | null;
  status: string;
  attempt: number;
  branch: string | null;
}

export interface Snapshot {
  id: string;
  workflow: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  nodes: SnapshotNode[];
}

export interface ExecutionEvent {
  type: "execution.event";
  sequence: number;
  event: string;
  execution: string;
  node: string | null;
  status: string | null;
  execution_status: string;
  attempt: number | null;
  at: string;
}

export type Frame = { type: "execution.snapshot"; execution: Snapshot } | ExecutionEvent;

export interface LiveState {
  /** The execution's status as last told; null before the first snapshot. */
  status: string | null;
  /** Each node's latest status, by node id. */
  nodes: Record<string, string>;
}

export const EMPTY_LIVE: LiveState = { status: null, nodes: {} };

export function fromSnapshot(snapshot: Snapshot): LiveState {
  const nodes: Record<string, string> = {};
  // ordered oldest first: the last row of a node (its latest iteration) wins
  for (const row of snapshot.nodes) nodes[row.node] = row.status;
  return { status: snapshot.status, nodes };
}

export function applyEvent(state: LiveState, event: ExecutionEvent): LiveState {
  const nodes = event.node && event.status ? { ...state.nodes, [event.node]: event.status } : state.nodes;
  return { status: event.execution_status ?? state.status, nodes };
}

/** Whether the stored detail (outputs, errors, times) is behind after this event. */
export function changesDetail(event: ExecutionEvent): boolean {
  if (event.node === null) return true;
  return ["completed", "failed", "skipped", "cancelled", "waiting"].includes(event.status ?? "");
}

/** Seconds to wait before the n-th reconnection: 1, 2, 4, 8, then 10. */
export function backoff(attempt: number): number {
  return Math.min(10, 2 ** attempt);
}

/** A node run's loop iteration path, or null outside loops (the API sends ""). */
export function iterationOf(run: { iteration: unknown }): string | null {
  return run.iteration === null || run.iteration === undefined || run.iteration === "" ? null : String(run.iteration);
}
