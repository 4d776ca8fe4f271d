// One time chart: uPlot on a canvas, sized to its panel, with a legend (uPlot's, showing
// the values under the pointer) and an accessible name that states the figures in words.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  /** A colour of the frame's palette: a CSS custom property such as `--status-failed`. */
  colour: string;
  values: (number | null)[];
  /** Bars (the timeline) rather than a line with points. */
  bars?: boolean;
  /** The value the legend shows at a point, when it is not the one drawn (a stack's). */
  shown?: (number | null)[];
}

interface ChartProps {
  /** The chart's accessible name: what it shows, with its figures. */
  label: string;
  /** Seconds since the epoch, the start of each bucket. */
  times: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** A lower and upper bound for the y axis (rates: 0 to 1). */
  range?: [number, number];
}

const HEIGHT = 200;

function colour(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#5b6478";
}

export function Chart({ label, times, series, format, range }: ChartProps) {
  const holder = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const axis = { stroke: colour("--muted"), grid: { stroke: colour("--line"), width: 1 }, ticks: { show: false } };
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: { y: range ? { range: () => range } : { range: (_self, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis, { ...axis, size: 70, values: (_self, ticks) => ticks.map(format) }],
      series: [
        {},
        ...series.map((one): uPlot.Series => ({
          label: one.label,
          stroke: colour(one.colour),
          fill: one.bars ? colour(one.colour) : undefined,
          width: one.bars ? 0 : 2,
          paths: one.bars ? uPlot.paths.bars!({ size: [0.8, 48] }) : undefined,
          points: { show: !one.bars, size: 5 },
          spanGaps: false,
          value: (_self, raw, _index, at) => {
            const value = at !== null && one.shown ? one.shown[at] : raw;
            return value === null || value === undefined ? "—" : format(value);
          },
        })),
      ],
    };
    const chart = new uPlot(options, [times, ...series.map((one) => one.values)], element);
    const canvas = chart.root.querySelector("canvas");
    canvas?.setAttribute("role", "img");
    canvas?.setAttribute("aria-label", label);
    const resized = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      chart.destroy();
    };
  }, [label, times, series, format, range]);

  return <div className="chart" ref={holder} />;
}
