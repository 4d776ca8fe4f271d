// The one automatic layout of a workflow's graph, left to right as it runs, shared by the
// designer (auto-layout, a definition without positions) and the run monitor, so that a
// run looks like the workflow its author drew.
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 200;

export type Positions = Record<string, { x: number; y: number }>;

/** Top-left corners for `nodes` (each `height` tall, NODE_WIDTH wide) with `edges`
 * between them; edges to unknown nodes are left out. */
export function autoLayout(nodes: { id: string; height: number }[], edges: { source: string; target: string }[]): Positions {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: node.height });
  for (const edge of edges) if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) graph.setEdge(edge.source, edge.target);
  dagre.layout(graph);
  const result: Positions = {};
  for (const node of nodes) {
    // dagre gives centres; React Flow wants top-left corners
    const placed = graph.node(node.id);
    if (placed) result[node.id] = { x: placed.x - NODE_WIDTH / 2, y: placed.y - node.height / 2 };
  }
  return result;
}
