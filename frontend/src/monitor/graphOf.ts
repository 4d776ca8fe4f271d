// The graph a run executes: its version's definition, or, for an iteration of a Loop with
// an inline body, that body (found under the loop node the run belongs to, however deep).
import type { Definition, DefinitionEdge, DefinitionNode, ExecutionDetail } from "../lib/types";

interface Body {
  owner: string;
  nodes: DefinitionNode[];
  edges: DefinitionEdge[];
}

function bodies(nodes: DefinitionNode[], found: Body[] = []): Body[] {
  for (const node of nodes) {
    const body = node.data?.body as { nodes?: unknown; edges?: unknown } | undefined;
    if (body && Array.isArray(body.nodes)) {
      const inner = body.nodes as DefinitionNode[];
      found.push({ owner: node.id, nodes: inner, edges: Array.isArray(body.edges) ? body.edges as DefinitionEdge[] : [] });
      bodies(inner, found);
    }
  }
  return found;
}

export function graphOf(definition: Definition, detail: ExecutionDetail): Definition {
  if (detail.trigger !== "loop" || !detail.parent_node) return definition;
  const ran = new Set(detail.nodes.map((run) => run.node_id));
  const body = bodies(definition.nodes).find((candidate) => candidate.owner === detail.parent_node
    && [...ran].every((id) => candidate.nodes.some((node) => node.id === id)));
  return body ? { ...definition, nodes: body.nodes, edges: body.edges } : definition;
}
