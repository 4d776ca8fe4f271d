// The workflows and the nodes that failed most in the range, each linking to its failed
// runs on the runs page (its `workflow` and `status` filters) and to its newest failure.
import { count, when } from "../lib/format";
import type { Failures as FailuresFigures } from "./types";

function failedRuns(workflow: string): string {
  return `/runs/?${new URLSearchParams({ workflow, status: "failed" }).toString()}`;
}

export function Failures({ failures }: { failures: FailuresFigures }) {
  return (
    <div className="failures">
      <div>
        <h3>Workflows</h3>
        {failures.workflows.length === 0 ? <p className="muted">No workflow failed in this range.</p> : (
          <table className="list compact failing-workflows">
            <thead><tr><th scope="col">Workflow</th><th scope="col">Failed runs</th><th scope="col">Newest failure</th></tr></thead>
            <tbody>
              {failures.workflows.map((row) => (
                <tr key={row.workflow_id} data-workflow={row.workflow}>
                  <td><a href={failedRuns(row.workflow)} aria-label={`Failed runs of ${row.workflow}`}>{row.workflow}</a></td>
                  <td className="number">{count(row.failures)}</td>
                  <td><a href={`/runs/${row.last_execution}/`}>{when(row.last_failed_at)}</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div>
        <h3>Nodes</h3>
        {failures.nodes.length === 0 ? <p className="muted">No node failed in this range.</p> : (
          <table className="list compact failing-nodes">
            <thead><tr><th scope="col">Node</th><th scope="col">Workflow</th><th scope="col">Failed runs</th><th scope="col">Newest failure</th></tr></thead>
            <tbody>
              {failures.nodes.map((row) => (
                <tr key={`${row.workflow_id}:${row.node_id}`} data-node={row.node_id}>
                  <td><code>{row.node_id}</code> <span className="muted">{row.node_type}</span></td>
                  <td><a href={failedRuns(row.workflow)}>{row.workflow}</a></td>
                  <td className="number">{count(row.failures)}</td>
                  <td><a href={`/runs/${row.last_execution}/`}>{when(row.last_failed_at)}</a></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
