// The range's headline figures, large: how many runs, how many succeeded, how long the
// slow ones took, and how many are running now.
import { count, milliseconds, percent } from "../lib/format";
import type { Metrics } from "./types";

// The statuses of a run still taking a worker's time (executions' EXECUTION_ACTIVE).
const ACTIVE = ["pending", "running"];

interface BigNumbersProps {
  metrics: Metrics | null;
  counts: Record<string, number> | null;
}

/** Runs finished a minute, or an hour when fewer than one a minute (0.003 a minute reads as
 * nothing; 0.2 an hour does not). */
function throughput(perMinute: number): { value: string; unit: string } {
  return perMinute >= 1 || perMinute === 0
    ? { value: count(perMinute), unit: "finished a minute" }
    : { value: count(perMinute * 60), unit: "finished an hour" };
}

function Figure({ name, label, value, detail }: { name: string; label: string; value: string; detail: string }) {
  return (
    <div className="big-number" data-figure={name}>
      <dt>{label}</dt>
      <dd><span className="big-value">{value}</span><span className="muted">{detail}</span></dd>
    </div>
  );
}

export function BigNumbers({ metrics, counts }: BigNumbersProps) {
  const waiting = counts ? (counts.waiting ?? 0) + (counts.paused ?? 0) + (counts.suspended ?? 0) : null;
  const failed = metrics ? metrics.by_status.failed ?? 0 : null;
  return (
    <dl className="big-numbers">
      <Figure name="total" label="Runs" value={metrics ? count(metrics.total) : "…"}
        detail={metrics ? `${count(metrics.finished)} finished` : ""} />
      <Figure name="success-rate" label="Success rate" value={metrics ? percent(metrics.success_rate) : "…"}
        detail={metrics ? `${count(failed)} failed` : ""} />
      <Figure name="p95" label="Run time p95" value={metrics ? milliseconds(metrics.duration_ms.p95) : "…"}
        detail={metrics ? `p50 ${milliseconds(metrics.duration_ms.p50)}` : ""} />
      <Figure name="throughput" label="Throughput" value={metrics ? throughput(metrics.throughput_per_minute).value : "…"}
        detail={metrics ? throughput(metrics.throughput_per_minute).unit : ""} />
      <Figure name="active" label="Active now" value={counts ? count(ACTIVE.reduce((sum, status) => sum + (counts[status] ?? 0), 0)) : "…"}
        detail={waiting !== null ? `${count(waiting)} waiting or paused` : ""} />
    </dl>
  );
}
