// Schedules and webhook triggers as /api/schedules and /api/webhooks return them.
export interface Schedule {
  id: number;
  workflow: string;
  workflow_name: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  input: Record<string, unknown>;
  overlap: string;
  catch_up: string;
  catch_up_limit: number;
  retry_attempts: number;
  retry_delay: number;
  timeout: number | null;
  next_fire_at: string | null;
  last_fire_at: string | null;
  source: string;
  created_at: string;
  updated_at: string;
}

export interface FireTime {
  local: string;
  utc: string;
}

export interface Preview {
  cron: string;
  timezone: string;
  fire_times: FireTime[];
}

export interface ScheduleRun {
  id: number;
  fire_at: string;
  attempt: number;
  outcome: string;
  execution: string | null;
  execution_status: string | null;
  reason: string;
  created_at: string;
}

export interface Webhook {
  id: number;
  workflow: string;
  workflow_name: string;
  name: string;
  enabled: boolean;
  token_hint: string;
  has_signing_secret: boolean;
  signature_header: string;
  timestamp_header: string;
  tolerance: number;
  max_body_bytes: number;
  rate_limit: number;
  created_at: string;
  rotated_at: string | null;
  last_used_at: string | null;
}

export interface WebhookCreated extends Webhook {
  url: string;
}

export interface WebhookRotated {
  url: string;
  token_hint: string;
  rotated_at: string;
}

/** The workflows a trigger may start, as the pickers list them. */
export interface WorkflowChoice {
  id: string;
  label: string;
}
