// A workflow's shared draft as a Yjs document, the same as the server keeps it
// (collaboration/documents.py): three root maps, `meta` (every top-level field but the
// graph), `nodes` (id -> a map of the node's fields, its `data` a map of its own, `$order`
// placing it in the list) and `edges` (label -> the edge). A key is the unit of merging.
// Read as a definition (`docToDefinition`), written key by key (`applyDefinition`), and
// kept in step with the server over `/ws/workflows/<id>/draft/` (`draftOpen`).
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { edgeLabel } from "../designer/model";
import type { Definition, DefinitionEdge, DefinitionNode } from "../lib/types";

/** The origin of this page's own edits: the undo manager tracks these and nothing else. */
export const LOCAL_ORIGIN = Symbol("designer");

const ORDER_KEY = "$order";
const GRAPH_KEYS = new Set(["nodes", "edges"]);
const MESSAGE_SYNC = 0;
const MESSAGE_AUTH = 2;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
// Closed for good: no login, no `workflow.read`, no such workflow. Any other close
// (4400 not the protocol, 4413 too large, 4429 too many messages, a dropped line) reconnects,
// and the sync that follows sends what was edited meanwhile.
const FINAL_CLOSES = new Set([4401, 4403, 4404]);
// A message larger than the server takes: the edit in it would be sent again on every
// reconnection, so it is given up instead (`onRefused`).
const CLOSE_TOO_LARGE = 4413;
// The server answers a sync step 1 and otherwise speaks only when someone edits; the
// provider drops a connection it heard nothing on for 30 s, so it asks this often.
const RESYNC_MS = 15_000;
const MAX_BACKOFF_MS = 10_000;
// Edits of one action within this long are one undo step (as the local history coalesces).
const CAPTURE_MS = 1000;
// How long `settled` waits for the server's answer.
const SETTLE_MS = 5000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Fields = Record<string, unknown>;

// --- comparing ------------------------------------------------------------------------------

/** JSON text with every object's keys sorted: equal for equal values, however built. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    return Object.fromEntries(Object.keys(item).sort().map((key) => [key, (item as Fields)[key]]));
  }) ?? "undefined";
}

export function sameJson(a: unknown, b: unknown): boolean {
  return a === b || canonical(a) === canonical(b);
}

/** The value as JSON holds it: undefined keys dropped, a non-finite number null. */
function plainCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function nodesById(definition: Partial<Definition>): Map<string, DefinitionNode> {
  const result = new Map<string, DefinitionNode>();
  for (const node of definition.nodes ?? []) {
    if (isObject(node) && typeof node.id === "string" && !result.has(node.id)) result.set(node.id, node);
  }
  return result;
}

function edgesByKey(definition: Partial<Definition>): Map<string, DefinitionEdge> {
  const result = new Map<string, DefinitionEdge>();
  for (const edge of definition.edges ?? []) {
    if (isObject(edge) && !result.has(edgeLabel(edge))) result.set(edgeLabel(edge), edge);
  }
  return result;
}

function metaOf(definition: Partial<Definition>): Fields {
  return Object.fromEntries(Object.entries(definition).filter(([key]) => !GRAPH_KEYS.has(key)));
}

/** Whether two definitions hold the same workflow: the same fields, the same nodes by id and
 * the same edges by label, whatever their order in the lists. */
export function sameDefinition(a: Partial<Definition>, b: Partial<Definition>): boolean {
  const keyed = (definition: Partial<Definition>) => canonical({
    meta: metaOf(definition),
    nodes: Object.fromEntries(nodesById(definition)),
    edges: Object.fromEntries(edgesByKey(definition)),
  });
  return keyed(a) === keyed(b);
}

// --- definition -> document -------------------------------------------------------------------

function mapSync(target: Y.Map<unknown>, before: Fields, after: Fields): void {
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key) && target.has(key)) target.delete(key);
  }
  for (const [key, value] of Object.entries(after)) {
    if (!Object.hasOwn(before, key) || !sameJson(before[key], value)) target.set(key, value);
  }
}

function nodeFields(node: DefinitionNode): Fields {
  const { id: _id, ...fields } = node;
  void _id;
  return fields;
}

function nodeMap(node: DefinitionNode, order: number): Y.Map<unknown> {
  const { data, ...fields } = nodeFields(node);
  const entries: [string, unknown][] = [...Object.entries(fields), [ORDER_KEY, order]];
  if (isObject(data)) entries.push(["data", new Y.Map(Object.entries(data))]);
  else if (data !== undefined && data !== null) entries.push(["data", data]);
  return new Y.Map(entries);
}

function nodeSync(target: Y.Map<unknown>, before: DefinitionNode, after: DefinitionNode): void {
  const { data: oldData, ...old } = nodeFields(before);
  const { data: newData, ...fresh } = nodeFields(after);
  mapSync(target, old, fresh);
  if (sameJson(oldData ?? null, newData ?? null)) return;
  const current = target.get("data");
  if (isObject(newData) && isObject(oldData) && current instanceof Y.Map) {
    mapSync(current as Y.Map<unknown>, oldData, newData);
  } else if (isObject(newData)) {
    target.set("data", new Y.Map(Object.entries(newData)));
  } else if (newData === undefined || newData === null) {
    if (target.has("data")) target.delete("data");
  } else {
    target.set("data", newData);
  }
}

function orderOf(value: unknown): number {
  const order = value instanceof Y.Map ? value.get(ORDER_KEY) : undefined;
  return typeof order === "number" && Number.isFinite(order) ? order : Infinity;
}

/** The `$order` of a node added now: one past the highest. */
function orderNext(nodes: Y.Map<unknown>): number {
  const orders = [...nodes.values()].map(orderOf).filter(Number.isFinite);
  return orders.length ? Math.trunc(Math.max(...orders)) + 1 : 0;
}

/** Write into the document what changed from the definition `before` to `after`, key by
 * key, and nothing else (document_apply on the server): what others changed meanwhile in
 * other keys stays. One transaction, none when nothing changed; true when one was made. */
export function applyDefinition(doc: Y.Doc, before: Partial<Definition>, after: Partial<Definition>,
  origin: unknown = LOCAL_ORIGIN): boolean {
  const old = plainCopy(before);
  const next = plainCopy(after);
  if (sameDefinition(old, next)) return false;
  const meta = doc.getMap<unknown>("meta");
  const nodes = doc.getMap<unknown>("nodes");
  const edges = doc.getMap<unknown>("edges");
  doc.transact(() => {
    mapSync(meta, metaOf(old), metaOf(next));
    const oldNodes = nodesById(old);
    const newNodes = nodesById(next);
    for (const id of oldNodes.keys()) {
      if (!newNodes.has(id) && nodes.has(id)) nodes.delete(id);
    }
    const first = orderNext(nodes);
    let index = 0;
    for (const [id, node] of newNodes) {
      const current = nodes.get(id);
      const was = oldNodes.get(id);
      if (was === undefined || !(current instanceof Y.Map)) nodes.set(id, nodeMap(node, first + index));
      else if (!sameJson(was, node)) nodeSync(current as Y.Map<unknown>, was, node);
      index += 1;
    }
    mapSync(edges, Object.fromEntries(edgesByKey(old)), Object.fromEntries(edgesByKey(next)));
  }, origin);
  return true;
}

// --- document -> definition -------------------------------------------------------------------

/** A document value as JSON: a nested type as its JSON, a non-finite number as null. */
function plain(value: unknown): Json {
  const json = value instanceof Y.AbstractType ? (value.toJSON() as unknown) : value;
  return plainCopy(json === undefined ? null : json) as Json;
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The definition the document holds now (document_definition on the server): nodes in
 * `$order` then id order, edges in label order. */
export function docToDefinition(doc: Y.Doc): Definition {
  // built from entries: a key such as `__proto__` is a field like any other
  const meta = [...doc.getMap<unknown>("meta").entries()].map(([key, value]) => [key, plain(value)]);
  const placed: [number, string, DefinitionNode][] = [];
  for (const [id, value] of doc.getMap<unknown>("nodes").entries()) {
    if (!(value instanceof Y.Map)) continue;  // not a node (the server reports it)
    const fields = [...(value as Y.Map<unknown>).entries()].filter(([key]) => key !== ORDER_KEY)
      .map(([key, item]) => [key, plain(item)]);
    placed.push([orderOf(value), id, Object.fromEntries([["id", id], ...fields]) as DefinitionNode]);
  }
  placed.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : byText(a[1], b[1])));
  const edges = doc.getMap<unknown>("edges");
  return {
    ...Object.fromEntries(meta),
    nodes: placed.map(([, , node]) => node),
    edges: [...edges.keys()].sort(byText).map((label) => plain(edges.get(label)) as DefinitionEdge),
  } as Definition;
}

// --- the connection ---------------------------------------------------------------------------

export type DraftLinkState = "connecting" | "live" | "reconnecting" | "closed";

export interface DraftLink {
  state: DraftLinkState;
  /** The close code that ended the last connection, if the server closed it. */
  code?: number;
}

export interface DraftSession {
  doc: Y.Doc;
  /** Undo and redo of this page's own edits; null for a reader. */
  undo: Y.UndoManager | null;
  /** Resolves once the server has stored every edit this page sent (true), or at once
   * (false) while there is no connection. */
  settled: () => Promise<boolean>;
  close: () => void;
}

interface DraftOptions {
  /** Whether this page may change the draft (`workflow.write`): it then has an undo manager. */
  editable: boolean;
  onLink: (link: DraftLink) => void;
  /** The server refused an edit ("permission denied", or a message too large): it was not
   * kept, and this document holds what the others do not; the caller opens the draft again. */
  onRefused: (reason: string) => void;
}

/** The workflow's shared draft: a document kept in step with the server's, and its
 * connection (y-websocket, reconnecting except after 4401, 4403 and 4404). */
export function draftOpen(workflowId: string, { editable, onLink, onRefused }: DraftOptions): DraftSession {
  const doc = new Y.Doc();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const provider = new WebsocketProvider(`${scheme}//${location.host}/ws/workflows/${workflowId}`, "draft/", doc, {
    connect: false,
    // every change goes through the server, which stores it before anyone else sees it
    disableBc: true,
    resyncInterval: RESYNC_MS,
    maxBackoffTime: MAX_BACKOFF_MS,
    shouldReconnect: (event) => !FINAL_CLOSES.has(event.code),
  });
  // Presence travels on the JSON socket: the server ignores awareness, so none is sent.
  provider.awareness.setLocalState(null);
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
    decoding.readVarUint(decoder);  // 0: permission denied, the only kind
    onRefused(decoding.readVarString(decoder));
  };
  // The server handles one socket's messages in order, and stores an edit before it reads
  // the next message: its answer to a sync step 1 sent after the edits says they are kept.
  const answered: (() => void)[] = [];
  const sync = provider.messageHandlers[MESSAGE_SYNC];
  provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, ...rest) => {
    const step = decoder.arr[decoder.pos];
    sync(encoder, decoder, ...rest);
    if (step === SYNC_STEP2) answered.splice(0).forEach((resolve) => resolve());
  };
  const settled = () => new Promise<boolean>((resolve) => {
    const socket = provider.ws;
    if (!provider.wsconnected || socket === null || socket.readyState !== WebSocket.OPEN) {
      resolve(false);
      return;
    }
    const timer = window.setTimeout(() => resolve(false), SETTLE_MS);
    answered.push(() => { window.clearTimeout(timer); resolve(true); });
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    encoding.writeVarUint(encoder, SYNC_STEP1);
    encoding.writeVarUint8Array(encoder, Y.encodeStateVector(doc));
    socket.send(encoding.toUint8Array(encoder));
  });
  let live = false;
  provider.on("sync", (synced: boolean) => {
    if (!synced) return;
    live = true;
    onLink({ state: "live" });
  });
  provider.on("connection-close", (event: CloseEvent | null) => {
    if (event && FINAL_CLOSES.has(event.code)) {
      queueMicrotask(() => provider.disconnect());
      onLink({ state: "closed", code: event.code });
    } else if (event?.code === CLOSE_TOO_LARGE) {
      queueMicrotask(() => provider.disconnect());
      onRefused("The change was larger than the server takes at once.");
    } else if (provider.shouldConnect) {
      onLink({ state: live ? "reconnecting" : "connecting", code: event?.code });
    }
  });
  const undo = editable ? new Y.UndoManager([doc.getMap("meta"), doc.getMap("nodes"), doc.getMap("edges")], {
    trackedOrigins: new Set([LOCAL_ORIGIN]),
    captureTimeout: CAPTURE_MS,
  }) : null;
  onLink({ state: "connecting" });
  provider.connect();
  return {
    doc,
    undo,
    settled,
    close: () => {
      provider.destroy();
      undo?.destroy();
      doc.destroy();
    },
  };
}
