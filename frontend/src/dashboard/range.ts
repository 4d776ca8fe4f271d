// The time range the dashboard shows, as the page's address keeps it (`?range=6h`), so a
// link reproduces the view.
export const RANGES = [
  { key: "1h", label: "Last hour", minutes: 60 },
  { key: "6h", label: "Last 6 hours", minutes: 6 * 60 },
  { key: "24h", label: "Last 24 hours", minutes: 24 * 60 },
  { key: "7d", label: "Last 7 days", minutes: 7 * 24 * 60 },
  { key: "30d", label: "Last 30 days", minutes: 30 * 24 * 60 },
] as const;

export type RangeKey = (typeof RANGES)[number]["key"];
export const DEFAULT_RANGE: RangeKey = "24h";

export function rangeFromAddress(search: string): RangeKey {
  const asked = new URLSearchParams(search).get("range");
  return RANGES.find((range) => range.key === asked)?.key ?? DEFAULT_RANGE;
}

/** The address with the range set (the default one too: a link says what it shows). */
export function addressWith(range: RangeKey, location: Location = window.location): string {
  const params = new URLSearchParams(location.search);
  params.set("range", range);
  return `${location.pathname}?${params.toString()}`;
}

/** `from` and `to` of the range ending now, for the performance API. */
export function rangeBounds(range: RangeKey, now: Date = new Date()): { from: string; to: string } {
  const minutes = RANGES.find((known) => known.key === range)?.minutes ?? 24 * 60;
  return { from: new Date(now.getTime() - minutes * 60_000).toISOString(), to: now.toISOString() };
}

export function rangeLabel(range: RangeKey): string {
  return RANGES.find((known) => known.key === range)?.label ?? range;
}
