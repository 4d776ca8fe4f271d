import { useCallback, useEffect, useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { ApiError, api, type Page } from "../lib/api";
import { mount } from "../lib/mount";
import type { Execution } from "../lib/types";
import { RunsTable } from "../runs/RunsTable";
import { StatusCounts } from "../runs/StatusCounts";
import { TRIGGERS, filterQuery, filtersFromAddress, type RunFilters } from "../runs/filters";
import "../runs/runs.css";

// The list may change at any time (runs start and finish); while the page is visible it
// is read again this often. Two cheap reads: a page of runs and one grouped count.
const REFRESH_MS = 5000;
const TYPING_MS = 300;

function RunsPage() {
  const [filters, setFilters] = useState<RunFilters>(() => filtersFromAddress(window.location.search));
  const [page, setPage] = useState(1);
  const [runs, setRuns] = useState<Page<Execution> | null>(null);
  const [counts, setCounts] = useState<Record<string, number> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const requests = useRef(0);

  const load = useCallback(async () => {
    const request = ++requests.current;
    try {
      const [listed, counted] = await Promise.all([
        api<Page<Execution>>(`executions${filterQuery(filters, { page })}`),
        api<Record<string, number>>(`executions/counts${filterQuery(filters)}`),
      ]);
      if (request !== requests.current) return;
      setRuns(listed);
      setCounts(counted);
      setError(null);
      setFieldErrors({});
    } catch (failure) {
      if (request !== requests.current) return;
      if (failure instanceof ApiError && failure.status === 404 && page > 1) {
        setPage(1);  // the page ran out under the filters (runs were deleted)
        return;
      }
      setError(errorText(failure));
      setFieldErrors(failure instanceof ApiError ? failure.fieldErrors() : {});
    }
  }, [filters, page]);

  useEffect(() => {
    window.history.replaceState(null, "", `${window.location.pathname}${filterQuery(filters, { address: true })}`);
    const timer = window.setTimeout(() => void load(), TYPING_MS);
    return () => window.clearTimeout(timer);
  }, [filters, load]);

  useEffect(() => {
    const tick = window.setInterval(() => {
      if (document.visibilityState === "visible") void load();
    }, REFRESH_MS);
    const shown = () => { if (document.visibilityState === "visible") void load(); };
    document.addEventListener("visibilitychange", shown);
    return () => { window.clearInterval(tick); document.removeEventListener("visibilitychange", shown); };
  }, [load]);

  const change = (next: Partial<RunFilters>) => {
    setFilters((current) => ({ ...current, ...next }));
    setPage(1);
  };
  const toggle = (status: string) => change({
    statuses: filters.statuses.includes(status)
      ? filters.statuses.filter((chosen) => chosen !== status) : [...filters.statuses, status],
  });

  return (
    <div className="page">
      <div className="page-head"><h1>Runs</h1></div>
      <form className="runs-filters" role="search" aria-label="Filter the runs" onSubmit={(event) => event.preventDefault()}>
        <div>
          <label htmlFor="filter-workflow">Workflow</label>
          <input id="filter-workflow" type="text" value={filters.workflow} placeholder="namespace/name or id"
            aria-invalid={fieldErrors.workflow ? true : undefined}
            aria-describedby={fieldErrors.workflow ? "filter-workflow-error" : undefined}
            onChange={(event) => change({ workflow: event.target.value })} />
          {fieldErrors.workflow && <p className="field-error" id="filter-workflow-error">{fieldErrors.workflow}</p>}
        </div>
        <div>
          <label htmlFor="filter-trigger">Trigger</label>
          <select id="filter-trigger" value={filters.trigger} onChange={(event) => change({ trigger: event.target.value })}>
            <option value="">any</option>
            {TRIGGERS.map((trigger) => <option key={trigger} value={trigger}>{trigger}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="filter-after">Created after</label>
          <input id="filter-after" type="datetime-local" value={filters.createdAfter}
            onChange={(event) => change({ createdAfter: event.target.value })} />
        </div>
        <div>
          <label htmlFor="filter-before">Created before</label>
          <input id="filter-before" type="datetime-local" value={filters.createdBefore}
            onChange={(event) => change({ createdBefore: event.target.value })} />
        </div>
      </form>
      <StatusCounts counts={counts} chosen={filters.statuses} onToggle={toggle} />
      {error && <Notice kind="error">{error}</Notice>}
      {runs && runs.results.length === 0 && <p className="empty">No run matches.</p>}
      {runs && runs.results.length > 0 && <RunsTable runs={runs.results} />}
      {runs && (runs.next || runs.previous) && (
        <nav className="paging" aria-label="Pages of runs">
          <button type="button" disabled={!runs.previous} onClick={() => setPage((current) => Math.max(1, current - 1))}>Previous</button>
          <span>Page {page} · {runs.count} runs</span>
          <button type="button" disabled={!runs.next} onClick={() => setPage((current) => current + 1)}>Next</button>
        </nav>
      )}
      {runs && !runs.next && !runs.previous && runs.count > 0 && <p className="muted">{runs.count} runs.</p>}
    </div>
  );
}

mount(RunsPage);
