import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, addEdge, applyEdgeChanges, applyNodeChanges,
  useReactFlow, useStore, type Connection, type EdgeChange, type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Avatars } from "../collaboration/Avatars";
import { sameDefinition } from "../collaboration/draftDoc";
import { selectionsByNode, type PresenceFrame } from "../collaboration/people";
import { usePresence } from "../collaboration/presence";
import { RemotePointers } from "../collaboration/RemotePointers";
import { Notice, errorText } from "../components/Notice";
import { ApiError, api, load } from "../lib/api";
import { may, pageProps, type PageProps } from "../lib/props";
import type { Definition, DefinitionNode, JsonSchema, NodeTypeInfo, Problem, ValidationReport, WorkflowDetail } from "../lib/types";
import { CanvasNode } from "./CanvasNode";
import { clipLoad, clipPlace, clipStore } from "./clipboard";
import { CodeView } from "./CodeView";
import { DesignerContext } from "./context";
import { draftDrop, draftLoad, draftStore } from "./draft";
import { DraftStatus } from "./DraftStatus";
import { record, redo as historyRedo, undo as historyUndo, type History, type Snapshot } from "./history";
import {
  EMPTY_DEFINITION, edgeToFlow, freshId, layout, nodeLabel, rounded, settle, toDefinition, toFlow, type Meta, type WeftEdge, type WeftNode,
} from "./model";
import { DRAG_TYPE, Palette } from "./Palette";
import { patchEdges, patchMeta, patchNodes } from "./patch";
import { PropertyPanel } from "./PropertyPanel";
import { draftPath, draftPublish, eventText, publishedText, refusedReport, type DraftState } from "./publish";
import { SaveDialog } from "./SaveDialog";
import { SettingsPanel } from "./SettingsPanel";
import { useSharedDraft } from "./useSharedDraft";
import { VersionsPanel, type Diff } from "./VersionsPanel";
import { RunDialog } from "../runs/RunDialog";
import "./designer.css";

// Props of the canvas that never change, made once: React Flow copies every changed prop
// into its store, which every node and edge on the canvas listens to.
const NODE_TYPES = { weft: CanvasNode };
const DELETE_KEYS = ["Delete", "Backspace"];
const MULTI_SELECT_KEYS = ["Meta", "Control"];
const PRO_OPTIONS = { hideAttribution: true };
const NO_PROBLEMS: Problem[] = [];
const VALIDATE_DELAY = 400;
// Below this zoom a node's text is a few pixels tall and cannot be read: the canvas leaves
// it unpainted (the boxes, their colours, handles and problem badges stay), which keeps a
// drag smooth on a large workflow seen whole.
const FAR_ZOOM = 0.3;
const isFar = (state: { transform: [number, number, number] }) => state.transform[2] < FAR_ZOOM;

type Tab = "properties" | "workflow" | "versions" | "code";

export function Designer({ props }: { props: PageProps }) {
  return (
    <ReactFlowProvider>
      <DesignerPage props={props} />
    </ReactFlowProvider>
  );
}

function DesignerPage({ props }: { props: PageProps }) {
  const canWrite = may("write");
  const [workflowId, setWorkflowId] = useState<string | null>(props.workflowId ?? null);
  const [workflow, setWorkflow] = useState<WorkflowDetail | null>(null);
  const [types, setTypes] = useState<NodeTypeInfo[]>([]);
  const [secrets, setSecrets] = useState<string[]>([]);
  const [meta, setMeta] = useState<Meta>(toFlow(EMPTY_DEFINITION).meta);
  const [nodes, setNodes] = useState<WeftNode[]>([]);
  const [edges, setEdges] = useState<WeftEdge[]>([]);
  const [history, setHistory] = useState<History>({ past: [], future: [] });
  const [report, setReport] = useState<ValidationReport | null>(null);
  const [tab, setTab] = useState<Tab>("workflow");
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<{ kind: "ok" | "warn" | "error"; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  // a new workflow's changes not saved yet (a saved one's are in its shared draft at once)
  const [dirty, setDirty] = useState(false);
  const [comparing, setComparing] = useState<{ diff: Diff; marks: Map<string, "added" | "changed" | "removed"> } | null>(null);
  const [saveOpen, setSaveOpen] = useState(false);
  const [runOpen, setRunOpen] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const flow = useReactFlow<WeftNode, WeftEdge>();
  const far = useStore(isFar);
  const wrapper = useRef<HTMLDivElement>(null);

  const typeMap = useMemo(() => new Map(types.map((type) => [type.name, type])), [types]);
  // The definition follows the nodes' content, not every frame of a drag: `revision` moves
  // on each change that matters (a drag's end, an edit, an addition, a removal).
  const nodesNow = useRef(nodes);
  nodesNow.current = nodes;
  const [revision, setRevision] = useState(0);
  const changeNodes = useCallback((update: WeftNode[] | ((current: WeftNode[]) => WeftNode[])) => {
    setNodes(update);
    setRevision((value) => value + 1);
  }, []);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const definition = useMemo(() => toDefinition(meta, nodesNow.current, edges), [meta, edges, revision]);
  const definitionNow = useRef(definition);
  definitionNow.current = definition;

  // --- loading ------------------------------------------------------------------------------
  useEffect(() => {
    api<NodeTypeInfo[]>("nodes/types").then(setTypes, (failure) => setLoadError(errorText(failure)));
    if (canWrite) {
      api<{ results: { name: string }[] }>("secrets?page_size=500").then(
        (page) => setSecrets(page.results.map((secret) => secret.name)), () => setSecrets([]));
    }
  }, [canWrite]);

  // `useReactFlow()` hands out a new object once the canvas has mounted: `show` reads it
  // through a ref so that it stays the same function and the load below runs only once.
  const flowNow = useRef(flow);
  flowNow.current = flow;
  const show = useCallback((value: Definition, fitLater = true) => {
    const next = toFlow(value);
    setMeta(next.meta);
    changeNodes(next.nodes);
    setEdges(next.edges);
    if (fitLater) window.requestAnimationFrame(() => flowNow.current.fitView({ padding: 0.2, duration: 0 }));
  }, [changeNodes]);
  /** What changed from `before` to `after` onto the canvas, keeping everything else. */
  const patch = useCallback((before: Definition, after: Definition) => {
    setMeta((current) => patchMeta(current, before, after));
    changeNodes((current) => patchNodes(current, before, after));
    setEdges((current) => patchEdges(current, before, after));
  }, [changeNodes]);

  // --- the shared draft of a saved workflow ----------------------------------------------
  const comparingNow = useRef(comparing);
  comparingNow.current = comparing;
  // Whether the canvas shows the workflow already (the draft, or the new workflow just saved):
  // the draft then comes onto it as a change, keeping the view and the selection.
  const drawn = useRef(false);
  const onDraftChange = useCallback((before: Definition | null, after: Definition) => {
    if (comparingNow.current) return;  // the draft is shown again when the comparison ends
    if (!drawn.current) {
      drawn.current = true;
      show(after);
      return;
    }
    patch(before ?? definitionNow.current, after);
  }, [show, patch]);
  const onRefused = useCallback((reason: string) => {
    setNotice({ kind: "error", text: `Your last change was not kept: ${reason} The draft is shown as the server has it.` });
  }, []);
  const shared = useSharedDraft(workflowId, { editable: canWrite, onChange: onDraftChange, onRefused });
  const readOnly = !canWrite || comparing !== null || (shared.active && !shared.ready);
  useEffect(() => {
    if (shared.ready && canWrite && comparing === null) shared.write(definition);
  }, [definition, shared.ready, shared.write, canWrite, comparing]);
  const unpublished = useMemo(() => shared.ready && comparing === null && workflow !== null && !sameDefinition(definition, workflow.definition),
    [shared.ready, comparing, workflow, definition]);

  // The draft's problems, as the server finds them after each edit (`draft.problems`), or
  // read with the draft when a connection opens: the newest wins.
  const reportSeq = useRef(-1);
  const takeReport = useCallback((seq: number, next: ValidationReport) => {
    if (seq < reportSeq.current) return;
    reportSeq.current = seq;
    setReport(next);
  }, []);
  const refreshWorkflow = useCallback(() => {
    if (workflowId) api<WorkflowDetail>(`workflows/${workflowId}`).then(setWorkflow, () => undefined);
  }, [workflowId]);
  const me = pageProps().user.username;
  const onFrame = useCallback((frame: PresenceFrame) => {
    if (frame.type === "draft.problems") {
      takeReport(frame.seq, frame.report);
    } else if (frame.type === "event") {
      if (frame.event.kind === "published" || frame.event.kind === "edited") refreshWorkflow();
      const text = eventText(frame.event, me);
      if (text) setNotice({ kind: frame.event.kind === "edited" ? "warn" : "ok", text });
    }
  }, [takeReport, refreshWorkflow, me]);
  const presence = usePresence(workflowId, onFrame);
  const bothLive = shared.link?.state === "live" && presence.link === "live";
  useEffect(() => {
    if (!workflowId || !bothLive) return;
    return load<DraftState>(draftPath(workflowId), (draft) => takeReport(draft.seq, draft.report));
  }, [workflowId, bothLive, takeReport]);

  useEffect(() => {
    // A saved workflow: its version from the API, its content from the shared draft (above).
    if (props.workflowId) {
      setTab("properties");
      return load<WorkflowDetail>(`workflows/${props.workflowId}`, (server) => {
        setWorkflow(server);
        setLoaded(true);
      }, (failure) => setLoadError(errorText(failure)));
    }
    const draft = canWrite ? draftLoad() : null;
    if (draft && JSON.stringify(draft.definition) !== JSON.stringify(EMPTY_DEFINITION)) {
      show(draft.definition);
      setDirty(true);
      setNotice({ kind: "warn", text: "Your unsaved changes were restored." });
    } else {
      show(EMPTY_DEFINITION);
    }
    setTab("workflow");
    setLoaded(true);
  }, [props.workflowId, canWrite, show]);

  // --- a new workflow's unsaved state, and its validation ------------------------------------
  const pendingDraft = useRef<(() => void) | null>(null);
  useEffect(() => {
    if (!loaded || !dirty || !canWrite || workflowId) return;
    const store = () => {
      pendingDraft.current = null;
      draftStore({ definition, savedAt: Date.now() });
    };
    pendingDraft.current = store;
    const timer = window.setTimeout(store, 300);
    return () => window.clearTimeout(timer);
  }, [definition, dirty, loaded, workflowId, canWrite]);
  useEffect(() => {
    // A reload or a closed tab within the debounce still keeps the last edit.
    const flush = () => pendingDraft.current?.();
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, []);

  useEffect(() => {
    if (!loaded || comparing || shared.active) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      api<ValidationReport>("workflows/validate", { body: { definition: withName(definition) }, signal: controller.signal })
        .then(setReport, (failure) => {
          if (!controller.signal.aborted && failure instanceof ApiError) {
            const details = failure.details as Partial<ValidationReport>;
            setReport({ valid: false, errors: details.errors ?? [{ code: failure.code, message: failure.message, severity: "error" }], warnings: details.warnings ?? [] });
          }
        });
    }, VALIDATE_DELAY);
    return () => { controller.abort(); window.clearTimeout(timer); };
  }, [definition, loaded, comparing, shared.active]);

  const problems = useMemo(() => [...(report?.errors ?? []), ...(report?.warnings ?? [])], [report]);
  const problemsByNode = useMemo(() => {
    const map = new Map<string, Problem[]>();
    for (const problem of problems) if (problem.node) map.set(problem.node, [...(map.get(problem.node) ?? []), problem]);
    return map;
  }, [problems]);
  const edgeProblems = useMemo(() => new Set(problems.filter((problem) => problem.edge).map((problem) => problem.edge!)), [problems]);

  // --- changes with history --------------------------------------------------------------
  const current = useRef({ meta, edges });
  current.current = { meta, edges };
  const snapshot = useCallback((): Snapshot => ({ ...current.current, nodes: nodesNow.current }), []);
  const lastRecord = useRef<{ key: string; at: number }>({ key: "", at: 0 });
  const sharedNow = useRef(shared);
  sharedNow.current = shared;
  /** Marks the start of an action that undo takes back as one step; edits of one `key`
   * within a second (typing in a field) are one step. */
  const remember = useCallback((key = "", coalesce = false) => {
    const now = Date.now();
    if (coalesce && lastRecord.current.key === key && now - lastRecord.current.at < 1000) {
      lastRecord.current.at = now;
      return;
    }
    lastRecord.current = { key, at: now };
    if (sharedNow.current.active) {
      sharedNow.current.stopCapturing();
      return;
    }
    setHistory((current) => record(current, snapshot()));
    setDirty(true);
  }, [snapshot]);

  const restore = (state: Snapshot) => {
    setMeta(state.meta);
    changeNodes(state.nodes);
    setEdges(state.edges);
    setDirty(true);
  };
  // A saved workflow's undo takes back this page's own changes of the draft, not the others'.
  const undo = () => {
    if (shared.active) { shared.undo(); return; }
    const step = historyUndo(history, snapshot());
    if (step) { setHistory(step[0]); restore(step[1]); }
  };
  const redo = () => {
    if (shared.active) { shared.redo(); return; }
    const step = historyRedo(history, snapshot());
    if (step) { setHistory(step[0]); restore(step[1]); }
  };
  const canUndo = shared.active ? shared.canUndo : history.past.length > 0;
  const canRedo = shared.active ? shared.canRedo : history.future.length > 0;

  const onNodesChange = useCallback((changes: NodeChange<WeftNode>[]) => {
    if (readOnly) {
      setNodes((current) => applyNodeChanges(changes.filter((change) => change.type === "select" || change.type === "dimensions"), current));
      return;
    }
    if (changes.some((change) => change.type === "remove")) remember();
    // A drag changes the definition once, where it ends, in whole pixels.
    const placed = changes.some((change) => change.type === "position" && !change.dragging && change.position);
    const settled = placed || changes.some((change) => change.type === "remove" || change.type === "add" || change.type === "replace");
    const final = placed ? changes.map((change) => (change.type === "position" && !change.dragging && change.position
      ? { ...change, position: rounded(change.position) } : change)) : changes;
    (settled ? changeNodes : setNodes)((current) => (placed ? settle(applyNodeChanges(final, current)) : applyNodeChanges(final, current)));
    if (settled) setDirty(true);
  }, [readOnly, remember, changeNodes]);

  const onEdgesChange = useCallback((changes: EdgeChange<WeftEdge>[]) => {
    if (readOnly) {
      setEdges((current) => applyEdgeChanges(changes.filter((change) => change.type === "select"), current));
      return;
    }
    if (changes.some((change) => change.type === "remove")) remember();
    setEdges((current) => applyEdgeChanges(changes, current));
  }, [readOnly, remember]);

  const onConnect = useCallback((connection: Connection) => {
    if (readOnly || connection.source === connection.target) return;
    remember();
    const edge = edgeToFlow({
      source: connection.source, target: connection.target,
      ...(connection.sourceHandle ? { sourceHandle: connection.sourceHandle } : {}),
    });
    setEdges((current) => (current.some((existing) => existing.id === edge.id) ? current : addEdge(edge, current)));
  }, [readOnly, remember]);

  const onNodeDragStart = useCallback(() => remember(), [remember]);
  const onNodeClick = useCallback(() => setTab("properties"), []);

  const addNode = useCallback((type: string, position?: { x: number; y: number }) => {
    if (readOnly) return;
    remember();
    const id = freshId(type, new Set(nodesNow.current.map((node) => node.id)));
    const at = rounded(position ?? flow.screenToFlowPosition({
      x: (wrapper.current?.getBoundingClientRect().left ?? 0) + (wrapper.current?.clientWidth ?? 600) / 2,
      y: (wrapper.current?.getBoundingClientRect().top ?? 0) + (wrapper.current?.clientHeight ?? 400) / 2,
    }));
    changeNodes((current) => settle([
      ...current.map((node) => (node.selected ? { ...node, selected: false } : node)),
      { id, type: "weft", position: at, selected: true, ariaLabel: nodeLabel({ id, type }), data: { node: { id, type, data: {} } } },
    ]));
    setTab("properties");
  }, [readOnly, remember, flow, changeNodes]);

  const updateNode = useCallback((id: string, node: DefinitionNode) => {
    remember(`node:${id}`, true);
    changeNodes((current) => current.map((existing) => (existing.id === id ? { ...existing, ariaLabel: nodeLabel({ ...node, id }), data: { ...existing.data, node: { ...node, id } } } : existing)));
  }, [remember, changeNodes]);

  const renameNode = useCallback((from: string, to: string): string | null => {
    if (!/^[a-z][a-z0-9_]*$/.test(to)) return "An id starts with a letter and holds lower-case letters, digits and _.";
    if (nodesNow.current.some((node) => node.id === to)) return `Another node is called ${to}.`;
    remember();
    changeNodes((current) => current.map((node) => (node.id === from ? { ...node, id: to, ariaLabel: nodeLabel({ ...node.data.node, id: to }), data: { ...node.data, node: { ...node.data.node, id: to } } } : node)));
    setEdges((current) => current.map((edge) => {
      if (edge.source !== from && edge.target !== from) return edge;
      const source = edge.source === from ? to : edge.source;
      const target = edge.target === from ? to : edge.target;
      return edgeToFlow({ ...(edge.data?.edge ?? {}), source, target, ...(edge.sourceHandle ? { sourceHandle: edge.sourceHandle } : {}) });
    }));
    return null;
  }, [remember, changeNodes]);

  const autoLayout = () => {
    if (readOnly) return;
    remember();
    changeNodes((current) => settle(layout(current, edges)));
    window.requestAnimationFrame(() => flow.fitView({ padding: 0.2 }));
  };

  const copy = () => {
    const chosen = nodes.filter((node) => node.selected);
    if (chosen.length === 0) return;
    const ids = new Set(chosen.map((node) => node.id));
    const copied = toDefinition(meta, settle(chosen), edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target)));
    clipStore({ nodes: copied.nodes.map((node) => ({ ...node, position: node.position ?? { x: 0, y: 0 } })), edges: copied.edges });
  };

  const paste = () => {
    const clip = clipLoad();
    if (!clip || readOnly) return;
    remember();
    const placed = clipPlace(clip, new Set(nodes.map((node) => node.id)));
    const flowNodes = toFlow({ ...meta, nodes: placed.nodes, edges: placed.edges });
    changeNodes((current) => settle([...current.map((node) => ({ ...node, selected: false })), ...flowNodes.nodes.map((node) => ({ ...node, selected: true }))]));
    setEdges((current) => [...current, ...flowNodes.edges]);
  };

  // --- keyboard --------------------------------------------------------------------------
  const selectAll = () => {
    setNodes((current) => current.map((node) => (node.selected ? node : { ...node, selected: true })));
    setEdges((current) => current.map((edge) => (edge.selected ? edge : { ...edge, selected: true })));
  };
  const keys = useRef({ undo, redo, copy, paste, selectAll, save: () => setSaveOpen(true) });
  keys.current = { undo, redo, copy, paste, selectAll, save: () => setSaveOpen(true) };
  const readOnlyNow = useRef(readOnly);
  readOnlyNow.current = readOnly;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      const typing = target.closest("input, textarea, select, [contenteditable]") !== null;
      const mod = event.ctrlKey || event.metaKey;
      if (!mod) return;
      const key = event.key.toLowerCase();
      if (key === "s") { event.preventDefault(); if (canWrite && !comparing) keys.current.save(); return; }
      if (typing) return;
      if (key === "z" && !event.shiftKey) { event.preventDefault(); if (!readOnlyNow.current) keys.current.undo(); }
      else if ((key === "z" && event.shiftKey) || key === "y") { event.preventDefault(); if (!readOnlyNow.current) keys.current.redo(); }
      else if (key === "a") { event.preventDefault(); keys.current.selectAll(); }
      else if (key === "c") keys.current.copy();
      else if (key === "v") { event.preventDefault(); keys.current.paste(); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [canWrite, comparing]);

  // Leaving asks first while changes exist only in this page: a new workflow's, or a saved
  // one's made while the connection was down.
  const unsent = canWrite && (shared.active ? shared.offlineEdits : dirty);
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => { if (unsent) event.preventDefault(); };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [unsent]);

  // --- saving a new workflow, publishing a saved one's draft ----------------------------
  async function save(changeNote: string) {
    setSaving(true);
    try {
      const saved = await api<WorkflowDetail>("workflows", { body: { definition, change_note: changeNote } });
      pendingDraft.current = null;
      draftDrop();
      // from now on the canvas edits the workflow's shared draft, made from this version
      drawn.current = true;
      setWorkflow(saved);
      setDirty(false);
      setHistory({ past: [], future: [] });
      setSaveOpen(false);
      setNotice({ kind: "ok", text: `Saved as version ${saved.version}.` });
      setWorkflowId(saved.id);
      window.history.replaceState(null, "", `/workflows/${saved.id}/`);
    } catch (failure) {
      setSaveOpen(false);
      if (failure instanceof ApiError && failure.details.errors) {
        setReport({ valid: false, errors: failure.details.errors as Problem[], warnings: (failure.details.warnings ?? []) as Problem[] });
      }
      setNotice({ kind: "error", text: `Not saved: ${errorText(failure)}` });
    } finally {
      setSaving(false);
    }
  }

  async function publish(changeNote: string) {
    if (!workflowId) return;
    setSaving(true);
    try {
      // the version is made from the draft the server holds: this page's last edits first
      const sent = await shared.settled();
      const published = await draftPublish(workflowId, changeNote);
      const missing = sent || !shared.offlineEdits ? "" : " Your changes made while the connection was down are not in it yet: publish again once it is back.";
      setNotice(published.version === null
        ? { kind: "ok", text: `Nothing to publish: the draft holds what version ${workflow?.version ?? ""} holds.${missing}` }
        : { kind: "ok", text: `${publishedText(published)}${missing}` });
      refreshWorkflow();
    } catch (failure) {
      const refused = refusedReport(failure);
      if (refused) setReport(refused);
      setNotice({ kind: "error", text: `Not published: ${errorText(failure)}` });
    } finally {
      setSaveOpen(false);
      setSaving(false);
    }
  }

  // --- comparing versions ----------------------------------------------------------------
  const compare = (diff: Diff, from: Definition, to: Definition) => {
    const marks = new Map<string, "added" | "changed" | "removed">();
    for (const id of diff.nodes.added) marks.set(id, "added");
    for (const item of diff.nodes.changed) marks.set(item.id, "changed");
    for (const id of diff.nodes.removed) marks.set(id, "removed");
    const ghosts = from.nodes.filter((node) => diff.nodes.removed.includes(node.id));
    const ghostEdges = from.edges.filter((edge) => diff.nodes.removed.includes(edge.source) || diff.nodes.removed.includes(edge.target));
    setComparing({ diff, marks });
    show({ ...to, nodes: [...to.nodes, ...ghosts], edges: [...to.edges, ...ghostEdges] });
  };
  const stopComparing = () => {
    setComparing(null);
    const draft = shared.current();
    if (draft) show(draft);
  };
  const restoreVersion = (number: number, old: Definition) => {
    setComparing(null);
    remember();
    show({ ...old, name: meta.name, namespace: meta.namespace });
    setNotice({ kind: "warn", text: `Version ${number} is in the draft, for everyone editing it; publish to make it the next version.` });
  };

  // --- rendering -------------------------------------------------------------------------
  const selectedNodes = nodes.filter((node) => node.selected);
  const selected = selectedNodes.length === 1 ? selectedNodes[0] : null;
  const selectedId = selected?.id ?? null;

  // --- presence: what the others on this workflow see of this page --------------------------
  const { setSelection, setStatus, movePointer } = presence;
  const selectionKey = JSON.stringify(selectedNodes.map((node) => node.id));
  useEffect(() => setSelection(JSON.parse(selectionKey) as string[]), [selectionKey, setSelection]);
  const activity = comparing ? `comparing v${comparing.diff.from} and v${comparing.diff.to}`
    : selectedId ? `${readOnly ? "reading" : "editing"} ${selectedId}` : "";
  useEffect(() => {
    const tell = () => setStatus(document.visibilityState === "hidden" ? "away" : "online", activity);
    tell();
    document.addEventListener("visibilitychange", tell);
    return () => document.removeEventListener("visibilitychange", tell);
  }, [activity, setStatus]);
  const onPointerMove = (event: { clientX: number; clientY: number }) =>
    movePointer(flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  const upstream = useMemo(() => (selectedId ? ancestors(selectedId, edges) : []), [selectedId, edges]);
  const onSelectedChange = useCallback((node: DefinitionNode) => { if (selectedId) updateNode(selectedId, node); }, [selectedId, updateNode]);
  const onSelectedRename = useCallback((to: string) => (selectedId ? renameNode(selectedId, to) : null), [selectedId, renameNode]);
  const selectedProblems = useMemo(() => (selectedId ? problemsByNode.get(selectedId) ?? NO_PROBLEMS : NO_PROBLEMS), [selectedId, problemsByNode]);
  const selectedByOthers = useMemo(() => selectionsByNode(presence.others), [presence.others]);
  const context = useMemo(() => ({ types: typeMap, problemsByNode, diffMarks: comparing?.marks ?? new Map(), selectedByOthers }),
    [typeMap, problemsByNode, comparing, selectedByOthers]);
  const styledEdges = useMemo(() => edges.map((edge) => {
    const classes = [edgeProblems.has(edge.id) ? "has-errors" : "", comparing?.diff.edges.added.includes(edge.id) ? "diff-added" : "",
      comparing?.diff.edges.removed.includes(edge.id) ? "diff-removed" : ""].filter(Boolean).join(" ");
    return classes ? { ...edge, className: classes } : edge;
  }), [edges, edgeProblems, comparing]);

  if (loadError) return <div className="page"><Notice kind="error">{loadError}</Notice></div>;
  const errors = report?.errors ?? [];
  const title = meta.name ? `${meta.namespace ?? "default"}/${meta.name}` : "New workflow";

  return (
    <DesignerContext.Provider value={context}>
      <div className="designer">
        <div className="designer-bar">
          <h1>{title}</h1>
          {workflow && <span className="muted">v{workflow.version}</span>}
          {!shared.active && dirty && <span className="unsaved">unsaved changes</span>}
          {unpublished && <span className="unsaved" title={`The draft differs from version ${workflow?.version}`}>unpublished changes</span>}
          <Avatars entries={presence.others} label="Also on this workflow" />
          <DraftStatus link={shared.link} readOnly={!canWrite} />
          {presence.link === "reconnecting" && <span className="muted presence-link">reconnecting to see who is here…</span>}
          <span className={`validity ${errors.length ? "invalid" : "valid"}`} role="status" aria-live="polite">
            {report === null ? "checking…" : errors.length ? `${errors.length} problem(s)` : "valid"}
          </span>
          <div className="actions" role="toolbar" aria-label="Designer">
            {canWrite && <button type="button" onClick={undo} disabled={readOnly || !canUndo} title={shared.active ? "Undo your own last change (Ctrl+Z)" : "Ctrl+Z"}>Undo</button>}
            {canWrite && <button type="button" onClick={redo} disabled={readOnly || !canRedo} title="Ctrl+Shift+Z">Redo</button>}
            {canWrite && <button type="button" onClick={autoLayout} disabled={readOnly}>Auto-layout</button>}
            <button type="button" onClick={() => flow.fitView({ padding: 0.2 })}>Fit</button>
            {canWrite && <button type="button" className="primary" disabled={readOnly || saving} onClick={() => setSaveOpen(true)}
              title={shared.active ? "Make the draft the next version (Ctrl+S)" : "Ctrl+S"}>{shared.active ? "Publish" : "Save"}</button>}
            {may("execute") && workflow && (
              <button type="button" onClick={() => setRunOpen(true)}
                title={unpublished ? `Run version ${workflow.version}: the draft's changes run once published` : `Run version ${workflow.version}`}>Run</button>
            )}
          </div>
        </div>
        {notice && <div className="designer-notice"><Notice kind={notice.kind}>{notice.text} <button type="button" className="link" onClick={() => setNotice(null)}>Dismiss</button></Notice></div>}
        {comparing && (
          <div className="designer-notice">
            <Notice kind="warn">Comparing v{comparing.diff.from} → v{comparing.diff.to}: added, changed and removed nodes are marked. <button type="button" className="link" onClick={stopComparing}>Back to editing</button></Notice>
          </div>
        )}
        <div className="designer-body">
          {canWrite && <Palette types={types} onAdd={addNode} disabled={readOnly} />}
          <div className={far ? "canvas far" : "canvas"} ref={wrapper} data-testid="canvas"
            onPointerMove={onPointerMove} onPointerLeave={() => movePointer(null)}
            onDragOver={(event) => { if (event.dataTransfer.types.includes(DRAG_TYPE)) { event.preventDefault(); event.dataTransfer.dropEffect = "move"; } }}
            onDrop={(event) => {
              const type = event.dataTransfer.getData(DRAG_TYPE);
              if (!type) return;
              event.preventDefault();
              addNode(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
            }}>
            <ReactFlow<WeftNode, WeftEdge> nodes={nodes} edges={styledEdges} nodeTypes={NODE_TYPES}
              onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={onConnect}
              onNodeDragStart={onNodeDragStart} onNodeClick={onNodeClick}
              nodesDraggable={!readOnly} nodesConnectable={!readOnly} elementsSelectable
              deleteKeyCode={readOnly ? null : DELETE_KEYS} multiSelectionKeyCode={MULTI_SELECT_KEYS}
              selectionKeyCode="Shift" minZoom={0.05} onlyRenderVisibleElements={nodes.length > 200}
              proOptions={PRO_OPTIONS} fitView>
              <Background />
              <MiniMap pannable zoomable ariaLabel="Overview of the workflow" />
              <Controls showInteractive={false} />
            </ReactFlow>
            <RemotePointers others={presence.others} pointers={presence.pointers} />
          </div>
          <aside className="side" aria-label="Side panel">
            <div className="tabs" role="tablist">
              {(["properties", "workflow", "versions", "code"] as Tab[]).filter((name) => name !== "versions" || workflowId).map((name) => (
                <button key={name} type="button" role="tab" aria-selected={tab === name} onClick={() => setTab(name)}>
                  {{ properties: "Node", workflow: "Workflow", versions: "Versions", code: "YAML / JSON" }[name]}
                </button>
              ))}
            </div>
            <div className="tab-body" role="tabpanel">
              {tab === "properties" && (selected ? (
                <PropertyPanel key={selected.id} node={selected.data.node} info={typeMap.get(selected.data.node.type)}
                  problems={selectedProblems} readOnly={readOnly} upstream={upstream} secrets={secrets}
                  onChange={onSelectedChange} onRename={onSelectedRename} />
              ) : (
                <div>
                  <p className="muted">{selectedNodes.length > 1 ? `${selectedNodes.length} nodes selected.` : "Select a node to see its properties."}</p>
                  <ProblemList problems={problems} />
                </div>
              ))}
              {tab === "workflow" && (
                <SettingsPanel workflowId={workflowId} meta={meta} isNew={!workflowId} readOnly={readOnly}
                  problems={problems.filter((problem) => !problem.node && !problem.edge)}
                  onChange={(next) => { remember("meta", true); setMeta(next); }} />
              )}
              {tab === "versions" && workflowId && workflow && (
                <VersionsPanel workflowId={workflowId} current={workflow.version} canWrite={canWrite}
                  onCompare={compare} onRestore={restoreVersion} />
              )}
              {tab === "code" && (
                <CodeView definition={definition} readOnly={readOnly}
                  onApply={(before, after) => { remember("code", true); patch(before, after); }} />
              )}
            </div>
          </aside>
        </div>
        {runOpen && workflow && (
          <RunDialog workflowId={workflow.id} inputs={(workflow.definition.inputs ?? {}) as JsonSchema} onClose={() => setRunOpen(false)} />
        )}
        {saveOpen && <SaveDialog saving={saving} isNew={!workflowId} onCancel={() => setSaveOpen(false)}
          onSave={(note) => void (workflowId ? publish(note) : save(note))} />}
      </div>
    </DesignerContext.Provider>
  );
}

function ProblemList({ problems }: { problems: Problem[] }) {
  if (problems.length === 0) return null;
  return (
    <>
      <h3>Problems</h3>
      <ul className="problems">
        {problems.map((problem, index) => (
          <li key={index} className={problem.severity}>
            {problem.node && <strong>{problem.node}: </strong>}{problem.edge && <strong>{problem.edge}: </strong>}{problem.message}
          </li>
        ))}
      </ul>
    </>
  );
}

/** A definition the API will validate: a new workflow without a name yet gets a stand-in. */
function withName(definition: Definition): Definition {
  return definition.name ? definition : { ...definition, name: "untitled" };
}

function ancestors(id: string, edges: WeftEdge[]): string[] {
  const sources = new Map<string, string[]>();
  for (const edge of edges) sources.set(edge.target, [...(sources.get(edge.target) ?? []), edge.source]);
  const seen = new Set<string>();
  const queue = [...(sources.get(id) ?? [])];
  while (queue.length) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(sources.get(next) ?? []));
  }
  return [...seen].sort();
}
