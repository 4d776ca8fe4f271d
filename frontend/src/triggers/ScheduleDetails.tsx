import { useEffect, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { StatusBadge } from "../components/StatusBadge";
import { api, query, type Page } from "../lib/api";
import { when } from "../lib/format";
import type { FireTime, Preview, Schedule, ScheduleRun } from "./types";

const SHOWN = 5;

/** "2026-12-05T02:30:00+01:00" as "2026-12-05 02:30" (the wall clock of the zone). */
function wallClock(local: string): string {
  return local.slice(0, 16).replace("T", " ");
}

function FireTimes({ schedule, times }: { schedule: Schedule; times: FireTime[] }) {
  return (
    <ol className="fire-times">
      {times.map((time) => (
        <li key={time.utc}>
          <time dateTime={time.utc}>{wallClock(time.local)}</time> <span className="muted">{schedule.timezone}</span>
          <span className="muted"> · {when(time.utc)} your time</span>
        </li>
      ))}
    </ol>
  );
}

function Runs({ runs }: { runs: ScheduleRun[] }) {
  if (runs.length === 0) return <p className="muted">It has started no run yet.</p>;
  return (
    <ul className="schedule-runs">
      {runs.map((run) => (
        <li key={run.id}>
          <time dateTime={run.fire_at}>{when(run.fire_at)}</time>{" "}
          {run.execution
            ? <a href={`/runs/${run.execution}/`}><StatusBadge status={run.execution_status} /> run {run.execution.slice(0, 8)}</a>
            : <span className="muted">{run.outcome}{run.reason ? `: ${run.reason}` : ""}</span>}
          {run.attempt > 1 && <span className="muted"> (attempt {run.attempt})</span>}
        </li>
      ))}
    </ul>
  );
}

const OVERLAP: Record<string, string> = {
  skip: "skipped while the previous run is active", queue: "started after the previous run finishes",
  allow: "started regardless of the previous run",
};
const CATCH_UP: Record<string, string> = {
  none: "skipped", latest: "the latest one runs once", all: "each runs, up to the limit",
};

function Settings({ schedule }: { schedule: Schedule }) {
  return (
    <dl className="schedule-settings">
      <dt>A fire time while a run is active</dt><dd>is {OVERLAP[schedule.overlap] ?? schedule.overlap}</dd>
      <dt>Times missed while beat was down</dt>
      <dd>{CATCH_UP[schedule.catch_up] ?? schedule.catch_up}{schedule.catch_up === "all" ? ` (${schedule.catch_up_limit})` : ""}</dd>
      <dt>A failed run</dt>
      <dd>{schedule.retry_attempts ? `is retried up to ${schedule.retry_attempts} times, ${schedule.retry_delay} s apart` : "is not retried"}</dd>
      <dt>Timeout of a run</dt><dd>{schedule.timeout ? `${schedule.timeout} s` : "the workflow's own"}</dd>
      <dt>Input</dt><dd><code>{JSON.stringify(schedule.input)}</code></dd>
      {schedule.source && <><dt>Defined in</dt><dd><code>{schedule.source}</code> (a sync of that file sets its fields back to the file's values)</dd></>}
    </dl>
  );
}

/** A schedule's coming fire times and the runs it started, loaded when opened. */
export function ScheduleDetails({ schedule }: { schedule: Schedule }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [runs, setRuns] = useState<Page<ScheduleRun> | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    Promise.all([
      api<Preview>(`schedules/${schedule.id}/preview${query({ count: SHOWN })}`, { signal }),
      api<Page<ScheduleRun>>(`schedules/${schedule.id}/runs${query({ page_size: SHOWN })}`, { signal }),
    ]).then(([times, started]) => {
      setPreview(times);
      setRuns(started);
      setError(null);
    }, (failure) => { if (!signal.aborted) setError(errorText(failure)); });
    return () => controller.abort();
  }, [schedule.id, schedule.cron, schedule.timezone, schedule.enabled, schedule.last_fire_at]);

  return (
    <div className="schedule-details">
      {error && <Notice kind="error">{error}</Notice>}
      <section aria-label={`Next fire times of ${schedule.workflow_name} ${schedule.name}`}>
        <h3>{schedule.enabled ? "Next fire times" : "Fire times once resumed"}</h3>
        {preview ? <FireTimes schedule={schedule} times={preview.fire_times} /> : <p className="muted">Loading…</p>}
      </section>
      <section aria-label={`Settings of ${schedule.workflow_name} ${schedule.name}`}>
        <h3>Settings</h3>
        <Settings schedule={schedule} />
      </section>
      <section aria-label={`Runs started by ${schedule.workflow_name} ${schedule.name}`}>
        <h3>Runs it started</h3>
        {runs ? <Runs runs={runs.results} /> : <p className="muted">Loading…</p>}
        <a href={`/runs/${query({ trigger: "schedule", workflow: schedule.workflow })}`}>All scheduled runs of {schedule.workflow_name}</a>
      </section>
    </div>
  );
}
