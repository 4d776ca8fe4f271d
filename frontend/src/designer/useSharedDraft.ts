// The designer's side of a saved workflow's shared draft (docs/ui.md, "Editing together"):
// the document and its connection while a workflow id is set, its changes made by others (and
// by undo) handed to the canvas, the canvas's own changes written into it key by key, undo and
// redo of this page's own edits.
import { useCallback, useEffect, useRef, useState } from "react";
import type { Transaction } from "yjs";
import { LOCAL_ORIGIN, applyDefinition, docToDefinition, draftOpen, sameDefinition, type DraftLink, type DraftSession } from "../collaboration/draftDoc";
import type { Definition } from "../lib/types";

export interface SharedDraft {
  /** Whether the page edits a shared draft (a saved workflow) rather than a local one. */
  active: boolean;
  /** The draft arrived from the server at least once: the canvas shows it and may change it. */
  ready: boolean;
  link: DraftLink | null;
  canUndo: boolean;
  canRedo: boolean;
  undo: () => void;
  redo: () => void;
  /** Ends an undo step: the next edit starts another. */
  stopCapturing: () => void;
  /** Writes into the draft what the canvas changed since the draft was last read. */
  write: (definition: Definition) => void;
  /** The draft as last read, null before it arrived. */
  current: () => Definition | null;
  /** Edits made while the connection was down, not yet sent. */
  offlineEdits: boolean;
  /** Waits until the server has stored this page's edits; false without a connection. */
  settled: () => Promise<boolean>;
}

interface Options {
  editable: boolean;
  /** The draft changed by someone else, or by undo or redo: from `before` (null: the first
   * time) to `after`. */
  onChange: (before: Definition | null, after: Definition) => void;
  onRefused: (reason: string) => void;
}

export function useSharedDraft(workflowId: string | null, { editable, onChange, onRefused }: Options): SharedDraft {
  const [link, setLink] = useState<DraftLink | null>(null);
  const [ready, setReady] = useState(false);
  const [stacks, setStacks] = useState({ canUndo: false, canRedo: false });
  const [offlineEdits, setOfflineEdits] = useState(false);
  const session = useRef<DraftSession | null>(null);
  const last = useRef<Definition | null>(null);
  const handlers = useRef({ onChange, onRefused });
  handlers.current = { onChange, onRefused };
  // A refused edit stays in this page's copy only: the draft is opened again, as the server has it.
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (!workflowId) return;
    let live = false;
    const opened = draftOpen(workflowId, {
      editable,
      onLink: (next) => {
        live = next.state === "live";
        if (live) {
          setReady(true);
          setOfflineEdits(false);
        }
        setLink(next);
      },
      onRefused: (reason) => {
        handlers.current.onRefused(reason);
        setGeneration((value) => value + 1);
      },
    });
    session.current = opened;
    const { doc, undo } = opened;
    const onTransaction = (transaction: Transaction) => {
      if (transaction.changed.size === 0) return;
      const after = docToDefinition(doc);
      const before = last.current;
      if (before !== null && sameDefinition(before, after)) return;
      last.current = after;
      if (transaction.origin === LOCAL_ORIGIN) {
        if (!live) setOfflineEdits(true);
        return;
      }
      handlers.current.onChange(before, after);
    };
    doc.on("afterTransaction", onTransaction);
    const onStacks = () => setStacks({ canUndo: undo?.canUndo() ?? false, canRedo: undo?.canRedo() ?? false });
    undo?.on("stack-item-added", onStacks);
    undo?.on("stack-item-popped", onStacks);
    undo?.on("stack-cleared", onStacks);
    return () => {
      doc.off("afterTransaction", onTransaction);
      opened.close();
      session.current = null;
      last.current = null;
      setReady(false);
      setLink(null);
      setStacks({ canUndo: false, canRedo: false });
    };
  }, [workflowId, editable, generation]);

  const write = useCallback((definition: Definition) => {
    const opened = session.current;
    if (opened && last.current !== null) applyDefinition(opened.doc, last.current, definition, LOCAL_ORIGIN);
  }, []);
  const undo = useCallback(() => { session.current?.undo?.undo(); }, []);
  const redo = useCallback(() => { session.current?.undo?.redo(); }, []);
  const stopCapturing = useCallback(() => { session.current?.undo?.stopCapturing(); }, []);
  const current = useCallback(() => last.current, []);
  const settled = useCallback(() => session.current?.settled() ?? Promise.resolve(false), []);

  return {
    active: workflowId !== null, ready, link, ...stacks, undo, redo, stopCapturing, write, current, offlineEdits, settled,
  };
}
