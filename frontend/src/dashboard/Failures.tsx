// The workflows and the nodes that failed most in the range, each linking to its failed
// runs on the runs page (its `workflow` and `status` filters) and to its newest failure.
import type { ReactNode } from "react";
import { count, when } from "../lib/format";
import type { FailingNode, FailingWorkflow, Failures as FailuresFigures } from "./types";

function failedRuns(workflow: string): string {
  return `/runs/?${new URLSearchParams({ workflow, status: "failed" }).toString()}`;
}

interface Column<T> {
  title: string;
  cell: (row: T) => ReactNode;
}

/** One table of failing things: the columns that name the row, then how many runs failed
 * and a link to the newest failure. */
function FailingTable<T extends FailingWorkflow>({ title, rows, none, className, columns, rowKey, rowData }: {
  title: string;
  rows: T[];
  none: string;
  className: string;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  rowData: (row: T) => Record<string, string>;
}) {
  return (
    <div>
      <h3>{title}</h3>
      {rows.length === 0 ? <p className="muted">{none}</p> : (
        <table className={`list compact ${className}`}>
          <thead>
            <tr>
              {columns.map((column) => <th key={column.title} scope="col">{column.title}</th>)}
              <th scope="col">Failed runs</th><th scope="col">Newest failure</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={rowKey(row)} {...rowData(row)}>
                {columns.map((column) => <td key={column.title}>{column.cell(row)}</td>)}
                <td className="number">{count(row.failures)}</td>
                <td><a href={`/runs/${row.last_execution}/`}>{when(row.last_failed_at)}</a></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const workflowColumns: Column<FailingWorkflow>[] = [
  {
    title: "Workflow",
    cell: (row) => <a href={failedRuns(row.workflow)} aria-label={`Failed runs of ${row.workflow}`}>{row.workflow}</a>,
  },
];

const nodeColumns: Column<FailingNode>[] = [
  { title: "Node", cell: (row) => <><code>{row.node_id}</code> <span className="muted">{row.node_type}</span></> },
  { title: "Workflow", cell: (row) => <a href={failedRuns(row.workflow)}>{row.workflow}</a> },
];

export function Failures({ failures }: { failures: FailuresFigures }) {
  return (
    <div className="failures">
      <FailingTable title="Workflows" rows={failures.workflows} none="No workflow failed in this range."
        className="failing-workflows" columns={workflowColumns} rowKey={(row) => row.workflow_id}
        rowData={(row) => ({ "data-workflow": row.workflow })} />
      <FailingTable title="Nodes" rows={failures.nodes} none="No node failed in this range."
        className="failing-nodes" columns={nodeColumns} rowKey={(row) => `${row.workflow_id}:${row.node_id}`}
        rowData={(row) => ({ "data-node": row.node_id })} />
    </div>
  );
}
