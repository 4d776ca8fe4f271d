import { useCallback, useEffect, useState } from "react";
import { api } from "../lib/api";
import { useWhileVisible } from "../inbox/useWhileVisible";
import type { PresenceEntry } from "./people";

// Who is in a list's workflows is read again this often while the tab is visible: one
// request for all the rows shown.
const REFRESH_MS = 15_000;
// The most workflows one request may name (COLLABORATION_PRESENCE_MANY_MAX).
const MANY_MAX = 100;

/** Who is present on each of the workflows `ids` (the rows a list shows), by workflow id. */
export function useWorkflowsPresence(ids: string[]): Record<string, PresenceEntry[]> {
  const [presence, setPresence] = useState<Record<string, PresenceEntry[]>>({});
  const key = ids.slice(0, MANY_MAX).join(",");

  const load = useCallback(async (signal?: AbortSignal) => {
    if (!key) {
      setPresence({});
      return;
    }
    const search = new URLSearchParams(key.split(",").map((id) => ["workflow", id]));
    try {
      const answer = await api<{ presence: Record<string, PresenceEntry[]> }>(`collaboration/presence?${search}`, { signal });
      if (!signal?.aborted) setPresence(answer.presence);
    } catch {
      // who is here is an extra: the list stands without it, and the next refresh tries again
    }
  }, [key]);

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);
  useWhileVisible(() => void load(), REFRESH_MS);
  return presence;
}
