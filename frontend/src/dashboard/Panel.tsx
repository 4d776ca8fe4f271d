// A titled section of the dashboard: its figures, "…" until the first answer, or why
// they could not be read (the figures read before stay, marked as not current).
import type { ReactNode } from "react";
import type { Part } from "./types";

interface PanelProps<T> {
  id: string;
  title: string;
  part: Part<T>;
  children: (value: T) => ReactNode;
  wide?: boolean;
}

export function Panel<T>({ id, title, part, children, wide = false }: PanelProps<T>) {
  return (
    <section className={`panel dashboard-panel${wide ? " wide" : ""}`} aria-labelledby={`${id}-title`} data-panel={id}>
      <h2 id={`${id}-title`}>{title}</h2>
      {part.error && (
        <p className="field-error" role="status">
          Could not be read{part.value ? " just now (the figures below are older)" : ""}: {part.error}
        </p>
      )}
      {part.value !== null ? children(part.value) : !part.error && <p className="muted">Loading…</p>}
    </section>
  );
}
