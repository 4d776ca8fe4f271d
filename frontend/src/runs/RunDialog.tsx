// Start a run of a workflow: its input as a form generated from the workflow's inputs
// schema (or as JSON when it has none); the API's objections shown on the fields; then
// the run's monitor.
import { useEffect, useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { JsonField, SchemaForm } from "../components/SchemaForm";
import { ApiError, api, load } from "../lib/api";
import type { Execution, JsonSchema, WorkflowDetail } from "../lib/types";
import { inputErrors } from "./inputErrors";

type Values = Record<string, unknown>;

interface RunDialogProps {
  workflowId: string;
  /** The workflow's inputs schema; when left out, the current version's is read. */
  inputs?: JsonSchema;
  /** The input the form starts with (e.g. a previous run's). */
  initial?: Values;
  onClose: () => void;
}

export function RunDialog({ workflowId, inputs, initial, onClose }: RunDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [schema, setSchema] = useState<JsonSchema | null | undefined>(
    inputs === undefined ? undefined : usable(inputs));
  const [value, setValue] = useState<unknown>(initial ?? {});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  useEffect(() => {
    if (inputs !== undefined) return;
    return load<WorkflowDetail>(`workflows/${workflowId}`,
      (workflow) => setSchema(usable(workflow.definition.inputs)),
      (failure) => setError(errorText(failure)));
  }, [workflowId, inputs]);

  async function run() {
    setBusy(true);
    try {
      const execution = await api<Execution>(`workflows/${workflowId}/execute`, { body: { input: value ?? {} } });
      window.location.assign(`/runs/${execution.id}/`);
    } catch (failure) {
      setBusy(false);
      if (failure instanceof ApiError && failure.status === 400) {
        const found = inputErrors(failure, Object.keys(schema?.properties ?? {}));
        setFieldErrors(found.fields);
        setError(found.general.length ? found.general.join(" ") : failure.message);
      } else {
        setError(errorText(failure));
      }
    }
  }

  const loading = schema === undefined && error === null;
  return (
    <dialog ref={dialog} onClose={onClose} aria-labelledby="run-dialog-title" className="run-dialog">
      <form method="dialog" onSubmit={(event) => { event.preventDefault(); void run(); }}>
        <h2 id="run-dialog-title">Run the workflow</h2>
        {error && <Notice kind="error">{error}</Notice>}
        {loading && <p className="muted">Reading the workflow's inputs…</p>}
        {!loading && schema && (
          <SchemaForm schema={schema} value={(value ?? {}) as Values} onChange={setValue} errors={fieldErrors} />
        )}
        {!loading && !schema && (
          <JsonField label="Input" value={value}
            error={fieldErrors.input}
            onChange={setValue} />
        )}
        <div className="actions">
          <button type="button" onClick={() => dialog.current?.close()}>Close</button>
          <button type="submit" className="primary" disabled={busy || loading}>Run</button>
        </div>
      </form>
    </dialog>
  );
}

function usable(inputs: unknown): JsonSchema | null {
  if (inputs === null || typeof inputs !== "object") return null;
  const schema = inputs as JsonSchema;
  return schema.properties && Object.keys(schema.properties).length > 0 ? schema : null;
}
