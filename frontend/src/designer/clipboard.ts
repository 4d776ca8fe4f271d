// Copy and paste of nodes (with the edges between them), also across tabs.
import type { DefinitionEdge, DefinitionNode } from "../lib/types";
import { freshId } from "./model";

const KEY = "weft:clipboard";

export interface Clip {
  nodes: (DefinitionNode & { position: { x: number; y: number } })[];
  edges: DefinitionEdge[];
}

export function clipStore(clip: Clip): void {
  window.localStorage.setItem(KEY, JSON.stringify(clip));
}

export function clipLoad(): Clip | null {
  try {
    const text = window.localStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Clip) : null;
  } catch {
    return null;
  }
}

/** The clip's nodes with ids not yet taken and moved aside, and its edges renamed to match. */
export function clipPlace(clip: Clip, taken: Set<string>, offset = 40): Clip {
  const renamed = new Map<string, string>();
  const ids = new Set(taken);
  for (const node of clip.nodes) {
    const id = ids.has(node.id) ? freshId(node.id.replace(/_\d+$/, ""), ids) : node.id;
    ids.add(id);
    renamed.set(node.id, id);
  }
  return {
    nodes: clip.nodes.map((node) => ({ ...node, id: renamed.get(node.id)!, position: { x: node.position.x + offset, y: node.position.y + offset } })),
    edges: clip.edges.map((edge) => ({ ...edge, source: renamed.get(edge.source)!, target: renamed.get(edge.target)! })),
  };
}
