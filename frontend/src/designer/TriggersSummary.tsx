import { useEffect, useState } from "react";
import { load, type Page } from "../lib/api";
import { when } from "../lib/format";

interface ScheduleRow { id: string; name: string; cron: string; timezone: string; enabled: boolean; next_fire_at: string | null }
interface WebhookRow { id: string; name: string; enabled: boolean; token_hint: string }

/** The schedules and webhooks that start this workflow; they are managed on /triggers/. */
export function TriggersSummary({ workflowId }: { workflowId: string }) {
  const [schedules, setSchedules] = useState<ScheduleRow[] | null>(null);
  const [webhooks, setWebhooks] = useState<WebhookRow[] | null>(null);
  useEffect(() => {
    const leaveSchedules = load<Page<ScheduleRow>>(`schedules?workflow=${workflowId}`, (page) => setSchedules(page.results), () => setSchedules([]));
    const leaveWebhooks = load<Page<WebhookRow>>(`webhooks?workflow=${workflowId}`, (page) => setWebhooks(page.results), () => setWebhooks([]));
    return () => { leaveSchedules(); leaveWebhooks(); };
  }, [workflowId]);
  return (
    <div className="triggers-summary">
      <h3>Triggers</h3>
      {schedules === null || webhooks === null ? <p className="muted">Loading…</p> : (
        <ul>
          {schedules.map((schedule) => (
            <li key={schedule.id}>Schedule <strong>{schedule.name}</strong>: <code>{schedule.cron}</code> ({schedule.timezone}){" "}
              {schedule.enabled ? <>next {when(schedule.next_fire_at)}</> : <span className="muted">paused</span>}</li>
          ))}
          {webhooks.map((webhook) => (
            <li key={webhook.id}>Webhook <strong>{webhook.name}</strong> …{webhook.token_hint}{webhook.enabled ? "" : " (disabled)"}</li>
          ))}
          {schedules.length === 0 && webhooks.length === 0 && <li className="muted">No schedule or webhook starts it.</li>}
        </ul>
      )}
      <a href="/triggers/">Manage schedules and webhooks</a>
    </div>
  );
}
