// What changed between two definitions, applied to what the canvas shows: a remote edit of
// the shared draft, an undo, or an edit of the text view. Only the nodes, edges and fields
// that changed are replaced, so the canvas keeps everything else: selections, measured
// sizes, a node being dragged, a change of its own not yet written.
import { sameJson } from "../collaboration/draftDoc";
import type { Definition, DefinitionEdge, DefinitionNode } from "../lib/types";
import { edgeLabel, edgeToFlow, layout, nodeToFlow, placedAt, type Meta, type WeftEdge, type WeftNode } from "./model";

function byId(nodes: DefinitionNode[] | undefined): Map<string, DefinitionNode> {
  return new Map((nodes ?? []).map((node) => [node.id, node]));
}

function byLabel(edges: DefinitionEdge[] | undefined): Map<string, DefinitionEdge> {
  return new Map((edges ?? []).map((edge) => [edgeLabel(edge), edge]));
}

function changed<T>(before: Map<string, T>, after: Map<string, T>, key: string): boolean {
  return !before.has(key) || !sameJson(before.get(key), after.get(key));
}

/** The workflow's fields (all but the graph) with those that changed from `before` to
 * `after` taken from `after`; `current` itself when none did. */
export function patchMeta(current: Meta, before: Definition, after: Definition): Meta {
  const { nodes: _nodes, edges: _edges, ...old } = before;
  const { nodes: _newNodes, edges: _newEdges, ...fresh } = after;
  void _nodes; void _edges; void _newNodes; void _newEdges;
  const keys = new Set([...Object.keys(old), ...Object.keys(fresh)]);
  const entries = Object.entries(current);
  let touched = false;
  for (const key of keys) {
    if (sameJson(old[key], fresh[key])) continue;
    touched = true;
    const at = entries.findIndex(([name]) => name === key);
    if (at >= 0) entries.splice(at, 1);
    if (Object.hasOwn(fresh, key) && fresh[key] !== undefined) entries.push([key, fresh[key]]);
  }
  return touched ? (Object.fromEntries(entries) as Meta) : current;
}

/** The canvas's nodes with the nodes that changed from `before` to `after` replaced, the
 * removed removed and the added added; `current` itself when none did. */
export function patchNodes(current: WeftNode[], before: Definition, after: Definition): WeftNode[] {
  const old = byId(before.nodes);
  const fresh = byId(after.nodes);
  let touched = false;
  const result: WeftNode[] = [];
  const shown = new Set<string>();
  for (const node of current) {
    shown.add(node.id);
    const now = fresh.get(node.id);
    if (now === undefined) {
      if (old.has(node.id)) touched = true;  // removed; else one of this page's, not written yet
      else result.push(node);
      continue;
    }
    if (!changed(old, fresh, node.id)) {
      result.push(node);
      continue;
    }
    touched = true;
    const next = nodeToFlow(now);
    // a node being dragged stays under the pointer; one without a position where it is drawn
    const keep = node.dragging || placedAt(now) === null;
    result.push({ ...node, ariaLabel: next.ariaLabel, data: next.data, position: keep ? node.position : next.position });
  }
  const added: WeftNode[] = [];
  for (const [id, now] of fresh) {
    if (!shown.has(id) && changed(old, fresh, id)) added.push(nodeToFlow(now));
  }
  if (added.length === 0) return touched ? result : current;
  const unplaced = new Set(added.filter((node) => node.data.laidOut).map((node) => node.id));
  const all = [...result, ...added];
  if (unplaced.size === 0) return all;
  const laid = new Map(layout(all, (after.edges ?? []).map(edgeToFlow)).map((node) => [node.id, node.position]));
  return all.map((node) => (unplaced.has(node.id) ? { ...node, position: laid.get(node.id) ?? node.position } : node));
}

/** The canvas's edges with those that changed from `before` to `after` replaced, removed or
 * added (an edge's identity is its label); `current` itself when none did. */
export function patchEdges(current: WeftEdge[], before: Definition, after: Definition): WeftEdge[] {
  const old = byLabel(before.edges);
  const fresh = byLabel(after.edges);
  let touched = false;
  const result: WeftEdge[] = [];
  const shown = new Set<string>();
  for (const edge of current) {
    shown.add(edge.id);
    const now = fresh.get(edge.id);
    if (now === undefined) {
      if (old.has(edge.id)) touched = true;
      else result.push(edge);
    } else if (changed(old, fresh, edge.id)) {
      touched = true;
      result.push({ ...edgeToFlow(now), selected: edge.selected });
    } else {
      result.push(edge);
    }
  }
  for (const [label, now] of fresh) {
    if (!shown.has(label) && changed(old, fresh, label)) {
      touched = true;
      result.push(edgeToFlow(now));
    }
  }
  return touched ? result : current;
}
