// What happened at one node: each of its runs (attempts, loop iterations) with output and
// error, its log lines, the children it started, and "Retry from this node".
import { useEffect, useState } from "react";
import { StatusBadge } from "../components/StatusBadge";
import { Notice, errorText } from "../components/Notice";
import { api, load, type Page } from "../lib/api";
import { duration, when } from "../lib/format";
import { may } from "../lib/props";
import type { DefinitionNode, ExecutionDetail, NodeRun } from "../lib/types";
import { JsonBlock } from "./JsonBlock";
import { iterationOf } from "./live";

interface LogLine {
  id: number;
  created_at: string;
  event: string;
  node_id: string;
  level: string;
  message: string;
  data: unknown;
  actor: string;
}

interface ChildRun {
  id: string;
  item_index: number | null;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface NodePanelProps {
  detail: ExecutionDetail;
  node: DefinitionNode;
  status: string;
  revision: number;
  onChanged: (detail: ExecutionDetail) => void;
  onClose: () => void;
}

export function NodePanel({ detail, node, status, revision, onChanged, onClose }: NodePanelProps) {
  const runs = detail.nodes.filter((run) => run.node_id === node.id);
  const withChildren = runs.find((run) => run.children);
  return (
    <aside className="node-panel panel" aria-labelledby="node-panel-title">
      <div className="node-panel-head">
        <h2 id="node-panel-title">{typeof node.name === "string" && node.name ? node.name : node.id}</h2>
        <button type="button" onClick={onClose} aria-label="Close the node's details">Close</button>
      </div>
      <p className="muted"><code>{node.id}</code> · {node.type}</p>
      {may("execute") && <RetryFromNode detail={detail} nodeId={node.id} status={status} onChanged={onChanged} />}
      <h3>Runs ({runs.length})</h3>
      {runs.length === 0 && <p className="muted">This node has not run.</p>}
      <ol className="node-runs">
        {runs.map((run, index) => <NodeRunItem key={`${iterationOf(run) ?? "-"}-${index}`} run={run} />)}
      </ol>
      {withChildren?.children && <Children summary={withChildren.children} />}
      <NodeLogs executionId={detail.id} nodeId={node.id} revision={revision} />
    </aside>
  );
}

function NodeRunItem({ run }: { run: NodeRun }) {
  return (
    <li className="node-run" data-attempt={run.attempt}>
      <dl className="run-facts compact">
        <div><dt>Status</dt><dd><StatusBadge status={run.status} /></dd></div>
        <div><dt>Attempt</dt><dd>{run.attempt}</dd></div>
        {iterationOf(run) !== null && <div><dt>Iteration</dt><dd>{iterationOf(run)}</dd></div>}
        <div><dt>Branch</dt><dd>{run.branch || "—"}</dd></div>
        <div><dt>Started</dt><dd>{when(run.started_at)}</dd></div>
        <div><dt>Finished</dt><dd>{when(run.finished_at)}</dd></div>
        <div><dt>Duration</dt><dd>{duration(run.started_at, run.finished_at)}</dd></div>
      </dl>
      {run.output !== null && run.output !== undefined && (
        <><h4>Output</h4><JsonBlock value={run.output} label={`Output of attempt ${run.attempt}`} /></>
      )}
      {run.error !== null && run.error !== undefined && (
        <><h4>Error</h4><JsonBlock value={run.error} label={`Error of attempt ${run.attempt}`} /></>
      )}
    </li>
  );
}

function RetryFromNode({ detail, nodeId, status, onChanged }: {
  detail: ExecutionDetail; nodeId: string; status: string; onChanged: (detail: ExecutionDetail) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function retry() {
    setBusy(true);
    try {
      onChanged(await api<ExecutionDetail>(`executions/${detail.id}/retry`, { body: { from_node: nodeId } }));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button type="button" disabled={busy || status !== "failed"} onClick={() => void retry()}>Retry from this node</button>
      {error && <Notice kind="error">{error}</Notice>}
    </>
  );
}

function Children({ summary }: { summary: NonNullable<NodeRun["children"]> }) {
  const [children, setChildren] = useState<Page<ChildRun> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const statuses = JSON.stringify(summary.statuses);
  useEffect(() => {
    return load<Page<ChildRun>>(summary.url.replace(/^\/api\//, ""), setChildren, (failure) => setError(errorText(failure)));
  }, [summary.url, statuses]);
  return (
    <section aria-labelledby="children-title">
      <h3 id="children-title">Child runs</h3>
      <p>
        {summary.total !== null && <>{summary.total} in all, </>}{summary.started} started
        {Object.entries(summary.statuses).map(([status, count]) => <span key={status}>, {count} {status}</span>)}
      </p>
      {error && <Notice kind="error">{error}</Notice>}
      {children && (
        <ul className="children">
          {children.results.map((child) => (
            <li key={child.id}>
              <a href={`/runs/${child.id}/`}>{child.item_index !== null ? `Item ${child.item_index}` : `Run ${child.id.slice(0, 8)}`}</a>
              {" "}<StatusBadge status={child.status} /> <span className="muted">{duration(child.started_at, child.finished_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {children && children.count > children.results.length && (
        <p className="muted">The first {children.results.length} of {children.count}.</p>
      )}
    </section>
  );
}

function NodeLogs({ executionId, nodeId, revision }: { executionId: string; nodeId: string; revision: number }) {
  const [lines, setLines] = useState<LogLine[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api<LogLine[]>(`executions/${executionId}/logs`, { signal: controller.signal }).then(
      (all) => setLines(all.filter((line) => line.node_id === nodeId)),
      (failure) => { if (!controller.signal.aborted) setError(errorText(failure)); });
    return () => controller.abort();
  }, [executionId, nodeId, revision]);
  return (
    <section aria-labelledby="node-logs-title">
      <h3 id="node-logs-title">Log ({lines?.length ?? "…"})</h3>
      {error && <Notice kind="error">{error}</Notice>}
      {lines && lines.length === 0 && <p className="muted">No log lines.</p>}
      {lines && lines.length > 0 && (
        <ol className="node-logs">
          {lines.map((line) => (
            <li key={line.id} className={`log-${line.level}`} data-event={line.event}>
              <time dateTime={line.created_at}>{when(line.created_at)}</time>{" "}
              <span className="log-level">{line.level}</span>{" "}
              <span className="log-event">{line.event}</span>
              {line.message && <> — <span className="log-message">{line.message}</span></>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
