import { useEffect, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { api, load } from "../lib/api";
import { when } from "../lib/format";
import type { Definition } from "../lib/types";

export interface Version {
  number: number;
  checksum: string;
  author: string | null;
  /** Everyone whose edits of the shared draft went into the version (its author published). */
  co_authors?: string[];
  change_note: string;
  created_at: string;
}

interface Change { field: string; before: unknown; after: unknown }
interface DiffGroup { added: string[]; removed: string[]; changed: { id: string; changes: Change[] }[] }
export interface Diff { from: number; to: number; nodes: DiffGroup; edges: DiffGroup; fields: Change[] }

interface Props {
  workflowId: string;
  current: number;
  canWrite: boolean;
  /** Show two versions on the canvas, the later one's graph marked with the diff. */
  onCompare: (diff: Diff, from: Definition, to: Definition) => void;
  onRestore: (version: number, definition: Definition) => void;
}

/** The workflow's versions; a diff of any two, on the canvas and as a list; restore one. */
export function VersionsPanel({ workflowId, current, canWrite, onCompare, onRestore }: Props) {
  const [versions, setVersions] = useState<Version[]>([]);
  const [from, setFrom] = useState<number>(Math.max(1, current - 1));
  const [to, setTo] = useState<number>(current);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    return load<Version[] | { results: Version[] }>(`workflows/${workflowId}/versions`,
      (answer) => setVersions(Array.isArray(answer) ? answer : answer.results), (failure) => setError(errorText(failure)));
  }, [workflowId, current]);

  async function compare() {
    try {
      const [changes, before, after] = await Promise.all([
        api<Diff>(`workflows/${workflowId}/diff?from=${from}&to=${to}`),
        api<{ definition: Definition }>(`workflows/${workflowId}/versions/${from}`),
        api<{ definition: Definition }>(`workflows/${workflowId}/versions/${to}`),
      ]);
      setDiff(changes);
      onCompare(changes, before.definition, after.definition);
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  async function restore(number: number) {
    try {
      const version = await api<{ definition: Definition }>(`workflows/${workflowId}/versions/${number}`);
      onRestore(number, version.definition);
    } catch (failure) {
      setError(errorText(failure));
    }
  }

  return (
    <section className="versions-panel" aria-label="Versions">
      <h2>Versions</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <table className="list">
        <thead><tr><th>#</th><th>Note</th><th>By</th><th>When</th><th><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.number} data-version={version.number}>
              <td>v{version.number}{version.number === current ? " (current)" : ""}</td>
              <td>{version.change_note || <span className="muted">—</span>}</td>
              <td>
                {version.author ?? "—"}
                {version.co_authors && version.co_authors.length > 0 && (
                  <span className="co-authors muted">co-authors: {[...version.co_authors].sort().join(", ")}</span>
                )}
              </td>
              <td>{when(version.created_at)}</td>
              <td>{canWrite && version.number !== current && (
                <button type="button" onClick={() => void restore(version.number)}>Restore v{version.number}</button>
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {versions.length > 1 && (
        <div className="inline compare">
          <label htmlFor="diff-from">Compare</label>
          <select id="diff-from" value={from} onChange={(event) => setFrom(Number(event.target.value))}>
            {versions.map((version) => <option key={version.number} value={version.number}>v{version.number}</option>)}
          </select>
          <label htmlFor="diff-to">with</label>
          <select id="diff-to" value={to} onChange={(event) => setTo(Number(event.target.value))}>
            {versions.map((version) => <option key={version.number} value={version.number}>v{version.number}</option>)}
          </select>
          <button type="button" onClick={() => void compare()}>Show diff</button>
        </div>
      )}
      {diff && (
        <div className="diff-list" aria-label="Changes">
          <h3>v{diff.from} → v{diff.to}</h3>
          <ul>
            {diff.nodes.added.map((id) => <li key={`a-${id}`} className="diff-added">node {id} added</li>)}
            {diff.nodes.removed.map((id) => <li key={`r-${id}`} className="diff-removed">node {id} removed</li>)}
            {diff.nodes.changed.map((item) => item.changes.map((change) => (
              <li key={`c-${item.id}-${change.field}`} className="diff-changed">
                node {item.id}: <code>{change.field}</code> {JSON.stringify(change.before)} → {JSON.stringify(change.after)}
              </li>
            )))}
            {diff.edges.added.map((id) => <li key={`ea-${id}`} className="diff-added">edge {id} added</li>)}
            {diff.edges.removed.map((id) => <li key={`er-${id}`} className="diff-removed">edge {id} removed</li>)}
            {diff.fields.map((change) => (
              <li key={`f-${change.field}`} className="diff-changed"><code>{change.field}</code> {JSON.stringify(change.before)} → {JSON.stringify(change.after)}</li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
