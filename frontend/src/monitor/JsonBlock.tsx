// A JSON value from the API, pretty-printed as text.
export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return <pre aria-label={label} tabIndex={0}>{value === undefined ? "—" : JSON.stringify(value, null, 2)}</pre>;
}

/** A value behind a disclosure: the run's input, output, error. */
export function Collapsible({ title, value, open }: { title: string; value: unknown; open?: boolean }) {
  return (
    <details className="collapsible" open={open}>
      <summary>{title}</summary>
      <JsonBlock value={value} label={title} />
    </details>
  );
}
