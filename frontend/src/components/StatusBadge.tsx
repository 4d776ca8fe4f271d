/** An execution's or a node's status as a coloured label. */
export function StatusBadge({ status }: { status: string | null | undefined }) {
  const value = status ?? "none";
  return <span className={`badge ${value}`} data-status={value}>{status ?? "never run"}</span>;
}
