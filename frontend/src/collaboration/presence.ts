// The designer's side of the collaboration socket, `/ws/workflows/<id>/`: who else has the
// workflow open (their status, activity, selection and pointer), and this page's own
// presence sent back. docs/collaboration.md has the protocol; people.ts the pure parts.
import { useCallback, useEffect, useRef, useState } from "react";
import { backoff } from "../monitor/live";
import { applyFrame, applyPointer, type Point, type PresenceEntry, type PresenceFrame, type PresenceStatus } from "./people";

const HEARTBEAT_MS = 20_000;
// Everything the page sends (but the heartbeat) leaves at most this often, the newest value
// of each kind: 8 a second, where the socket takes 10 and drops the rest.
const SEND_MS = 125;
// Someone not heard from for this long is gone (their web process died without saying so):
// every socket sends a heartbeat each 20 s, and the server forgets an entry 60 s after its
// last one (COLLABORATION_PRESENCE_TTL's default).
const STALE_MS = 90_000;
const SWEEP_MS = 15_000;
// Closed for good: no login, no `workflow.read`, no such workflow. Any other close reconnects.
const FINAL_CLOSES = new Set([4401, 4403, 4404]);

export type PresenceLink = "off" | "connecting" | "live" | "reconnecting" | "closed";

export interface Presence {
  /** Everyone else on the workflow, one entry per connection, oldest first. */
  others: PresenceEntry[];
  /** The others' pointers on the canvas, by connection. */
  pointers: Record<string, Point>;
  link: PresenceLink;
  setSelection: (ids: string[]) => void;
  setStatus: (status: PresenceStatus, activity: string) => void;
  /** Where this page's pointer is on the canvas (flow coordinates); null when it left. */
  movePointer: (point: Point | null) => void;
}

interface Mine {
  status: PresenceStatus;
  activity: string;
  selection: string[];
}

/** What the server holds for a connection that has said nothing yet. */
const JOINED: Mine = { status: "online", activity: "", selection: [] };
const NO_POINTER = JSON.stringify(null);

/** Opens the workflow's collaboration socket while `workflowId` is set (a saved workflow).
 * `onFrame` hears every frame that is not about presence: the workflow's events and the
 * shared draft's problems. */
export function usePresence(workflowId: string | null, onFrame?: (frame: PresenceFrame) => void): Presence {
  const [others, setOthers] = useState<PresenceEntry[]>([]);
  const [pointers, setPointers] = useState<Record<string, Point>>({});
  const [link, setLink] = useState<PresenceLink>("off");
  const mine = useRef<Mine>(JOINED);
  const pointer = useRef<Point | null>(null);
  // Asks the open socket (if any) to send what changed; a no-op without one.
  const flushSoon = useRef<() => void>(() => undefined);
  const listener = useRef(onFrame);
  listener.current = onFrame;

  useEffect(() => {
    if (!workflowId) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let attempts = 0;
    let retry: number | undefined;
    let sendTimer: number | undefined;
    let lastSend = 0;
    // What the server has of this connection, as the JSON last sent.
    let sentPresence = JSON.stringify(JOINED);
    let sentPointer = NO_POINTER;
    const heard = new Map<string, number>();

    const nextMessage = (): object | null => {
      const presence = JSON.stringify(mine.current);
      if (presence !== sentPresence) {
        sentPresence = presence;
        return { type: "presence", ...mine.current };
      }
      const point = JSON.stringify(pointer.current);
      if (point !== sentPointer) {
        sentPointer = point;
        return pointer.current ? { type: "pointer", ...pointer.current } : { type: "pointer", pointer: null };
      }
      return null;
    };
    const pending = () => JSON.stringify(mine.current) !== sentPresence || JSON.stringify(pointer.current) !== sentPointer;
    const flush = () => {
      sendTimer = undefined;
      if (socket?.readyState !== WebSocket.OPEN) return;
      const message = nextMessage();
      if (message === null) return;
      lastSend = Date.now();
      socket.send(JSON.stringify(message));
      schedule();
    };
    const schedule = () => {
      if (sendTimer !== undefined || !pending()) return;
      sendTimer = window.setTimeout(flush, Math.max(0, lastSend + SEND_MS - Date.now()));
    };
    flushSoon.current = schedule;

    const open = () => {
      setLink(attempts === 0 ? "connecting" : "reconnecting");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const current = new WebSocket(`${scheme}://${location.host}/ws/workflows/${workflowId}/`);
      socket = current;
      let you: string | null = null;
      current.onmessage = (message) => {
        const frame = JSON.parse(String(message.data)) as PresenceFrame;
        if (frame.type === "event" || frame.type === "draft.problems") {
          listener.current?.(frame);
          return;
        }
        const now = Date.now();
        if (frame.type === "presence.snapshot") {
          you = frame.you;
          attempts = 0;
          heard.clear();
          for (const entry of frame.users) heard.set(entry.connection, now);
          // a new connection starts as the server's default: say what this page is doing
          sentPresence = JSON.stringify(JOINED);
          sentPointer = NO_POINTER;
          setLink("live");
          schedule();
        } else if ("user" in frame) {
          if (frame.type === "presence.left") heard.delete(frame.user.connection);
          else heard.set(frame.user.connection, now);
        }
        setOthers((current) => applyFrame(current, you, frame));
        setPointers((current) => applyPointer(current, frame));
      };
      current.onclose = (event) => {
        if (stopped) return;
        socket = null;
        setOthers([]);
        setPointers({});
        if (FINAL_CLOSES.has(event.code)) {
          setLink("closed");
          return;
        }
        setLink("reconnecting");
        retry = window.setTimeout(open, backoff(attempts++) * 1000);
      };
    };

    const sweep = () => {
      const now = Date.now();
      const fresh = (connection: string) => now - (heard.get(connection) ?? now) < STALE_MS;
      setOthers((current) => (current.every((entry) => fresh(entry.connection)) ? current
        : current.filter((entry) => fresh(entry.connection))));
      setPointers((current) => (Object.keys(current).every(fresh) ? current
        : Object.fromEntries(Object.entries(current).filter(([connection]) => fresh(connection)))));
    };

    open();
    const heartbeat = window.setInterval(() => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "heartbeat" }));
    }, HEARTBEAT_MS);
    const sweeper = window.setInterval(sweep, SWEEP_MS);
    return () => {
      stopped = true;
      flushSoon.current = () => undefined;
      window.clearTimeout(retry);
      window.clearTimeout(sendTimer);
      window.clearInterval(heartbeat);
      window.clearInterval(sweeper);
      if (socket?.readyState === WebSocket.CONNECTING) {
        const pendingSocket = socket;
        pendingSocket.onopen = () => pendingSocket.close();
      } else {
        socket?.close();
      }
      setOthers([]);
      setPointers({});
    };
  }, [workflowId]);

  const setSelection = useCallback((ids: string[]) => {
    mine.current = { ...mine.current, selection: ids };
    flushSoon.current();
  }, []);
  const setStatus = useCallback((status: PresenceStatus, activity: string) => {
    mine.current = { ...mine.current, status, activity };
    flushSoon.current();
  }, []);
  const movePointer = useCallback((point: Point | null) => {
    pointer.current = point;
    flushSoon.current();
  }, []);

  return { others, pointers, link, setSelection, setStatus, movePointer };
}
