// The approvals inbox: the open user-action waits the signed-in person may answer, each
// with its form and one button per outcome; refreshed every 10 s while the tab is visible.
import { useCallback, useEffect, useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { ApprovalCard } from "../inbox/ApprovalCard";
import type { Wait } from "../inbox/types";
import { useWhileVisible } from "../inbox/useWhileVisible";
import "../inbox/inbox.css";
import { api, query, type Page } from "../lib/api";
import { mount } from "../lib/mount";
import { may, type PageProps } from "../lib/props";

const REFRESH_MS = 10_000;

type Scope = "answerable" | "mine";

function InboxPage({ props }: { props: PageProps }) {
  const [scope, setScope] = useState<Scope>("answerable");
  const [page, setPage] = useState<Page<Wait> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ kind: "ok" | "warn"; text: string } | null>(null);
  const answered = useRef(new Set<number>());
  const inFlight = useRef<AbortController | null>(null);

  const load = useCallback(async () => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    try {
      const filters = { kind: "user_action", ordering: "created_at", [scope]: true };
      const next = await api<Page<Wait>>(`bookmarks${query(filters)}`, { signal: controller.signal });
      setPage({ ...next, results: next.results.filter((wait) => !answered.current.has(wait.id)) });
      setError(null);
    } catch (failure) {
      if (!controller.signal.aborted) setError(errorText(failure));
    }
  }, [scope]);

  useEffect(() => {
    void load();
    return () => inFlight.current?.abort();
  }, [load]);
  useWhileVisible(() => void load(), REFRESH_MS);

  const finished = useCallback((wait: Wait, outcome: string | null, message?: string) => {
    answered.current.add(wait.id);
    setPage((current) => current && {
      ...current, count: Math.max(0, current.count - 1),
      results: current.results.filter((other) => other.id !== wait.id),
    });
    setDone(outcome
      ? { kind: "ok", text: `Answered “${outcome}” for ${wait.workflow} · ${wait.node_id}.` }
      : { kind: "warn", text: `${wait.workflow} · ${wait.node_id}: ${message ?? "this wait is closed."}` });
  }, []);

  const waits = page?.results ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Approvals</h1>
        {page && <span className="muted" aria-live="polite">{page.count === 1 ? "1 waiting" : `${page.count} waiting`}</span>}
      </div>
      {may("execute") && (
        <form className="inline inbox-scope" onSubmit={(event) => event.preventDefault()}>
          <label htmlFor="inbox-scope">Show</label>
          <select id="inbox-scope" value={scope} onChange={(event) => setScope(event.target.value as Scope)}>
            <option value="answerable">every approval I may answer</option>
            <option value="mine">only those assigned to me or my groups</option>
          </select>
        </form>
      )}
      {done && <Notice kind={done.kind}>{done.text}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {page && waits.length === 0 && <p className="empty">Nothing is waiting for your answer.</p>}
      <div className="approvals">
        {waits.map((wait) => (
          <ApprovalCard key={wait.id} wait={wait} username={props.user.username} onDone={finished} />
        ))}
      </div>
      {page && page.count > waits.length && (
        <p className="muted">Showing the oldest {waits.length} of {page.count}; answer these to see the others.</p>
      )}
    </div>
  );
}

mount(InboxPage);
