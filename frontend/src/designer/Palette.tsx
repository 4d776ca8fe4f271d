import { memo, useMemo, useState } from "react";
import type { NodeTypeInfo } from "../lib/types";

export const DRAG_TYPE = "application/x-weft-node-type";

/** Every node type, grouped by category and searchable; drag one onto the canvas, or
 * press Enter on it to add it in the middle. */
function PaletteView({ types, onAdd, disabled }: { types: NodeTypeInfo[]; onAdd: (type: string) => void; disabled: boolean }) {
  const [search, setSearch] = useState("");
  const groups = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const matching = types.filter((type) => !needle || type.name.toLowerCase().includes(needle)
      || type.description.toLowerCase().includes(needle) || type.category.toLowerCase().includes(needle));
    const byCategory = new Map<string, NodeTypeInfo[]>();
    for (const type of matching) byCategory.set(type.category, [...(byCategory.get(type.category) ?? []), type]);
    return [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [types, search]);
  return (
    <aside className="palette" aria-label="Node types">
      <label htmlFor="palette-search" className="visually-hidden">Search node types</label>
      <input id="palette-search" type="search" placeholder="Search node types" value={search}
        onChange={(event) => setSearch(event.target.value)} />
      {groups.map(([category, members]) => (
        <section key={category}>
          <h3>{category}</h3>
          <ul>
            {members.map((type) => (
              <li key={type.name}>
                <button type="button" className="palette-item" draggable={!disabled} disabled={disabled}
                  data-node-type={type.name} title={type.description}
                  onDragStart={(event) => {
                    event.dataTransfer.setData(DRAG_TYPE, type.name);
                    event.dataTransfer.effectAllowed = "move";
                  }}
                  onClick={() => onAdd(type.name)}>
                  {type.name}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {groups.length === 0 && <p className="muted">No node type matches.</p>}
    </aside>
  );
}

export const Palette = memo(PaletteView);
