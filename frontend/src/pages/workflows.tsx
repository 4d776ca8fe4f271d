import { useCallback, useEffect, useMemo, useState } from "react";
import { Avatars } from "../collaboration/Avatars";
import { useWorkflowsPresence } from "../collaboration/useWorkflowsPresence";
import { StatusBadge } from "../components/StatusBadge";
import { Notice, errorText } from "../components/Notice";
import { api, query, type Page } from "../lib/api";
import { when } from "../lib/format";
import { mount } from "../lib/mount";
import { may } from "../lib/props";
import type { Workflow } from "../lib/types";
import { ImportDrop } from "../workflows/ImportDrop";
import { TemplateDialog } from "../workflows/TemplateDialog";

interface Filters {
  search: string;
  namespace: string;
  tag: string;
  active: string;
}

function WorkflowsPage() {
  const [filters, setFilters] = useState<Filters>({ search: "", namespace: "", tag: "", active: "" });
  const [page, setPage] = useState<Page<Workflow> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [templates, setTemplates] = useState(false);

  const load = useCallback(async (signal?: AbortSignal) => {
    try {
      setPage(await api<Page<Workflow>>(`workflows${query({ ...filters, ordering: "namespace,name" })}`, { signal }));
      setError(null);
    } catch (failure) {
      if (!signal?.aborted) setError(errorText(failure));
    }
  }, [filters]);

  useEffect(() => {
    const controller = new AbortController();
    const timer = window.setTimeout(() => void load(controller.signal), 200);
    return () => { controller.abort(); window.clearTimeout(timer); };
  }, [load]);

  const shownIds = useMemo(() => page?.results.map((workflow) => workflow.id) ?? [], [page]);
  const present = useWorkflowsPresence(shownIds);

  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setFilters((current) => ({ ...current, [key]: event.target.value }));

  return (
    <div className="page">
      <div className="page-head">
        <h1>Workflows</h1>
        {may("write") && (
          <div className="actions">
            <a className="button primary" href="/workflows/new/">New workflow</a>
            <button type="button" onClick={() => setTemplates(true)}>From a template</button>
          </div>
        )}
      </div>
      {may("write") && <ImportDrop />}
      <form className="inline filters" role="search" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor="search">Search</label>
        <input id="search" type="search" value={filters.search} onChange={set("search")} placeholder="name or description" />
        <label htmlFor="namespace">Namespace</label>
        <input id="namespace" type="text" value={filters.namespace} onChange={set("namespace")} size={12} />
        <label htmlFor="tag">Tag</label>
        <input id="tag" type="text" value={filters.tag} onChange={set("tag")} size={10} />
        <label htmlFor="active">Active</label>
        <select id="active" value={filters.active} onChange={set("active")}>
          <option value="">any</option>
          <option value="true">active</option>
          <option value="false">inactive</option>
        </select>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      {page && page.results.length === 0 && <p className="empty">No workflow matches.</p>}
      {page && page.results.length > 0 && (
        <table className="list workflows">
          <thead>
            <tr><th>Workflow</th><th>Who is here</th><th>Tags</th><th>Version</th><th>Active</th><th>Last run</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {page.results.map((workflow) => (
              <tr key={workflow.id} data-workflow={`${workflow.namespace}/${workflow.name}`}>
                <td>
                  <a href={`/workflows/${workflow.id}/`}>{workflow.namespace}/{workflow.name}</a>
                  {workflow.description && <div className="muted">{workflow.description}</div>}
                </td>
                <td className="present">
                  <Avatars entries={present[workflow.id] ?? []} label={`On ${workflow.namespace}/${workflow.name} now`} />
                </td>
                <td>{workflow.tags.map((tag) => <span className="tag" key={tag}>{tag}</span>)}</td>
                <td>v{workflow.version}</td>
                <td>{workflow.active ? "yes" : "no"}</td>
                <td>
                  {workflow.last_run
                    ? <a href={`/runs/${workflow.last_run.id}/`}><StatusBadge status={workflow.last_run.status} /> {when(workflow.last_run.created_at)}</a>
                    : <span className="muted">never run</span>}
                </td>
                <td>{when(workflow.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && page.count > page.results.length && (
        <p className="muted">Showing {page.results.length} of {page.count}; narrow the search to see the others.</p>
      )}
      {templates && <TemplateDialog onClose={() => setTemplates(false)} />}
    </div>
  );
}

mount(WorkflowsPage);
