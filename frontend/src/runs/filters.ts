// The runs list's filters, as the page's address keeps them (so a filtered list can be
// linked to) and as the API reads them.
export const STATUSES = ["pending", "running", "waiting", "paused", "suspended", "completed", "failed", "cancelled"];
export const TRIGGERS = ["api", "schedule", "webhook", "event", "dependency", "subworkflow", "loop"];

export interface RunFilters {
  workflow: string;
  statuses: string[];
  trigger: string;
  /** datetime-local values, in the browser's zone */
  createdAfter: string;
  createdBefore: string;
}

export function filtersFromAddress(search: string): RunFilters {
  const params = new URLSearchParams(search);
  return {
    workflow: params.get("workflow") ?? "",
    statuses: params.getAll("status").filter((status) => STATUSES.includes(status)),
    trigger: params.get("trigger") ?? "",
    createdAfter: params.get("created_after") ?? "",
    createdBefore: params.get("created_before") ?? "",
  };
}

function utc(local: string): string | null {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The query string: `address` keeps the local times as typed, the API gets UTC. */
export function filterQuery(filters: RunFilters, { address = false, page = 1 } = {}): string {
  const params = new URLSearchParams();
  if (filters.workflow.trim()) params.set("workflow", filters.workflow.trim());
  for (const status of filters.statuses) params.append("status", status);
  if (filters.trigger) params.set("trigger", filters.trigger);
  const after = address ? filters.createdAfter : utc(filters.createdAfter);
  const before = address ? filters.createdBefore : utc(filters.createdBefore);
  if (after) params.set("created_after", after);
  if (before) params.set("created_before", before);
  if (page > 1) params.set("page", String(page));
  const text = params.toString();
  return text ? `?${text}` : "";
}
