// Who else is on a workflow, as the collaboration socket tells it (docs/collaboration.md):
// the entries and the frames, the pure functions that apply a frame, and what a person
// looks like (initials, a colour of a finite palette). No React here, so the lists load it
// without the canvas.
import type { Problem } from "../lib/types";

export type PresenceStatus = "online" | "away" | "busy";

/** One open socket (or one person present through the API) on a workflow. */
export interface PresenceEntry {
  connection: string;
  user: number;
  username: string;
  status: PresenceStatus;
  activity: string;
  selection: string[];
  via: "socket" | "api";
}

/** A position on the canvas, in flow coordinates (the same for everyone, whatever their zoom). */
export interface Point {
  x: number;
  y: number;
}

export type PresenceFrame =
  | { type: "presence.snapshot"; you: string; users: PresenceEntry[] }
  | { type: "presence.joined" | "presence.left" | "presence.heartbeat" | "presence.updated"; user: PresenceEntry }
  | { type: "presence.pointer"; user: PresenceEntry; pointer: Point | null }
  | { type: "event"; event: CollaborationEvent }
  | { type: "draft.problems"; seq: number; report: { valid: boolean; errors: Problem[]; warnings: Problem[] } }
  | { type: "error" | "pong" };

/** Something that happened in a workflow's collaboration (`published`, `edited`, ...). */
export interface CollaborationEvent {
  seq: number;
  kind: string;
  user: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

function sameEntry(a: PresenceEntry, b: PresenceEntry): boolean {
  return a.user === b.user && a.username === b.username && a.status === b.status && a.activity === b.activity
    && a.via === b.via && a.selection.length === b.selection.length && a.selection.every((id, index) => id === b.selection[index]);
}

/** The entries with `entry` added or put in its connection's place; the same array when
 * nothing changed (a heartbeat), so that what is drawn from it is not drawn again. */
export function upsert(others: PresenceEntry[], entry: PresenceEntry): PresenceEntry[] {
  const index = others.findIndex((other) => other.connection === entry.connection);
  if (index < 0) return [...others, entry];
  if (sameEntry(others[index], entry)) return others;
  return others.map((other, at) => (at === index ? entry : other));
}

/** The others after a frame: everyone but `you` (this page's own connection). */
export function applyFrame(others: PresenceEntry[], you: string | null, frame: PresenceFrame): PresenceEntry[] {
  switch (frame.type) {
    case "presence.snapshot":
      return frame.users.filter((entry) => entry.connection !== frame.you);
    case "presence.left":
      return others.some((other) => other.connection === frame.user.connection)
        ? others.filter((other) => other.connection !== frame.user.connection) : others;
    case "presence.joined":
    case "presence.heartbeat":
    case "presence.updated":
    case "presence.pointer":
      return frame.user.connection === you ? others : upsert(others, frame.user);
    default:
      return others;
  }
}

/** The others' pointers by connection after a frame (a pointer off the canvas is absent). */
export function applyPointer(pointers: Record<string, Point>, frame: PresenceFrame): Record<string, Point> {
  if (frame.type === "presence.snapshot") return {};
  if (frame.type === "presence.left" || (frame.type === "presence.pointer" && frame.pointer === null)) {
    if (!(frame.user.connection in pointers)) return pointers;
    const { [frame.user.connection]: _gone, ...rest } = pointers;
    return rest;
  }
  if (frame.type === "presence.pointer" && frame.pointer) return { ...pointers, [frame.user.connection]: frame.pointer };
  return pointers;
}

/** One entry per person (a person may have the workflow open in two tabs), first seen first. */
export function people(entries: PresenceEntry[]): PresenceEntry[] {
  const seen = new Set<number>();
  return entries.filter((entry) => {
    if (seen.has(entry.user)) return false;
    seen.add(entry.user);
    return true;
  });
}

/** Who has each node selected, by node id. */
export function selectionsByNode(others: PresenceEntry[]): Map<string, PresenceEntry[]> {
  const byNode = new Map<string, PresenceEntry[]>();
  for (const entry of others) {
    for (const id of entry.selection) {
      const holders = byNode.get(id) ?? [];
      if (!holders.some((holder) => holder.user === entry.user)) byNode.set(id, [...holders, entry]);
    }
  }
  return byNode;
}

/** How many colours presence.css defines (`presence-colour-0` ...). */
const COLOURS = 8;

/** A person's colour class: the same for them on every page and in every browser. */
export function colourClass(user: number): string {
  return `presence-colour-${((user % COLOURS) + COLOURS) % COLOURS}`;
}

/** Up to two letters for an avatar: "ada lovelace" → "AL", "ada.l" → "AL", "ada" → "AD". */
export function initials(username: string): string {
  const parts = username.split(/[\s._@-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

/** An avatar's tooltip: who, their status, what they are doing. */
export function describe(entry: PresenceEntry, me?: string): string {
  const who = entry.username === me ? `${entry.username} (you, in another tab)` : entry.username;
  const via = entry.via === "api" ? " (through the API)" : "";
  return `${who}${via}: ${entry.status}${entry.activity ? `, ${entry.activity}` : ""}`;
}
