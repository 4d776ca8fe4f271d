// Where each node of a definition sits on the canvas: its own position when the designer
// saved one, otherwise a top-to-bottom layout of the graph.
import { Graph, layout } from "@dagrejs/dagre";
import type { Definition } from "../lib/types";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 84;

export type Positions = Record<string, { x: number; y: number }>;

export function positions(definition: Definition): Positions {
  const graph = new Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 60 });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(definition.nodes.map((node) => node.id));
  for (const node of definition.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of definition.edges) {
    if (ids.has(edge.source) && ids.has(edge.target)) graph.setEdge(edge.source, edge.target);
  }
  layout(graph);
  const result: Positions = {};
  for (const node of definition.nodes) {
    const saved = node.position;
    if (saved && Number.isFinite(saved.x) && Number.isFinite(saved.y)) {
      result[node.id] = { x: saved.x, y: saved.y };
    } else {
      // dagre gives centres; React Flow wants top-left corners
      const placed = graph.node(node.id);
      result[node.id] = { x: placed.x - NODE_WIDTH / 2, y: placed.y - NODE_HEIGHT / 2 };
    }
  }
  return result;
}
