import { useMemo, useState, type FormEvent } from "react";
import { Notice, errorText } from "../components/Notice";
import { JsonField } from "../components/SchemaForm";
import { ApiError, api } from "../lib/api";
import { may } from "../lib/props";
import { CronPreview } from "./CronPreview";
import { Field, WorkflowPicker, described, useFieldErrors } from "./fields";
import type { Schedule, WorkflowChoice } from "./types";

const OVERLAP = [
  ["skip", "Skip while the previous run is active"],
  ["queue", "Start after the previous run finishes"],
  ["allow", "Start regardless"],
];
const CATCH_UP = [
  ["latest", "Run the latest missed time once"],
  ["none", "Skip runs missed while beat was down"],
  ["all", "Run every missed time, up to the limit"],
];

function zones(): string[] {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

interface Props {
  workflows: WorkflowChoice[];
  onCreated: (schedule: Schedule) => void;
  onCancel: () => void;
}

/** A new schedule: what the create API takes, the usual fields first. */
export function ScheduleForm({ workflows, onCreated, onCancel }: Props) {
  const armed = may("execute");
  const { fields, setFields, edited } = useFieldErrors();
  const [workflow, setWorkflowNow] = useState("");
  const setWorkflow = edited("workflow", setWorkflowNow);
  const [name, setNameNow] = useState("default");
  const setName = edited("name", setNameNow);
  const [cron, setCronNow] = useState("");
  const setCron = edited("cron", setCronNow);
  const [timezone, setTimezoneNow] = useState("UTC");
  const setTimezone = edited("timezone", setTimezoneNow);
  const [input, setInputNow] = useState<unknown>({});
  const setInput = edited("input", setInputNow);
  const [overlap, setOverlapNow] = useState("skip");
  const setOverlap = edited("overlap", setOverlapNow);
  const [enabled, setEnabled] = useState(armed);
  const [catchUp, setCatchUpNow] = useState("latest");
  const setCatchUp = edited("catch_up", setCatchUpNow);
  const [catchUpLimit, setCatchUpLimitNow] = useState("10");
  const setCatchUpLimit = edited("catch_up_limit", setCatchUpLimitNow);
  const [retryAttempts, setRetryAttemptsNow] = useState("0");
  const setRetryAttempts = edited("retry_attempts", setRetryAttemptsNow);
  const [retryDelay, setRetryDelayNow] = useState("60");
  const setRetryDelay = edited("retry_delay", setRetryDelayNow);
  const [timeout, setTimeoutValueNow] = useState("");
  const setTimeoutValue = edited("timeout", setTimeoutValueNow);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const zoneList = useMemo(zones, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const created = await api<Schedule>("schedules", {
        body: {
          workflow, name, cron, timezone, input: input ?? {}, overlap, enabled, catch_up: catchUp,
          catch_up_limit: Number(catchUpLimit), retry_attempts: Number(retryAttempts),
          retry_delay: Number(retryDelay), timeout: timeout === "" ? null : Number(timeout),
        },
      });
      onCreated(created);
    } catch (failure) {
      setError(errorText(failure));
      setFields(failure instanceof ApiError ? failure.fieldErrors() : {});
      setBusy(false);
    }
  }

  const number = (id: string, label: string, value: string, set: (value: string) => void, field: string, help?: string) => (
    <Field id={id} label={label} error={fields[field]} help={help}>
      <input id={id} type="number" min={0} value={value} onChange={(event) => set(event.target.value)}
        {...described(id, fields[field], Boolean(help))} />
    </Field>
  );

  return (
    <form className="trigger-form panel" onSubmit={(event) => void submit(event)} aria-labelledby="schedule-form-title">
      <h3 id="schedule-form-title">New schedule</h3>
      {error && <Notice kind="error">{error}</Notice>}
      <div className="trigger-grid">
        <WorkflowPicker id="schedule-workflow" workflows={workflows} value={workflow} onChange={setWorkflow} error={fields.workflow} />
        <Field id="schedule-name" label="Name" error={fields.name}>
          <input id="schedule-name" type="text" value={name} onChange={(event) => setName(event.target.value)} {...described("schedule-name", fields.name)} />
        </Field>
        <Field id="schedule-cron" label="Cron" error={fields.cron}
          help="Five fields (minute hour day-of-month month weekday), e.g. 30 2 * * 1-5, or a macro such as @daily.">
          <input id="schedule-cron" type="text" className="code" value={cron} required placeholder="30 2 * * *"
            onChange={(event) => setCron(event.target.value)} {...described("schedule-cron", fields.cron, true)} />
        </Field>
        <Field id="schedule-timezone" label="Time zone" error={fields.timezone} help="The zone the cron is read in (IANA name).">
          <input id="schedule-timezone" type="text" list="schedule-zones" value={timezone}
            onChange={(event) => setTimezone(event.target.value)} {...described("schedule-timezone", fields.timezone, true)} />
          <datalist id="schedule-zones">
            {zoneList.map((zone) => <option key={zone} value={zone} />)}
          </datalist>
        </Field>
        <CronPreview cron={cron} timezone={timezone} />
        <Field id="schedule-overlap" label="When the previous run is still going" error={fields.overlap}>
          <select id="schedule-overlap" value={overlap} onChange={(event) => setOverlap(event.target.value)} {...described("schedule-overlap", fields.overlap)}>
            {OVERLAP.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </Field>
        <div className="trigger-field checkbox">
          <input id="schedule-enabled" type="checkbox" checked={enabled} disabled={!armed}
            onChange={(event) => setEnabled(event.target.checked)} aria-describedby={armed ? undefined : "schedule-enabled-help"} />
          <label htmlFor="schedule-enabled">Enabled</label>
          {!armed && <p className="field-help" id="schedule-enabled-help">Enabling a schedule needs workflow.execute: it is created paused.</p>}
        </div>
      </div>
      <div className="trigger-field">
        <JsonField id="schedule-input" label="Input of each run" value={input} onChange={setInput} error={fields.input} />
      </div>
      <details className="trigger-advanced">
        <summary>Catch-up, retries and timeout</summary>
        <div className="trigger-grid">
          <Field id="schedule-catch-up" label="Missed times" error={fields.catch_up}>
            <select id="schedule-catch-up" value={catchUp} onChange={(event) => setCatchUp(event.target.value)} {...described("schedule-catch-up", fields.catch_up)}>
              {CATCH_UP.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
            </select>
          </Field>
          {number("schedule-catch-up-limit", "Catch-up limit", catchUpLimit, setCatchUpLimit, "catch_up_limit")}
          {number("schedule-retry-attempts", "Retries of a failed run", retryAttempts, setRetryAttempts, "retry_attempts")}
          {number("schedule-retry-delay", "Seconds before a retry", retryDelay, setRetryDelay, "retry_delay")}
          {number("schedule-timeout", "Timeout of a run (seconds)", timeout, setTimeoutValue, "timeout", "Empty: the workflow's own timeout.")}
        </div>
      </details>
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={busy}>Create schedule</button>
      </div>
    </form>
  );
}
