import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { colourClass } from "../collaboration/people";
import { useDesigner } from "./context";
import { branchHandles, type WeftNode } from "./model";

/** A node on the canvas: its label and type, its problems, its input and branch handles. */
function CanvasNodeView({ id, data, selected }: NodeProps<WeftNode>) {
  const { types, problemsByNode, diffMarks, selectedByOthers } = useDesigner();
  const info = types.get(data.node.type);
  const problems = problemsByNode.get(id) ?? [];
  const errors = problems.filter((problem) => problem.severity === "error");
  const handles = branchHandles(data.node, info);
  const mark = diffMarks.get(id);
  // outlined in the colour of the first of the others who has it selected, all of them named
  const holders = selectedByOthers.get(id);
  const classes = ["canvas-node", info?.category ?? "unknown", selected ? "selected" : "",
    errors.length ? "has-errors" : "", mark ? `diff-${mark}` : "",
    holders ? `selected-by-other ${colourClass(holders[0].user)}` : ""].filter(Boolean).join(" ");
  return (
    <div className={classes} data-node-id={id} data-testid={`node-${id}`}
      title={errors.map((problem) => problem.message).join("\n") || undefined}>
      <Handle type="target" position={Position.Left} />
      <div className="canvas-node-label">{data.node.name || id}</div>
      <div className="canvas-node-type">{data.node.type}{data.node.name ? ` · ${id}` : ""}</div>
      {errors.length > 0 && <div className="canvas-node-problems" role="img" aria-label={`${errors.length} problem(s)`}>{errors.length}</div>}
      {mark && <div className="canvas-node-diff">{mark}</div>}
      {holders && (
        <div className="canvas-node-others">selected by {holders.map((holder) => holder.username).join(", ")}</div>
      )}
      {handles.length === 0 ? (
        <Handle type="source" position={Position.Right} />
      ) : (
        <div className="canvas-node-branches">
          {handles.map((handle) => (
            <div className="canvas-node-branch" key={handle}>
              <span>{handle}</span>
              <Handle type="source" position={Position.Right} id={handle} data-handle={handle} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export const CanvasNode = memo(CanvasNodeView);
