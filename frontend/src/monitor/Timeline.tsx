// The node runs on a time axis from the execution's start: one bar per run, placed by its
// start and finish, coloured by status, each bar labelled for screen readers too.
import { duration } from "../lib/format";
import type { ExecutionDetail, NodeRun } from "../lib/types";
import { iterationOf } from "./live";
import { statusText } from "./RunGraph";

interface Bar {
  run: NodeRun;
  left: number;
  width: number;
}

function bars(detail: ExecutionDetail, now: number): { bars: Bar[]; span: number } {
  const started = detail.nodes.filter((run) => run.started_at);
  const origin = new Date(detail.started_at ?? detail.created_at).getTime();
  const ends = started.map((run) => (run.finished_at ? new Date(run.finished_at).getTime() : now));
  const end = Math.max(detail.finished_at ? new Date(detail.finished_at).getTime() : now, ...ends, origin + 1);
  const span = end - origin;
  return {
    span,
    bars: started.map((run, index) => {
      const from = Math.max(0, new Date(run.started_at as string).getTime() - origin);
      const to = Math.max(from, ends[index] - origin);
      return { run, left: (from / span) * 100, width: Math.max(0.5, ((to - from) / span) * 100) };
    }),
  };
}

export function Timeline({ detail }: { detail: ExecutionDetail }) {
  const { bars: shown, span } = bars(detail, Date.now());
  if (shown.length === 0) return <p className="muted">No node has started yet.</p>;
  return (
    <div className="timeline">
      <div className="timeline-scale muted" aria-hidden="true"><span>0 s</span><span>{(span / 1000).toFixed(1)} s</span></div>
      <ol>
        {shown.map(({ run, left, width }, index) => {
          const iteration = iterationOf(run);
          const label = `${run.node_id}${iteration !== null ? ` [${iteration}]` : ""}`;
          const text = `${label}, attempt ${run.attempt}: ${statusText(run.status)}, ${duration(run.started_at, run.finished_at)}`;
          return (
            <li key={`${run.node_id}-${iteration ?? ""}-${index}`} className="timeline-row">
              <span className="timeline-label">{label}</span>
              <span className="timeline-track">
                <span className={`timeline-bar status-${run.status}`} role="img" aria-label={text} title={text}
                  style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
