// The one place the monitor gets its server state: the execution's detail (node runs with
// outputs), its version's definition, and the live statuses from the websocket, which
// reconnects with a backoff and re-reads the detail when outputs may have changed.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, load as loadFor } from "../lib/api";
import type { Definition, ExecutionDetail } from "../lib/types";
import { EMPTY_LIVE, applyEvent, backoff, changesDetail, fromSnapshot, type Frame, type LiveState } from "./live";

const DEBOUNCE_MS = 300;

export type Connection = "connecting" | "live" | "reconnecting";

export interface RunState {
  detail: ExecutionDetail | null;
  definition: Definition | null;
  live: LiveState;
  connection: Connection;
  /** Why the page cannot show the run (not found, no access), or null. */
  error: string | null;
  /** Counts the detail's loads: what depends on it (the logs) reloads with it. */
  revision: number;
  /** Take the detail a control answered with as the newest state. */
  replace: (detail: ExecutionDetail) => void;
}

function latestStatuses(detail: ExecutionDetail): Record<string, string> {
  const nodes: Record<string, string> = {};
  for (const run of detail.nodes) nodes[run.node_id] = run.status;
  return nodes;
}

export function useRun(id: string): RunState {
  const [detail, setDetail] = useState<ExecutionDetail | null>(null);
  const [definition, setDefinition] = useState<Definition | null>(null);
  const [live, setLive] = useState<LiveState>(EMPTY_LIVE);
  const [connection, setConnection] = useState<Connection>("connecting");
  const [error, setError] = useState<string | null>(null);
  const [revision, setRevision] = useState(0);
  const requests = useRef(0);
  const debounce = useRef<number | undefined>(undefined);

  const load = useCallback(async () => {
    const request = ++requests.current;
    try {
      const loaded = await api<ExecutionDetail>(`executions/${id}`);
      // an answer that overtook a later request is dropped
      if (request !== requests.current) return;
      setDetail(loaded);
      setRevision((current) => current + 1);
      setError(null);
    } catch (failure) {
      if (request === requests.current) setError(failure instanceof Error ? failure.message : String(failure));
    }
  }, [id]);

  // Changes within DEBOUNCE_MS of the first one are read together; a steady stream of
  // events still gets a read every DEBOUNCE_MS rather than none until it stops.
  const loadSoon = useCallback(() => {
    if (debounce.current !== undefined) return;
    debounce.current = window.setTimeout(() => {
      debounce.current = undefined;
      void load();
    }, DEBOUNCE_MS);
  }, [load]);

  useEffect(() => {
    void load();
    return () => {
      window.clearTimeout(debounce.current);
      debounce.current = undefined;
    };
  }, [load]);

  const workflow = detail?.workflow;
  const version = detail?.version;
  useEffect(() => {
    if (!workflow || !version) return;
    return loadFor<{ definition: Definition }>(`workflows/${workflow}/versions/${version}`,
      (loaded) => setDefinition(loaded.definition),
      (failure) => setError(failure instanceof Error ? failure.message : String(failure)));
  }, [workflow, version]);

  useEffect(() => {
    let socket: WebSocket | null = null;
    let retry: number | undefined;
    let attempts = 0;
    let stopped = false;
    const open = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const current = new WebSocket(`${scheme}://${location.host}/ws/executions/${id}/`);
      socket = current;
      current.onmessage = (message) => {
        const frame = JSON.parse(String(message.data)) as Frame;
        if (frame.type === "execution.snapshot") {
          attempts = 0;
          setConnection("live");
          setLive(fromSnapshot(frame.execution));
          // events may have been missed while disconnected (or before the first connect)
          loadSoon();
        } else if (frame.type === "execution.event") {
          setLive((state) => applyEvent(state, frame));
          if (changesDetail(frame)) loadSoon();
        }
      };
      current.onclose = (event) => {
        if (stopped) return;
        setConnection("reconnecting");
        if (event.code >= 4400 && event.code < 4500) {
          setError(event.code === 4404 ? "There is no such run." : "You may not watch this run.");
          return;
        }
        retry = window.setTimeout(open, backoff(attempts++) * 1000);
      };
    };
    open();
    return () => {
      stopped = true;
      window.clearTimeout(retry);
      if (socket?.readyState === WebSocket.CONNECTING) {
        const pending = socket;
        pending.onopen = () => pending.close();
      } else {
        socket?.close();
      }
    };
  }, [id, loadSoon]);

  const replace = useCallback((next: ExecutionDetail) => {
    ++requests.current;
    setDetail(next);
    setRevision((current) => current + 1);
    setLive((state) => ({ ...state, status: next.status, nodes: latestStatuses(next) }));
  }, []);

  return { detail, definition, live, connection, error, revision, replace };
}
