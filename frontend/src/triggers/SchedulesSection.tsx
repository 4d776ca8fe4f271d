import { Fragment, useCallback, useEffect, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { api, query, type Page } from "../lib/api";
import { when } from "../lib/format";
import { may } from "../lib/props";
import { ConfirmDialog } from "./ConfirmDialog";
import { ScheduleDetails } from "./ScheduleDetails";
import { ScheduleForm } from "./ScheduleForm";
import type { Schedule, WorkflowChoice } from "./types";

function label(schedule: Schedule): string {
  return `${schedule.workflow_name} ${schedule.name}`;
}

interface RowProps {
  schedule: Schedule;
  open: boolean;
  onToggle: () => void;
  onChanged: (schedule: Schedule) => void;
  onDelete: () => void;
  onError: (message: string) => void;
}

function ScheduleRow({ schedule, open, onToggle, onChanged, onDelete, onError }: RowProps) {
  const [busy, setBusy] = useState(false);
  const canResume = may("write") && may("execute");

  async function flip(action: "pause" | "resume") {
    setBusy(true);
    try {
      onChanged(await api<Schedule>(`schedules/${schedule.id}/${action}`, { method: "POST" }));
    } catch (failure) {
      onError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Fragment>
      <tr data-schedule={schedule.id}>
        <td><a href={`/workflows/${schedule.workflow}/`}>{schedule.workflow_name}</a></td>
        <td>{schedule.name}</td>
        <td><code>{schedule.cron}</code></td>
        <td>{schedule.timezone}</td>
        <td>
          <span className={`badge ${schedule.enabled ? "running" : "paused"}`}>{schedule.enabled ? "active" : "paused"}</span>
        </td>
        <td>{schedule.enabled ? <time dateTime={schedule.next_fire_at ?? undefined}>{when(schedule.next_fire_at)}</time> : <span className="muted">paused</span>}</td>
        <td>{when(schedule.last_fire_at)}</td>
        <td className="row-actions">
          <button type="button" aria-expanded={open} aria-label={`${open ? "Hide" : "Show"} details of ${label(schedule)}`} onClick={onToggle}>
            {open ? "Hide" : "Details"}
          </button>
          {may("write") && schedule.enabled && (
            <button type="button" disabled={busy} aria-label={`Pause ${label(schedule)}`} onClick={() => void flip("pause")}>Pause</button>
          )}
          {canResume && !schedule.enabled && (
            <button type="button" disabled={busy} aria-label={`Resume ${label(schedule)}`} onClick={() => void flip("resume")}>Resume</button>
          )}
          {may("write") && (
            <button type="button" className="danger" aria-label={`Delete ${label(schedule)}`} onClick={onDelete}>Delete</button>
          )}
        </td>
      </tr>
      {open && (
        <tr className="details-row">
          <td colSpan={8}><ScheduleDetails schedule={schedule} /></td>
        </tr>
      )}
    </Fragment>
  );
}

/** The cron schedules: what they start and when, with pause, resume, create and delete. */
export function SchedulesSection({ workflows }: { workflows: WorkflowChoice[] }) {
  const [page, setPage] = useState<Page<Schedule> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [deleting, setDeleting] = useState<Schedule | null>(null);

  const load = useCallback(async () => {
    try {
      setPage(await api<Page<Schedule>>(`schedules${query({ page_size: 200 })}`));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const replace = (schedule: Schedule) => setPage((current) => current && {
    ...current, results: current.results.map((other) => (other.id === schedule.id ? schedule : other)),
  });
  const toggle = (id: number) => setOpen((current) => {
    const next = new Set(current);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });

  return (
    <section className="trigger-section" aria-labelledby="schedules-title">
      <div className="section-head">
        <h2 id="schedules-title">Schedules</h2>
        {may("write") && !creating && (
          <button type="button" className="primary" onClick={() => { setCreating(true); setDone(null); }}>New schedule</button>
        )}
      </div>
      {creating && (
        <ScheduleForm workflows={workflows} onCancel={() => setCreating(false)} onCreated={(schedule) => {
          setCreating(false);
          setDone(`Schedule ${label(schedule)} created${schedule.enabled ? "" : " (paused)"}.`);
          setOpen((current) => new Set(current).add(schedule.id));
          void load();
        }} />
      )}
      {done && <Notice kind="ok">{done}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {page && page.results.length === 0 && <p className="empty">No schedule starts a workflow yet.</p>}
      {page && page.results.length > 0 && (
        <table className="list schedules">
          <thead>
            <tr>
              <th>Workflow</th><th>Name</th><th>Cron</th><th>Time zone</th><th>State</th><th>Next fire (your time)</th><th>Last fired</th>
              <th><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {page.results.map((schedule) => (
              <ScheduleRow key={schedule.id} schedule={schedule} open={open.has(schedule.id)}
                onToggle={() => toggle(schedule.id)} onChanged={(changed) => { setError(null); replace(changed); }}
                onDelete={() => setDeleting(schedule)} onError={setError} />
            ))}
          </tbody>
        </table>
      )}
      {page && page.count > page.results.length && <p className="muted">Showing {page.results.length} of {page.count}.</p>}
      {deleting && (
        <ConfirmDialog title="Delete the schedule?" confirm="Delete schedule"
          message={`${label(deleting)} (${deleting.cron}, ${deleting.timezone}) stops for good and its record of runs goes with it; the runs it started stay.`}
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api(`schedules/${deleting.id}`, { method: "DELETE" });
            setDone(`Schedule ${label(deleting)} deleted.`);
            await load();
          }} />
      )}
    </section>
  );
}
