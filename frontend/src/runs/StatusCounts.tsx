// How many runs each status holds under the other filters; each is also the switch that
// adds the status to the filter or takes it out.
import { STATUSES } from "./filters";

interface StatusCountsProps {
  counts: Record<string, number> | null;
  chosen: string[];
  onToggle: (status: string) => void;
}

export function StatusCounts({ counts, chosen, onToggle }: StatusCountsProps) {
  return (
    <fieldset className="status-counts">
      <legend>Status</legend>
      {STATUSES.map((status) => (
        <button key={status} type="button" className={`status-count ${status}`} aria-pressed={chosen.includes(status)}
          data-status={status} onClick={() => onToggle(status)}>
          <span className="status-name">{status}</span>
          <span className="count">{counts ? counts[status] ?? 0 : "…"}</span>
        </button>
      ))}
    </fieldset>
  );
}
