import { createContext, useContext } from "react";
import type { NodeTypeInfo, Problem } from "../lib/types";

export interface DesignerContextValue {
  types: Map<string, NodeTypeInfo>;
  problemsByNode: Map<string, Problem[]>;
  /** Node ids marked by a version diff: added, changed (removed ones are shown as ghosts). */
  diffMarks: Map<string, "added" | "changed" | "removed">;
}

export const DesignerContext = createContext<DesignerContextValue>({
  types: new Map(), problemsByNode: new Map(), diffMarks: new Map(),
});

export function useDesigner(): DesignerContextValue {
  return useContext(DesignerContext);
}
