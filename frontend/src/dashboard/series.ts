// The metrics' series turned into what each chart draws, and what it says in words.
import { count, milliseconds, percent } from "../lib/format";
import type { SeriesPoint } from "./types";

export const TERMINAL = ["completed", "failed", "cancelled"] as const;

export interface Columns {
  times: number[];
  byStatus: Record<(typeof TERMINAL)[number], number[]>;
  finished: number[];
  success: (number | null)[];
  failure: (number | null)[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  throughput: number[];
}

export function columns(points: SeriesPoint[]): Columns {
  const share = (point: SeriesPoint, status: string) =>
    point.finished ? (point.by_status[status] ?? 0) / point.finished : null;
  return {
    times: points.map((point) => new Date(point.at).getTime() / 1000),
    byStatus: {
      completed: points.map((point) => point.by_status.completed ?? 0),
      failed: points.map((point) => point.by_status.failed ?? 0),
      cancelled: points.map((point) => point.by_status.cancelled ?? 0),
    },
    finished: points.map((point) => point.finished),
    success: points.map((point) => share(point, "completed")),
    failure: points.map((point) => share(point, "failed")),
    p50: points.map((point) => point.duration_ms.p50),
    p95: points.map((point) => point.duration_ms.p95),
    p99: points.map((point) => point.duration_ms.p99),
    throughput: points.map((point) => point.throughput_per_minute),
  };
}

/** Each bar's top: the statuses stacked in TERMINAL's order. */
export function stacked(data: Columns): number[][] {
  let below = data.times.map(() => 0);
  return TERMINAL.map((status) => {
    below = below.map((sum, index) => sum + data.byStatus[status][index]);
    return below;
  });
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

function highest(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length ? Math.max(...known) : null;
}

export function timelineText(data: Columns, bucket: string): string {
  const busiest = Math.max(0, ...data.finished);
  return `Runs finished per ${bucket}: ${TERMINAL.map((status) => `${count(sum(data.byStatus[status]))} ${status}`).join(", ")}; `
    + `at most ${count(busiest)} in one ${bucket}.`;
}

export function ratesText(data: Columns, bucket: string): string {
  const worst = highest(data.failure);
  return `Success and failure rate per ${bucket}: the highest failure rate in one ${bucket} was ${percent(worst)}.`;
}

export function durationsText(data: Columns, bucket: string): string {
  return `Run time per ${bucket}: the highest p50 was ${milliseconds(highest(data.p50))}, `
    + `p95 ${milliseconds(highest(data.p95))}, p99 ${milliseconds(highest(data.p99))}.`;
}

export function throughputText(data: Columns, bucket: string): string {
  return `Runs finished a minute, per ${bucket}: at most ${count(highest(data.throughput))}.`;
}
