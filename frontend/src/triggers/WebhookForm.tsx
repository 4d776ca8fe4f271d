import { useState, type FormEvent } from "react";
import { Notice, errorText } from "../components/Notice";
import { ApiError, api } from "../lib/api";
import { may } from "../lib/props";
import { Field, WorkflowPicker, described, useFieldErrors } from "./fields";
import type { WebhookCreated, WorkflowChoice } from "./types";

interface Props {
  workflows: WorkflowChoice[];
  onCreated: (webhook: WebhookCreated) => void;
  onCancel: () => void;
}

/** A new webhook trigger for a workflow; its URL comes back once, in the answer. */
export function WebhookForm({ workflows, onCreated, onCancel }: Props) {
  const armed = may("execute");
  const { fields, setFields, edited } = useFieldErrors();
  const [workflow, setWorkflowNow] = useState("");
  const setWorkflow = edited("workflow", setWorkflowNow);
  const [name, setNameNow] = useState("default");
  const setName = edited("name", setNameNow);
  const [enabled, setEnabled] = useState(armed);
  const [secret, setSecretNow] = useState("");
  const setSecret = edited("signing_secret", setSecretNow);
  const [rateLimit, setRateLimitNow] = useState("60");
  const setRateLimit = edited("rate_limit", setRateLimitNow);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      const body: Record<string, unknown> = { workflow, name, enabled, rate_limit: Number(rateLimit) };
      if (secret) body.signing_secret = secret;
      onCreated(await api<WebhookCreated>("webhooks", { body }));
    } catch (failure) {
      setError(errorText(failure));
      setFields(failure instanceof ApiError ? failure.fieldErrors() : {});
      setBusy(false);
    }
  }

  return (
    <form className="trigger-form panel" onSubmit={(event) => void submit(event)} aria-labelledby="webhook-form-title">
      <h3 id="webhook-form-title">New webhook</h3>
      {error && <Notice kind="error">{error}</Notice>}
      <div className="trigger-grid">
        <WorkflowPicker id="webhook-workflow" workflows={workflows} value={workflow} onChange={setWorkflow} error={fields.workflow} />
        <Field id="webhook-name" label="Name" error={fields.name} help="Lowercase letters, digits, '_', '.' and '-'.">
          <input id="webhook-name" type="text" value={name} onChange={(event) => setName(event.target.value)} {...described("webhook-name", fields.name, true)} />
        </Field>
        <Field id="webhook-rate" label="Requests per minute" error={fields.rate_limit} help="0: no limit.">
          <input id="webhook-rate" type="number" min={0} value={rateLimit} onChange={(event) => setRateLimit(event.target.value)} {...described("webhook-rate", fields.rate_limit, true)} />
        </Field>
        <Field id="webhook-secret" label="Signing secret (optional)" error={fields.signing_secret}
          help="With a secret, each request must carry its HMAC-SHA256 signature (at least 16 characters; never shown again).">
          <input id="webhook-secret" type="password" autoComplete="new-password" value={secret} onChange={(event) => setSecret(event.target.value)} {...described("webhook-secret", fields.signing_secret, true)} />
        </Field>
        <div className="trigger-field checkbox">
          <input id="webhook-enabled" type="checkbox" checked={enabled} disabled={!armed}
            onChange={(event) => setEnabled(event.target.checked)} aria-describedby={armed ? undefined : "webhook-enabled-help"} />
          <label htmlFor="webhook-enabled">Enabled</label>
          {!armed && <p className="field-help" id="webhook-enabled-help">An enabled webhook needs workflow.execute: it is created disabled.</p>}
        </div>
      </div>
      <div className="actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="submit" className="primary" disabled={busy}>Create webhook</button>
      </div>
    </form>
  );
}
