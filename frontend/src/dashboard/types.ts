// The performance API's answers as the dashboard reads them (monitoring/performance/).

export interface Durations {
  count: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesPoint {
  at: string;
  finished: number;
  by_status: Record<string, number>;
  duration_ms: Durations;
  throughput_per_minute: number;
}

export interface Metrics {
  from: string;
  to: string;
  total: number;
  by_status: Record<string, number>;
  finished: number;
  success_rate: number | null;
  failure_rate: number | null;
  duration_ms: Durations;
  throughput_per_minute: number;
  bucket?: string;
  series?: SeriesPoint[];
}

export interface RecentExecution {
  id: string;
  workflow: string;
  workflow_id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export interface Cache {
  name: string;
  description: string;
  hits: number;
  misses: number;
  lookups: number;
  hit_rate: number | null;
}

export interface Caches {
  since: string | null;
  caches: Cache[];
}

export interface Queue {
  name: string;
  ready: number | null;
  unacked: number | null;
  consumers: number | null;
  oldest_age_seconds: number | null;
  error?: string;
}

export interface QueuesPending {
  ready: number;
  oldest_age_seconds: number | null;
  queues: Queue[];
}

export interface Lock {
  kind: string;
  key: string;
  subject: string;
  description: string;
  owner: string | null;
  expires_in_seconds: number | null;
  expires_at: string | null;
}

export interface Worker {
  name: string;
  processes: number | null;
  tasks_running: number;
  tasks_total: number;
  uptime_seconds: number | null;
  running: string[];
}

export interface Workers {
  online: number;
  asked_at: string;
  workers: Worker[];
}

export interface FailingWorkflow {
  workflow_id: string;
  workflow: string;
  failures: number;
  last_failed_at: string;
  last_execution: string;
}

export interface FailingNode extends FailingWorkflow {
  node_id: string;
  node_type: string;
}

export interface Failures {
  workflows: FailingWorkflow[];
  nodes: FailingNode[];
}

/** One panel's figures: the latest answer, or why there is none. A failed refresh keeps
 * the figures it had and says it could not read newer ones. */
export interface Part<T> {
  value: T | null;
  error: string | null;
}
