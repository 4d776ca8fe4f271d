// The live state of an execution as its websocket tells it: the snapshot sent on connect,
// then one event per change. Pure functions, so the page's hook only wires them up.

export interface SnapshotNode {
  node: string;
  iteration: number | null;
  status: string;
  attempt: number;
  branch: string | null;
  /** The node's newest event already in this status (absent from an older server). */
  sequence?: number;
}

export interface Snapshot {
  id: string;
  workflow: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  /** The execution's newest event already in these statuses. */
  sequence?: number;
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
  /** The newest event whose `execution_status` is in `status`. */
  sequence: number;
  /** Each node's latest status, by node id. */
  nodes: Record<string, string>;
  /** The newest event in each node's status, by node id. */
  sequences: Record<string, number>;
}

export const EMPTY_LIVE: LiveState = { status: null, sequence: 0, nodes: {}, sequences: {} };

export function fromSnapshot(snapshot: Snapshot): LiveState {
  const nodes: Record<string, string> = {};
  const sequences: Record<string, number> = {};
  // ordered oldest first: the last row of a node (its latest iteration) wins
  for (const row of snapshot.nodes) {
    nodes[row.node] = row.status;
    sequences[row.node] = Math.max(sequences[row.node] ?? 0, row.sequence ?? 0);
  }
  return { status: snapshot.status, sequence: snapshot.sequence ?? 0, nodes, sequences };
}

/** The state after an event. Events may repeat or arrive out of order: a node takes an
 * event only above the newest it has (from the snapshot or an earlier event), and so does
 * the execution's status; an event that changes nothing returns the same state. */
export function applyEvent(state: LiveState, event: ExecutionEvent): LiveState {
  const node = event.node && event.status && event.sequence > (state.sequences[event.node] ?? 0) ? event.node : null;
  const newer = event.sequence > state.sequence && event.execution_status !== undefined && event.execution_status !== null;
  if (node === null && !newer) return state;
  return {
    status: newer ? event.execution_status : state.status,
    sequence: newer ? event.sequence : state.sequence,
    nodes: node === null ? state.nodes : { ...state.nodes, [node]: event.status as string },
    sequences: node === null ? state.sequences : { ...state.sequences, [node]: event.sequence },
  };
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
