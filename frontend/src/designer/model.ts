// The designer's model: a definition as React Flow nodes and edges and back, branch
// handles per node type, fresh ids, and the automatic layout.
import type { Edge, Node } from "@xyflow/react";
import { autoLayout } from "../lib/layout";
import type { Definition, DefinitionEdge, DefinitionNode, NodeTypeInfo } from "../lib/types";

export interface WeftNodeData extends Record<string, unknown> {
  /** The definition's node, without its position (the canvas holds that). */
  node: DefinitionNode;
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

export function toFlow(definition: Definition): { meta: Meta; nodes: WeftNode[]; edges: WeftEdge[] } {
  const { nodes = [], edges = [], ...rest } = definition;
  const meta: Meta = { ...rest, name: definition.name };
  const placed = nodes.every((node) => node.position && Number.isFinite(node.position.x) && Number.isFinite(node.position.y));
  let flowNodes: WeftNode[] = nodes.map((node) => {
    const { position, ...rest } = node;
    return { id: node.id, type: "weft", position: position ?? { x: 0, y: 0 }, ariaLabel: nodeLabel(node), data: { node: rest } };
  });
  const flowEdges = edges.map(edgeToFlow);
  if (!placed) flowNodes = layout(flowNodes, flowEdges);
  return { meta, nodes: flowNodes, edges: flowEdges };
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

export function toDefinition(meta: Meta, nodes: WeftNode[], edges: WeftEdge[]): Definition {
  return {
    ...meta,
    nodes: nodes.map((node) => ({
      ...node.data.node,
      id: node.id,
      position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
    })),
    edges: edges.map((edge) => {
      const original = edge.data?.edge ?? { source: edge.source, target: edge.target };
      const { sourceHandle: _handle, ...rest } = original;
      void _handle;
      return {
        ...rest,
        source: edge.source,
        target: edge.target,
        ...(edge.sourceHandle ? { sourceHandle: edge.sourceHandle } : {}),
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

/** Left-to-right layout of the graph (dagre), keeping the nodes' identities. */
export function layout(nodes: WeftNode[], edges: WeftEdge[]): WeftNode[] {
  const placed = autoLayout(nodes.map((node) => ({ id: node.id, height: node.measured?.height ?? NODE_HEIGHT })), edges);
  return nodes.map((node) => (placed[node.id] ? { ...node, position: placed[node.id] } : node));
}

export const EMPTY_DEFINITION: Definition = {
  name: "",
  namespace: "default",
  description: "",
  nodes: [],
  edges: [],
};
