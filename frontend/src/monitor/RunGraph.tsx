// The workflow's graph as the run sees it: read-only, each node coloured by its latest
// status (the status also written on it), the branches not taken drawn faint.
import {
  Background, Controls, Handle, MiniMap, Position, ReactFlow,
  type Edge, type Node, type NodeChange, type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import type { Definition } from "../lib/types";
import { NODE_HEIGHT, NODE_WIDTH, positions } from "./layout";

export interface NodeState {
  status: string;
  branch: string | null;
}

type RunNodeData = { label: string; nodeId: string; nodeType: string; status: string };
type RunFlowNode = Node<RunNodeData, "run">;

/** One node: its name, id and type, and its status as a word and a colour. */
function RunNode({ data, selected }: NodeProps<RunFlowNode>) {
  return (
    <div className={`run-node status-${data.status}${selected ? " selected" : ""}`}
      data-node-id={data.nodeId} data-status={data.status}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="run-node-name">{data.label}</div>
      <div className="run-node-meta"><code>{data.nodeId}</code> · {data.nodeType}</div>
      <div className="run-node-status">{statusText(data.status)}</div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const NODE_TYPES = { run: RunNode };

export function statusText(status: string): string {
  return status === "none" ? "not run" : status;
}

interface RunGraphProps {
  definition: Definition;
  states: Record<string, NodeState>;
  selected: string | null;
  onSelect: (nodeId: string) => void;
}

export function RunGraph({ definition, states, selected, onSelect }: RunGraphProps) {
  const placed = useMemo(() => positions(definition), [definition]);
  const nodes: RunFlowNode[] = definition.nodes.map((node) => {
    const status = states[node.id]?.status ?? "none";
    const label = typeof node.name === "string" && node.name ? node.name : node.id;
    return {
      id: node.id,
      type: "run",
      position: placed[node.id],
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      selected: node.id === selected,
      ariaLabel: `${label} (${node.type}): ${statusText(status)}`,
      data: { label, nodeId: node.id, nodeType: node.type, status },
    };
  });
  const edges: Edge[] = definition.edges.map((edge, index) => {
    const source = states[edge.source];
    const handle = typeof edge.sourceHandle === "string" && edge.sourceHandle ? edge.sourceHandle : null;
    const notTaken = handle !== null && source?.status === "completed" && source.branch !== null && source.branch !== handle;
    return {
      id: `${edge.source}-${edge.target}-${index}`,
      source: edge.source,
      target: edge.target,
      label: handle ?? undefined,
      className: notTaken ? "not-taken" : undefined,
      ariaLabel: `From ${edge.source} to ${edge.target}${handle ? ` when ${handle}` : ""}${notTaken ? " (not taken)" : ""}`,
    };
  });

  const select = (changes: NodeChange<RunFlowNode>[]) => {
    for (const change of changes) {
      if (change.type === "select" && change.selected) onSelect(change.id);
    }
  };

  return (
    <div className="run-graph" aria-label="The workflow's graph" role="region">
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={NODE_TYPES} onNodesChange={select}
        onNodeClick={(_, node) => onSelect(node.id)}
        nodesDraggable={false} nodesConnectable={false} edgesFocusable={false} deleteKeyCode={null}
        fitView fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }} minZoom={0.2}
        proOptions={{ hideAttribution: true }}>
        <Background />
        <MiniMap pannable zoomable ariaLabel="Overview of the graph"
          nodeClassName={(node) => `minimap-node status-${(node.data as RunNodeData).status}`} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
