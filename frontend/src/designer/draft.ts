// The designer's unsaved state, kept in the browser's storage so a reload keeps it.
import type { Definition } from "../lib/types";

export interface Draft {
  definition: Definition;
  baseVersion: number | null;
  savedAt: number;
}

const key = (workflowId: string | null | undefined) => `weft:draft:${workflowId ?? "new"}`;

export function draftLoad(workflowId: string | null | undefined): Draft | null {
  try {
    const text = window.localStorage.getItem(key(workflowId));
    return text ? (JSON.parse(text) as Draft) : null;
  } catch {
    return null;
  }
}

export function draftStore(workflowId: string | null | undefined, draft: Draft): void {
  try {
    window.localStorage.setItem(key(workflowId), JSON.stringify(draft));
  } catch {
    // Storage full or refused: the draft lives on in the page until it is saved.
  }
}

export function draftDrop(workflowId: string | null | undefined): void {
  window.localStorage.removeItem(key(workflowId));
}
