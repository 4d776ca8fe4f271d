import { createContext, useContext } from "react";
import type { PresenceEntry } from "../collaboration/people";
import type { NodeTypeInfo, Problem } from "../lib/types";

export interface DesignerContextValue {
  types: Map<string, NodeTypeInfo>;
  problemsByNode: Map<string, Problem[]>;
  /** Node ids marked by a version diff: added, changed (removed ones are shown as ghosts). */
  diffMarks: Map<string, "added" | "changed" | "removed">;
  /** Node ids selected by the others on the workflow (collaboration), with who they are. */
  selectedByOthers: Map<string, PresenceEntry[]>;
}

export const DesignerContext = createContext<DesignerContextValue>({
  types: new Map(), problemsByNode: new Map(), diffMarks: new Map(), selectedByOthers: new Map(),
});

export function useDesigner(): DesignerContextValue {
  return useContext(DesignerContext);
}
