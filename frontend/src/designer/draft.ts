// A new workflow's unsaved state, kept in the browser's storage so a reload keeps it. A saved
// workflow has a shared draft on the server instead (useSharedDraft.ts).
import type { Definition } from "../lib/types";

export interface Draft {
  definition: Definition;
  savedAt: number;
}

const KEY = "weft:draft:new";

export function draftLoad(): Draft | null {
  try {
    const text = window.localStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Draft) : null;
  } catch {
    return null;
  }
}

export function draftStore(draft: Draft): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify(draft));
  } catch {
    // Storage full or refused: the draft lives on in the page until it is saved.
  }
}

export function draftDrop(): void {
  window.localStorage.removeItem(KEY);
}
