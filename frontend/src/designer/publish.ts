// Publishing a saved workflow's shared draft as its next version, and what the designer says
// of it and of the versions others make.
import type { CollaborationEvent } from "../collaboration/people";
import { ApiError, api } from "../lib/api";
import type { Definition, ValidationReport } from "../lib/types";

export interface Published {
  /** The new version's number; null when the draft held what the current version holds. */
  version: number | null;
  author: string | null;
  co_authors: string[];
  change_note: string;
}

/** The draft as the server holds it (`GET .../draft`). */
export interface DraftState {
  base_version: number | null;
  seq: number;
  authors: string[];
  definition: Definition;
  report: ValidationReport;
  updated_at: string;
}

export const draftPath = (workflowId: string) => `collaboration/workflows/${workflowId}/draft`;

/** Publish the draft. A version saved elsewhere between the draft's last merge and this
 * publish is refused (409): the server merges it into the draft, and this tries once more. */
export async function draftPublish(workflowId: string, changeNote: string): Promise<Published> {
  const request = () => api<Published>(`${draftPath(workflowId)}/publish`, { body: { change_note: changeNote } });
  try {
    return await request();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) return request();
    throw failure;
  }
}

/** The draft's problems from a refused publish (400 `draft_invalid`), else null. */
export function refusedReport(failure: unknown): ValidationReport | null {
  if (!(failure instanceof ApiError) || failure.code !== "draft_invalid") return null;
  const details = failure.details as Partial<ValidationReport>;
  return { valid: false, errors: details.errors ?? [], warnings: details.warnings ?? [] };
}

function names(people: string[]): string {
  return people.length > 1 ? `${people.slice(0, -1).join(", ")} and ${people.at(-1)}` : people[0] ?? "";
}

export function publishedText(published: Published): string {
  const coAuthors = published.co_authors.length ? ` Co-authors: ${names(published.co_authors)}.` : "";
  return `Version ${published.version} published.${coAuthors}`;
}

/** What the designer says of an event of the workflow, or null: a version someone else
 * published, a version saved outside the designer merged into the draft. */
export function eventText(event: CollaborationEvent, me: string): string | null {
  const who = event.user ?? "someone";
  if (event.kind === "published" && event.user !== me) {
    const coAuthors = Array.isArray(event.data.co_authors) ? (event.data.co_authors as string[]) : [];
    return `${who} published the draft as version ${String(event.data.version)}${coAuthors.length ? ` (co-authors: ${names(coAuthors)})` : ""}.`;
  }
  if (event.kind === "edited" && typeof event.data.merged_version === "number") {
    return `Version ${event.data.merged_version}, saved by ${who} outside the designer, was merged into the draft.`;
  }
  return null;
}
