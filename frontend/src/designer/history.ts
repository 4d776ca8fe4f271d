// Undo and redo over snapshots of the designer's state (meta, nodes, edges). A snapshot
// shares everything unchanged with the previous one, so keeping many is cheap.
import type { Meta, WeftEdge, WeftNode } from "./model";

export interface Snapshot {
  meta: Meta;
  nodes: WeftNode[];
  edges: WeftEdge[];
}

export interface History {
  past: Snapshot[];
  future: Snapshot[];
}

export const HISTORY_LIMIT = 200;

export function record(history: History, before: Snapshot): History {
  return { past: [...history.past.slice(-(HISTORY_LIMIT - 1)), before], future: [] };
}

export function undo(history: History, current: Snapshot): [History, Snapshot] | null {
  const previous = history.past.at(-1);
  if (!previous) return null;
  return [{ past: history.past.slice(0, -1), future: [current, ...history.future] }, previous];
}

export function redo(history: History, current: Snapshot): [History, Snapshot] | null {
  const next = history.future[0];
  if (!next) return null;
  return [{ past: [...history.past, current], future: history.future.slice(1) }, next];
}
