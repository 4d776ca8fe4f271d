import { useCallback, useEffect, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { api, query, type Page } from "../lib/api";
import { when } from "../lib/format";
import { may } from "../lib/props";
import { ConfirmDialog } from "./ConfirmDialog";
import { SecretUrl } from "./SecretUrl";
import { WebhookForm } from "./WebhookForm";
import type { Webhook, WebhookRotated, WorkflowChoice } from "./types";

function label(webhook: Webhook): string {
  return `${webhook.workflow_name} ${webhook.name}`;
}

interface RowProps {
  webhook: Webhook;
  onRotated: (webhook: Webhook, rotated: WebhookRotated) => void;
  onChanged: (webhook: Webhook) => void;
  onDelete: () => void;
  onError: (message: string) => void;
}

function WebhookRow({ webhook, onRotated, onChanged, onDelete, onError }: RowProps) {
  const [busy, setBusy] = useState(false);
  const armed = may("write") && may("execute");

  async function act(work: () => Promise<void>) {
    setBusy(true);
    try {
      await work();
    } catch (failure) {
      onError(errorText(failure));
    } finally {
      setBusy(false);
    }
  }
  const rotate = () => act(async () => onRotated(webhook, await api<WebhookRotated>(`webhooks/${webhook.id}/rotate`, { method: "POST" })));
  const switchTo = (enabled: boolean) => act(async () => onChanged(await api<Webhook>(`webhooks/${webhook.id}`, { method: "PATCH", body: { enabled } })));

  return (
    <tr data-webhook={webhook.id}>
      <td><a href={`/workflows/${webhook.workflow}/`}>{webhook.workflow_name}</a></td>
      <td>{webhook.name}</td>
      <td><span className={`badge ${webhook.enabled ? "running" : "paused"}`}>{webhook.enabled ? "enabled" : "disabled"}</span></td>
      <td><code className="token-hint">/api/hooks/{webhook.token_hint}…</code></td>
      <td>{webhook.has_signing_secret ? "signed" : <span className="muted">unsigned</span>}</td>
      <td>{webhook.rate_limit ? `${webhook.rate_limit}/min` : "no limit"}</td>
      <td>{webhook.last_used_at ? when(webhook.last_used_at) : <span className="muted">never</span>}</td>
      <td>{when(webhook.rotated_at ?? webhook.created_at)}</td>
      <td className="row-actions">
        {armed && <button type="button" disabled={busy} aria-label={`Rotate ${label(webhook)}`} onClick={() => void rotate()}>Rotate</button>}
        {may("write") && webhook.enabled && (
          <button type="button" disabled={busy} aria-label={`Disable ${label(webhook)}`} onClick={() => void switchTo(false)}>Disable</button>
        )}
        {armed && !webhook.enabled && (
          <button type="button" disabled={busy} aria-label={`Enable ${label(webhook)}`} onClick={() => void switchTo(true)}>Enable</button>
        )}
        {may("write") && <button type="button" className="danger" aria-label={`Delete ${label(webhook)}`} onClick={onDelete}>Delete</button>}
      </td>
    </tr>
  );
}

/** The webhook triggers: secret URLs that start a workflow, shown once when made. */
export function WebhooksSection({ workflows }: { workflows: WorkflowChoice[] }) {
  const [page, setPage] = useState<Page<Webhook> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ title: string; url: string } | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);

  const load = useCallback(async () => {
    try {
      setPage(await api<Page<Webhook>>(`webhooks${query({ page_size: 200 })}`));
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  }, []);
  useEffect(() => { void load(); }, [load]);

  const replace = (webhook: Webhook) => setPage((current) => current && {
    ...current, results: current.results.map((other) => (other.id === webhook.id ? webhook : other)),
  });

  return (
    <section className="trigger-section" aria-labelledby="webhooks-title">
      <div className="section-head">
        <h2 id="webhooks-title">Webhooks</h2>
        {may("write") && !creating && (
          <button type="button" className="primary" onClick={() => { setCreating(true); setDone(null); }}>New webhook</button>
        )}
      </div>
      {creating && (
        <WebhookForm workflows={workflows} onCancel={() => setCreating(false)} onCreated={(webhook) => {
          setCreating(false);
          setDone(null);
          setSecret({ title: `URL of the new webhook ${label(webhook)}`, url: webhook.url });
          void load();
        }} />
      )}
      {secret && <SecretUrl title={secret.title} url={secret.url} onDismiss={() => setSecret(null)} />}
      {done && <Notice kind="ok">{done}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {page && page.results.length === 0 && <p className="empty">No webhook starts a workflow yet.</p>}
      {page && page.results.length > 0 && (
        <table className="list webhooks">
          <thead>
            <tr>
              <th>Workflow</th><th>Name</th><th>State</th><th>URL</th><th>Signature</th><th>Rate limit</th><th>Last used</th><th>URL made</th>
              <th><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {page.results.map((webhook) => (
              <WebhookRow key={webhook.id} webhook={webhook} onError={setError}
                onChanged={(changed) => { setError(null); replace(changed); }}
                onRotated={(rotated, answer) => {
                  setError(null);
                  setSecret({ title: `New URL of the webhook ${label(rotated)} (the old one no longer works)`, url: answer.url });
                  replace({ ...rotated, token_hint: answer.token_hint, rotated_at: answer.rotated_at });
                }}
                onDelete={() => setDeleting(webhook)} />
            ))}
          </tbody>
        </table>
      )}
      {page && page.count > page.results.length && <p className="muted">Showing {page.results.length} of {page.count}.</p>}
      {deleting && (
        <ConfirmDialog title="Delete the webhook?" confirm="Delete webhook"
          message={`${label(deleting)}: its URL stops working at once and cannot be brought back.`}
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api(`webhooks/${deleting.id}`, { method: "DELETE" });
            setDone(`Webhook ${label(deleting)} deleted.`);
            setSecret(null);
            await load();
          }} />
      )}
    </section>
  );
}
