import { useId, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { SchemaForm } from "../components/SchemaForm";
import { ApiError, api } from "../lib/api";
import { when } from "../lib/format";
import { may } from "../lib/props";
import type { JsonSchema } from "../lib/types";
import { answerErrors, type AnswerErrors } from "./answerErrors";
import type { Wait } from "./types";

const POSITIVE = /^(approve|approved|accept|accepted|yes|ok|done|confirm|confirmed)$/i;
const NEGATIVE = /^(reject|rejected|deny|denied|decline|declined|no|refuse|refused|cancel)$/i;

function outcomeClass(outcome: string): string | undefined {
  if (POSITIVE.test(outcome)) return "primary";
  if (NEGATIVE.test(outcome)) return "danger";
  return undefined;
}

/** Who the wait is for, as the person reading it would say it. */
function assignedTo(assignee: string, username: string): string {
  if (!assignee) return "anyone who may run the workflow";
  if (assignee === username) return "you";
  if (assignee.startsWith("role:")) return `the ${assignee.slice(5)} group`;
  return assignee;
}

/** The form's own defaults, filled in: what is sent is what the person saw. */
function defaults(form: JsonSchema | null): Record<string, unknown> {
  return Object.fromEntries(Object.entries(form?.properties ?? {})
    .filter(([, property]) => property.default !== undefined)
    .map(([name, property]) => [name, property.default]));
}

interface Props {
  wait: Wait;
  username: string;
  /** The wait was answered (or closed meanwhile): it leaves the list. */
  onDone: (wait: Wait, outcome: string | null, message?: string) => void;
}

/** One approval: the run and node it holds up, the prompt, the form and the outcomes. */
export function ApprovalCard({ wait, username, onDone }: Props) {
  const headingId = `wait-${useId().replace(/:/g, "")}`;
  const readsRuns = may("read");  // an assignee without workflow.read answers, but cannot open the run
  const request = wait.request ?? {};
  const form = request.form ?? null;
  const outcomes = request.outcomes && request.outcomes.length > 0 ? request.outcomes : ["done"];
  const [values, setValues] = useState<Record<string, unknown>>(() => defaults(form));
  const [sending, setSending] = useState<string | null>(null);
  const [errors, setErrors] = useState<AnswerErrors>({ fields: {}, general: [] });
  const [error, setError] = useState<string | null>(null);

  /** A field edited since the refusal loses its message. */
  function change(next: Record<string, unknown>) {
    const edited = Object.keys({ ...values, ...next }).filter((name) => values[name] !== next[name]);
    if (edited.some((name) => name in errors.fields)) {
      const fields = { ...errors.fields };
      for (const name of edited) delete fields[name];
      setErrors({ ...errors, fields });
    }
    setValues(next);
  }

  async function answer(outcome: string) {
    setSending(outcome);
    setError(null);
    try {
      await api<Wait>(`bookmarks/${wait.id}/resume`, { body: { outcome, payload: values } });
      onDone(wait, outcome);
    } catch (failure) {
      if (failure instanceof ApiError && (failure.code === "bookmark_closed" || failure.status === 404)) {
        onDone(wait, null, failure.message);
        return;
      }
      const found = answerErrors(failure, form);
      const onFields = found.general.length === 0 && Object.keys(found.fields).length > 0;
      setError(onFields ? "The answer was not accepted: see the fields below." : errorText(failure));
      setErrors(found);
      setSending(null);
    }
  }

  return (
    <article className="approval panel" aria-labelledby={headingId} data-wait={wait.id}>
      <header className="approval-head">
        <h2 id={headingId}>
          {readsRuns ? <a href={`/runs/${wait.execution}/`}>{wait.workflow}</a> : wait.workflow}
          <span className="approval-node"> · {wait.node_id}{wait.iteration ? ` [${wait.iteration}]` : ""}</span>
        </h2>
        <dl className="approval-meta">
          <div><dt>Assigned to</dt><dd>{assignedTo(wait.assignee, username)}</dd></div>
          <div><dt>Opened</dt><dd><time dateTime={wait.created_at}>{when(wait.created_at)}</time></dd></div>
          <div>
            <dt>Times out</dt>
            <dd>
              {wait.due_at ? <time dateTime={wait.due_at}>{when(wait.due_at)}</time> : "never"}
              {wait.due_at && request.timeout_outcome ? ` (then: ${request.timeout_outcome})` : ""}
            </dd>
          </div>
          {readsRuns && <div><dt>Run</dt><dd><a href={`/runs/${wait.execution}/`}>{wait.execution.slice(0, 8)}</a></dd></div>}
        </dl>
      </header>
      <p className="approval-prompt">{request.prompt ?? ""}</p>
      {error && (
        <Notice kind="error">
          {error}
          {errors.general.filter((line) => !error.includes(line)).map((line) => <span key={line} className="approval-problem">{line}</span>)}
        </Notice>
      )}
      {form && (
        <SchemaForm schema={form} value={values} onChange={change} errors={errors.fields} readOnly={sending !== null} />
      )}
      <div className="approval-outcomes" role="group" aria-label="Answer">
        {outcomes.map((outcome) => (
          <button key={outcome} type="button" className={outcomeClass(outcome)} disabled={sending !== null}
            onClick={() => void answer(outcome)}>
            {sending === outcome ? `${outcome}…` : outcome}
          </button>
        ))}
      </div>
    </article>
  );
}
