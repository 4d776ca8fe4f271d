// The range's runs over time: the timeline of finished runs by status, the success and
// failure rates, the run time percentiles and the throughput, one chart each.
import { useMemo, type ReactNode } from "react";
import { count, milliseconds, percent } from "../lib/format";
import { Chart, type ChartSeries } from "./Chart";
import {
  TERMINAL, columns, durationsText, ratesText, stacked, throughputText, timelineText,
} from "./series";
import type { SeriesPoint } from "./types";

const RATE_RANGE: [number, number] = [0, 1];
const COLOURS: Record<string, string> = {
  completed: "--status-completed", failed: "--status-failed", cancelled: "--status-cancelled",
};

function Figure({ title, text, children }: { title: string; text: string; children: ReactNode }) {
  return (
    <figure className="panel chart-panel" aria-label={title}>
      <h3>{title}</h3>
      {children}
      <figcaption className="muted">{text}</figcaption>
    </figure>
  );
}

const asCount = (value: number) => count(value);
const asPercent = (value: number) => percent(value);
const asTime = (value: number) => milliseconds(value);

export function RunCharts({ points, bucket }: { points: SeriesPoint[]; bucket: string }) {
  const charts = useMemo(() => {
    const data = columns(points);
    const tops = stacked(data);
    // Drawn tallest first, so each status's part of the bar shows over the one above it.
    const timeline: ChartSeries[] = TERMINAL.map((status, index) => ({
      label: status, colour: COLOURS[status], values: tops[index], bars: true, shown: data.byStatus[status],
    })).reverse();
    return {
      data,
      timeline,
      rates: [
        { label: "success", colour: "--status-completed", values: data.success },
        { label: "failure", colour: "--status-failed", values: data.failure },
      ] as ChartSeries[],
      durations: [
        { label: "p50", colour: "--status-running", values: data.p50 },
        { label: "p95", colour: "--status-paused", values: data.p95 },
        { label: "p99", colour: "--status-failed", values: data.p99 },
      ] as ChartSeries[],
      throughput: [{ label: "finished a minute", colour: "--accent", values: data.throughput }] as ChartSeries[],
    };
  }, [points]);
  const { data } = charts;

  if (data.finished.every((finished) => finished === 0)) {
    return (
      <p className="empty" data-empty="series">
        No run finished in this range. (Finished runs are counted each minute: one that has
        just ended shows within two minutes.)
      </p>
    );
  }
  return (
    <div className="charts">
      <Figure title="Runs finished" text={timelineText(data, bucket)}>
        <Chart label={timelineText(data, bucket)} times={data.times} series={charts.timeline} format={asCount} />
      </Figure>
      <Figure title="Success and failure rate" text={ratesText(data, bucket)}>
        <Chart label={ratesText(data, bucket)} times={data.times} series={charts.rates} format={asPercent} range={RATE_RANGE} />
      </Figure>
      <Figure title="Run time" text={durationsText(data, bucket)}>
        <Chart label={durationsText(data, bucket)} times={data.times} series={charts.durations} format={asTime} />
      </Figure>
      <Figure title="Throughput" text={throughputText(data, bucket)}>
        <Chart label={throughputText(data, bucket)} times={data.times} series={charts.throughput} format={asCount} />
      </Figure>
    </div>
  );
}
