// Times and durations as people read them, in the browser's zone.
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return "—";
  return milliseconds((end ? new Date(end).getTime() : Date.now()) - new Date(start).getTime());
}

/** A length of time given in milliseconds: "840 ms", "12.5 s", "3 min 4 s", "2 h 5 min". */
export function milliseconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (value < 1000) return `${Math.max(0, Math.round(value))} ms`;
  const seconds = value / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A count with the browser's digit grouping: 12,345. */
export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** A share from 0 to 1 as a percentage: 0.9876 -> "98.8%"; none -> "—". */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined) return "—";
  return `${(share * 100).toLocaleString(undefined, { maximumFractionDigits: 1 })}%`;
}
