import { useMemo, useState } from "react";
import { Notice } from "../components/Notice";
import { mount } from "../lib/mount";
import type { PageProps } from "../lib/props";
import type { ExecutionDetail } from "../lib/types";
import { graphOf } from "../monitor/graphOf";
import { Collapsible } from "../monitor/JsonBlock";
import { NodePanel } from "../monitor/NodePanel";
import { RunGraph, type NodeState } from "../monitor/RunGraph";
import { RunHeader } from "../monitor/RunHeader";
import { Timeline } from "../monitor/Timeline";
import { useRun } from "../monitor/useRun";
import "../monitor/monitor.css";

/** Each node's latest status (live when the socket told it) and the branch it took. */
function nodeStates(detail: ExecutionDetail, live: Record<string, string>): Record<string, NodeState> {
  const states: Record<string, NodeState> = {};
  for (const run of detail.nodes) states[run.node_id] = { status: run.status, branch: run.branch };
  for (const [node, status] of Object.entries(live)) {
    states[node] = { status, branch: states[node]?.branch ?? null };
  }
  return states;
}

function MonitorPage({ props }: { props: PageProps }) {
  const run = useRun(props.executionId as string);
  const [selected, setSelected] = useState<string | null>(null);
  const { detail } = run;
  const definition = useMemo(
    () => (run.definition && detail ? graphOf(run.definition, detail) : null),
    // which graph depends on which run this is, not on its node runs as they change
    [run.definition, detail?.id, detail?.trigger, detail?.parent_node]);

  if (!detail) {
    return (
      <div className="page">
        <h1>Run</h1>
        {run.error ? <Notice kind="error">{run.error}</Notice> : <p className="muted">Loading the run…</p>}
      </div>
    );
  }
  const status = run.live.status ?? detail.status;
  const states = nodeStates(detail, run.live.nodes);
  const node = definition?.nodes.find((candidate) => candidate.id === selected) ?? null;
  return (
    <div className="page monitor">
      <RunHeader detail={detail} status={status} connection={run.connection} onChanged={run.replace} />
      {run.error && <Notice kind="error">{run.error}</Notice>}
      <div className="monitor-body">
        {definition
          ? <RunGraph definition={definition} states={states} selected={selected} onSelect={setSelected} />
          : <p className="muted">Loading the graph…</p>}
        {node ? (
          <NodePanel detail={detail} node={node} status={status} revision={run.revision}
            onChanged={run.replace} onClose={() => setSelected(null)} />
        ) : (
          <aside className="node-panel panel" aria-label="Node details">
            <p className="muted">Choose a node on the graph to see its runs, output, errors and log.</p>
          </aside>
        )}
      </div>
      <h2>Timeline</h2>
      <Timeline detail={detail} />
      <h2>Data</h2>
      <Collapsible title="Input" value={detail.input} />
      <Collapsible title="Output" value={detail.output} open={detail.status === "completed"} />
      {detail.error !== null && detail.error !== undefined && (
        <Collapsible title="Error" value={detail.error} open />
      )}
    </div>
  );
}

mount(MonitorPage);
