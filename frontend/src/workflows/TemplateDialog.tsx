import { useEffect, useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { SchemaForm } from "../components/SchemaForm";
import { ApiError, api } from "../lib/api";
import type { JsonSchema, WorkflowDetail } from "../lib/types";

interface TemplateParameter {
  name: string;
  type: string | string[];
  description: string;
  required: boolean;
  default: unknown;
  schema: JsonSchema;
}

interface Template {
  name: string;
  title: string;
  description: string;
  tags: string[];
  parameters: TemplateParameter[];
}

/** Create a workflow from one of the platform's templates, its parameters as a form. */
export function TemplateDialog({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [chosen, setChosen] = useState<Template | null>(null);
  const [name, setName] = useState("");
  const [namespace, setNamespace] = useState("default");
  const [parameters, setParameters] = useState<Record<string, unknown>>({});
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  useEffect(() => {
    dialog.current?.showModal();
    api<Template[]>("templates").then(setTemplates, (failure) => setError(errorText(failure)));
  }, []);

  const schema: JsonSchema = chosen ? {
    type: "object",
    properties: Object.fromEntries(chosen.parameters.map((parameter) => [parameter.name, { ...parameter.schema, description: parameter.description }])),
    required: chosen.parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  } : { type: "object" };

  async function create() {
    if (!chosen) return;
    try {
      const workflow = await api<WorkflowDetail>(`templates/${chosen.name}/instantiate`, {
        body: { name, namespace, parameters },
      });
      window.location.assign(`/workflows/${workflow.id}/`);
    } catch (failure) {
      setError(errorText(failure));
      if (failure instanceof ApiError) setFieldErrors(failure.fieldErrors());
    }
  }

  return (
    <dialog ref={dialog} onClose={onClose} aria-labelledby="template-title">
      <h2 id="template-title">New workflow from a template</h2>
      {error && <Notice kind="error">{error}</Notice>}
      <label htmlFor="template">Template</label>
      <select id="template" value={chosen?.name ?? ""} onChange={(event) => {
        const template = templates.find((candidate) => candidate.name === event.target.value) ?? null;
        setChosen(template);
        setParameters(Object.fromEntries((template?.parameters ?? []).filter((p) => p.default !== null && p.default !== undefined).map((p) => [p.name, p.default])));
        if (template && !name) setName(template.name);
      }}>
        <option value="">Choose…</option>
        {templates.map((template) => <option key={template.name} value={template.name}>{template.title}</option>)}
      </select>
      {chosen && <p className="field-help">{chosen.description}</p>}
      <label htmlFor="template-name">Name</label>
      <input id="template-name" type="text" value={name} onChange={(event) => setName(event.target.value)}
        aria-invalid={fieldErrors.name ? true : undefined} />
      {fieldErrors.name && <p className="field-error">{fieldErrors.name}</p>}
      <label htmlFor="template-namespace">Namespace</label>
      <input id="template-namespace" type="text" value={namespace} onChange={(event) => setNamespace(event.target.value)} />
      {chosen && chosen.parameters.length > 0 && (
        <fieldset>
          <legend>Parameters</legend>
          <SchemaForm schema={schema} value={parameters} onChange={setParameters} />
        </fieldset>
      )}
      <div className="actions">
        <button type="button" onClick={() => dialog.current?.close()}>Cancel</button>
        <button type="button" className="primary" disabled={!chosen || !name} onClick={() => void create()}>Create</button>
      </div>
    </dialog>
  );
}
