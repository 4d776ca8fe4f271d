// Where each node of a definition sits on the canvas: where the designer saved them when
// every node has a position (as the designer shows it), otherwise the designer's own
// automatic layout.
import { NODE_WIDTH, autoLayout, type Positions } from "../lib/layout";
import type { Definition } from "../lib/types";

export { NODE_WIDTH };
export const NODE_HEIGHT = 84;

export function positions(definition: Definition): Positions {
  const saved: Positions = {};
  for (const node of definition.nodes) {
    const at = node.position;
    if (!at || !Number.isFinite(at.x) || !Number.isFinite(at.y)) {
      return autoLayout(definition.nodes.map((each) => ({ id: each.id, height: NODE_HEIGHT })), definition.edges);
    }
    saved[node.id] = { x: at.x, y: at.y };
  }
  return saved;
}
