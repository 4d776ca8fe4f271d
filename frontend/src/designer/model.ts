// The designer's model: a definition as React Flow nodes and edges and back, branch
// handles per node type, fresh ids, and the automatic layout.
import type { Edge, Node } from "@xyflow/react";
import { autoLayout } from "../lib/layout";
import type { Definition, DefinitionEdge, DefinitionNode, NodeTypeInfo } from "../lib/types";

export interface WeftNodeData extends Record<string, unknown> {
  /** The definition's node, without its position (the canvas holds that). */
  node: DefinitionNode;
  /** Present while the node is drawn where the automatic layout put it, not where the
   * definition places it (it has no position there): `position` is the definition's own,
   * which the definition keeps until someone places a node. */
  laidOut?: { position: unknown };
}

export type WeftNode = Node<WeftNodeData, "weft">;
export type WeftEdge = Edge<{ edge: DefinitionEdge }>;

/** Everything of a definition except its graph: name, settings, inputs, output, ... */
export interface Meta {
  name: string;
  namespace?: string;
  description?: string;
  settings?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  output?: unknown;
  [key: string]: unknown;
}

export const NODE_HEIGHT = 64;

export function edgeLabel(edge: DefinitionEdge): string {
  if (typeof edge.id === "string" && edge.id) return edge.id;
  const label = `${edge.source}->${edge.target}`;
  return edge.sourceHandle !== undefined && edge.sourceHandle !== null ? `${label}:${edge.sourceHandle}` : label;
}

/** What a screen reader says of a node on the canvas (its text is hidden when zoomed far out). */
export function nodeLabel(node: DefinitionNode): string {
  return node.name ? `${node.name} (${node.type}, ${node.id})` : `${node.id} (${node.type})`;
}

/** Where the definition places a node, if it does (a position with finite x and y). */
export function placedAt(node: DefinitionNode): { x: number; y: number } | null {
  const position = node.position;
  return position && Number.isFinite(position.x) && Number.isFinite(position.y) ? position : null;
}

/** A definition's node on the canvas, at its position (else at `fallback`, laid out). */
export function nodeToFlow(node: DefinitionNode, fallback?: { x: number; y: number }): WeftNode {
  const { position, ...rest } = node;
  const at = placedAt(node);
  return {
    id: node.id, type: "weft", position: at ?? fallback ?? { x: 0, y: 0 }, ariaLabel: nodeLabel(node),
    data: at ? { node: rest } : { node: rest, laidOut: { position } },
  };
}

export function toFlow(definition: Definition): { meta: Meta; nodes: WeftNode[]; edges: WeftEdge[] } {
  const { nodes = [], edges = [], ...rest } = definition;
  const meta: Meta = { ...rest, name: definition.name };
  const placed = nodes.every((node) => placedAt(node) !== null);
  let flowNodes: WeftNode[] = nodes.map((node) => nodeToFlow(node));
  const flowEdges = edges.map(edgeToFlow);
  if (!placed) {
    // one node without a position lays out them all: each keeps its own for the definition
    flowNodes = layout(flowNodes.map((node, index) => ({ ...node, data: { ...node.data, laidOut: { position: nodes[index].position } } })), flowEdges);
  }
  return { meta, nodes: flowNodes, edges: flowEdges };
}

/** The nodes placed where they are drawn: once someone places a node, every node's position
 * on the canvas goes into the definition (a layout is kept only whole). */
export function settle(nodes: WeftNode[]): WeftNode[] {
  return nodes.map((node) => {
    if (!node.data.laidOut) return node;
    const { laidOut: _laidOut, ...data } = node.data;
    void _laidOut;
    return { ...node, data };
  });
}

export function edgeToFlow(edge: DefinitionEdge): WeftEdge {
  return {
    id: edgeLabel(edge),
    source: edge.source,
    target: edge.target,
    sourceHandle: edge.sourceHandle ?? null,
    label: edge.sourceHandle ?? undefined,
    data: { edge },
  };
}

/** The definition the canvas shows. What came from a definition goes back as it came
 * (a node still laid out keeps the definition's position, an edge its fields), so that
 * reading a definition and writing it back changes nothing. */
export function toDefinition(meta: Meta, nodes: WeftNode[], edges: WeftEdge[]): Definition {
  return {
    ...meta,
    nodes: nodes.map((node) => {
      const { position: _position, ...fields } = node.data.node;
      void _position;
      const laidOut = node.data.laidOut;
      if (!laidOut) return { ...fields, id: node.id, position: node.position };
      return laidOut.position === undefined ? { ...fields, id: node.id } : { ...fields, id: node.id, position: laidOut.position as DefinitionNode["position"] };
    }),
    edges: edges.map((edge) => {
      const original = edge.data?.edge ?? { source: edge.source, target: edge.target };
      const { sourceHandle: handle, ...rest } = original;
      const same = (handle ?? null) === (edge.sourceHandle ?? null);
      return {
        ...rest,
        source: edge.source,
        target: edge.target,
        ...(same ? (handle === undefined ? {} : { sourceHandle: handle }) : edge.sourceHandle ? { sourceHandle: edge.sourceHandle } : {}),
      };
    }),
  };
}

/** The branch handles a node has, from its type and its data (cases, outcomes, mode). */
export function branchHandles(node: DefinitionNode, info: NodeTypeInfo | undefined): string[] {
  const data = (node.data ?? {}) as Record<string, unknown>;
  switch (node.type) {
    case "Conditional": {
      const cases = data.cases;
      if (Array.isArray(cases) && cases.length > 0) {
        return [...cases.map((entry) => String((entry as { name?: unknown })?.name ?? "")).filter(Boolean), "default"];
      }
      return ["true", "false"];
    }
    case "Validator":
      return data.mode === "branch" ? ["valid", "invalid"] : [];
    case "UserAction": {
      const outcomes = data.outcomes;
      return Array.isArray(outcomes) && outcomes.length > 0 ? outcomes.map(String) : ["done"];
    }
    default:
      return info?.handles?.static ?? [];
  }
}

/** A node id not yet taken, from the type's name: `http_request_1`, `http_request_2`, ... */
export function freshId(type: string, taken: Set<string>): string {
  const base = type.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(/[^a-z0-9_]/g, "_").replace(/^[^a-z]+/, "") || "node";
  for (let index = 1; ; index += 1) {
    const candidate = `${base}_${index}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Left-to-right layout of the graph (dagre), keeping the nodes' identities; whole pixels. */
export function layout(nodes: WeftNode[], edges: WeftEdge[]): WeftNode[] {
  const placed = autoLayout(nodes.map((node) => ({ id: node.id, height: node.measured?.height ?? NODE_HEIGHT })), edges);
  return nodes.map((node) => (placed[node.id] ? { ...node, position: rounded(placed[node.id]) } : node));
}

/** A position in whole pixels, as the definition keeps it. */
export function rounded(position: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.round(position.x), y: Math.round(position.y) };
}

export const EMPTY_DEFINITION: Definition = {
  name: "",
  namespace: "default",
  description: "",
  nodes: [],
  edges: [],
};
