// The run's title and facts: workflow, version, status, trigger, who, when, how long; and,
// for someone who may execute, the controls and "Run again".
import { useState } from "react";
import { StatusBadge } from "../components/StatusBadge";
import { Notice, errorText } from "../components/Notice";
import { api } from "../lib/api";
import { duration, when } from "../lib/format";
import { may } from "../lib/props";
import type { ExecutionDetail } from "../lib/types";
import { RunDialog } from "../runs/RunDialog";
import { allowed, type Control } from "./controls";
import type { Connection } from "./useRun";

const CONNECTION: Record<Connection, string> = {
  connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
};

const CONTROLS: { control: Control; label: string; className?: string }[] = [
  { control: "pause", label: "Pause" },
  { control: "resume", label: "Resume" },
  { control: "cancel", label: "Cancel", className: "danger" },
  { control: "retry", label: "Retry" },
];

interface RunHeaderProps {
  detail: ExecutionDetail;
  status: string;
  connection: Connection;
  onChanged: (detail: ExecutionDetail) => void;
}

export function RunHeader({ detail, status, connection, onChanged }: RunHeaderProps) {
  return (
    <>
      <div className="page-head">
        <h1>
          Run of <a href={`/workflows/${detail.workflow}/`}>{detail.workflow_name}</a>
          <span className="muted"> v{detail.version}</span>
        </h1>
        <span className="run-status"><StatusBadge status={status} /></span>
        <span className={`live ${connection}`} role="status">{CONNECTION[connection]}</span>
        {may("execute") && <RunControls detail={detail} status={status} onChanged={onChanged} />}
      </div>
      <dl className="run-facts">
        <div><dt>Run</dt><dd><code>{detail.id}</code></dd></div>
        <div><dt>Trigger</dt><dd>{detail.trigger}</dd></div>
        <div><dt>Started by</dt><dd>{detail.started_by ?? "—"}</dd></div>
        <div><dt>Started</dt><dd>{when(detail.started_at ?? detail.created_at)}</dd></div>
        <div><dt>Finished</dt><dd>{when(detail.finished_at)}</dd></div>
        <div><dt>Duration</dt><dd>{duration(detail.started_at, detail.finished_at)}</dd></div>
        {detail.parent && (
          <div><dt>Parent run</dt><dd><a href={`/runs/${detail.parent}/`}>{detail.parent_node ?? detail.parent}</a></dd></div>
        )}
      </dl>
    </>
  );
}

/** Pause, resume, cancel, retry (each enabled where the status allows it), run again. */
function RunControls({ detail, status, onChanged }: Omit<RunHeaderProps, "connection">) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [again, setAgain] = useState(false);

  async function act(control: Control) {
    setBusy(true);
    try {
      onChanged(await api<ExecutionDetail>(`executions/${detail.id}/${control}`, { method: "POST" }));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="actions">
      {CONTROLS.map(({ control, label, className }) => (
        <button key={control} type="button" className={className} disabled={busy || !allowed(control, status)}
          onClick={() => void act(control)}>{label}</button>
      ))}
      {detail.trigger !== "loop" && (
        // a loop iteration is no run of its own workflow to start again
        <button type="button" className="primary" onClick={() => setAgain(true)}>Run again</button>
      )}
      {error && <div className="control-error"><Notice kind="error">{error}</Notice></div>}
      {again && (
        <RunDialog workflowId={detail.workflow} initial={asObject(detail.input)} onClose={() => setAgain(false)} />
      )}
    </div>
  );
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, unknown> : {};
}
