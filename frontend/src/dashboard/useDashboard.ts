// The dashboard's one place that reads the server: every panel's figures in one parallel
// round of eight requests, again every REFRESH_MS while the tab is visible and updates are
// not paused. A panel whose request fails says so; the others still show.
import { useCallback, useEffect, useRef, useState } from "react";
import { errorText } from "../components/Notice";
import { api, query } from "../lib/api";
import { useWhileVisible } from "../inbox/useWhileVisible";
import { rangeBounds, type RangeKey } from "./range";
import type {
  Caches, Failures, Lock, Metrics, Part, QueuesPending, RecentExecution, Workers,
} from "./types";

// Eight requests every 15 s is 32 a minute, a third of a user's API rate
// (THROTTLE_USER_RATE, 100/min), leaving room for other open pages.
export const REFRESH_MS = 15_000;
const RECENT_COUNT = 10;

export interface DashboardData {
  /** The range the range-bound figures (metrics, failures) were read for. */
  range: RangeKey | null;
  metrics: Part<Metrics>;
  failures: Part<Failures>;
  counts: Part<Record<string, number>>;
  recent: Part<RecentExecution[]>;
  queues: Part<QueuesPending>;
  locks: Part<Lock[]>;
  workers: Part<Workers>;
  caches: Part<Caches>;
  updatedAt: Date | null;
}

const EMPTY = { value: null, error: null };

const NOTHING_YET: DashboardData = {
  range: null, metrics: EMPTY, failures: EMPTY, counts: EMPTY, recent: EMPTY, queues: EMPTY,
  locks: EMPTY, workers: EMPTY, caches: EMPTY, updatedAt: null,
};

function part<T>(answer: PromiseSettledResult<T>, before: Part<T>): Part<T> {
  return answer.status === "fulfilled"
    ? { value: answer.value, error: null }
    : { value: before.value, error: errorText(answer.reason) };
}

export function useDashboard(range: RangeKey, live: boolean): { data: DashboardData; refresh: () => void } {
  const [data, setData] = useState<DashboardData>(NOTHING_YET);
  const requests = useRef(0);

  const refresh = useCallback(async () => {
    const request = ++requests.current;
    const { from, to } = rangeBounds(range);
    const answers = await Promise.allSettled([
      api<Metrics>(`performance/metrics${query({ from, to, bucket: "auto" })}`),
      api<Failures>(`performance/failures${query({ from, to })}`),
      api<Record<string, number>>("executions/counts"),
      api<{ executions: RecentExecution[] }>(`performance/executions/recent${query({ count: RECENT_COUNT })}`)
        .then((answer) => answer.executions),
      api<QueuesPending>("performance/queue/pending"),
      api<{ locks: Lock[] }>("performance/locks/active").then((answer) => answer.locks),
      api<Workers>("performance/workers"),
      api<Caches>("performance/cache"),
    ] as const);
    if (request !== requests.current) return;  // a newer round (another range) is on its way
    const [metrics, failures, counts, recent, queues, locks, workers, caches] = answers;
    setData((before) => {
      // A failed read of a new range keeps nothing of the previous range's figures.
      const kept = before.range === range ? before : { ...before, metrics: EMPTY, failures: EMPTY };
      return {
        range,
        metrics: part(metrics, kept.metrics),
        failures: part(failures, kept.failures),
        counts: part(counts, before.counts),
        recent: part(recent, before.recent),
        queues: part(queues, before.queues),
        locks: part(locks, before.locks),
        workers: part(workers, before.workers),
        caches: part(caches, before.caches),
        updatedAt: new Date(),
      };
    });
  }, [range]);

  useEffect(() => { void refresh(); }, [refresh]);
  useWhileVisible(useCallback(() => { if (live) void refresh(); }, [live, refresh]), REFRESH_MS);

  return { data, refresh: () => void refresh() };
}
