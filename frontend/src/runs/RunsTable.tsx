// One row per run: which workflow, its status, how it started, by whom, when, how long.
import { StatusBadge } from "../components/StatusBadge";
import { duration, when } from "../lib/format";
import type { Execution } from "../lib/types";

export function RunsTable({ runs }: { runs: Execution[] }) {
  return (
    <table className="list runs">
      <thead>
        <tr>
          <th scope="col">Run</th><th scope="col">Workflow</th><th scope="col">Version</th><th scope="col">Status</th>
          <th scope="col">Trigger</th><th scope="col">Started by</th><th scope="col">Created</th><th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run={run.id} data-status={run.status}>
            <td><a href={`/runs/${run.id}/`} aria-label={`Run ${run.id}`}><code>{run.id.slice(0, 8)}</code></a></td>
            <td><a href={`/workflows/${run.workflow}/`}>{run.workflow_name}</a></td>
            <td>v{run.version}</td>
            <td><StatusBadge status={run.status} /></td>
            <td>{run.trigger}</td>
            <td>{run.started_by ?? "—"}</td>
            <td>{when(run.created_at)}</td>
            <td>{run.started_at ? duration(run.started_at, run.finished_at) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
