// The newest runs, whatever the range, each linking to its monitor.
import { StatusBadge } from "../components/StatusBadge";
import { milliseconds, when } from "../lib/format";
import type { RecentExecution } from "./types";

export function RecentRuns({ runs }: { runs: RecentExecution[] }) {
  if (runs.length === 0) return <p className="muted">No run yet.</p>;
  return (
    <table className="list compact recent-runs">
      <thead><tr><th scope="col">Run</th><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Run time</th></tr></thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run={run.id}>
            <td><a href={`/runs/${run.id}/`} aria-label={`Run ${run.id}`}><code>{run.id.slice(0, 8)}</code></a></td>
            <td>{run.workflow}</td>
            <td><StatusBadge status={run.status} /></td>
            <td>{when(run.created_at)}</td>
            <td className="number">{milliseconds(run.duration_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
