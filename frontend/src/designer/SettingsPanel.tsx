import { JsonField, SchemaForm } from "../components/SchemaForm";
import type { JsonSchema, Problem } from "../lib/types";
import type { Meta } from "./model";
import { TriggersSummary } from "./TriggersSummary";

// The workflow-level settings, as the product contract defines them.
const SETTINGS_SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    timeout: { type: "integer", minimum: 1, maximum: 86400, description: "Seconds for one whole execution (default 1800)." },
    max_retries: { type: "integer", minimum: 0, description: "Default retry attempts of a node." },
    priority: { enum: ["low", "normal", "high", "critical"], description: "Broker priority of its tasks." },
    concurrency: { type: "integer", minimum: 0, description: "Executions running at once; 0 = unlimited." },
    overlap: { enum: ["queue", "skip", "allow"], description: "What a start beyond the concurrency does." },
    on_failure: { enum: ["fail", "continue"], description: "Whether a failed node fails the execution." },
    dependencies: { type: "array", description: "[{workflow, condition}]: start when these have run." },
  },
};

interface Props {
  workflowId: string | null;
  meta: Meta;
  problems: Problem[];
  readOnly: boolean;
  isNew: boolean;
  onChange: (meta: Meta) => void;
}

/** Name, namespace, description, settings, input schema and output of the workflow. */
export function SettingsPanel({ workflowId, meta, problems, readOnly, isNew, onChange }: Props) {
  const errors: Record<string, string> = {};
  const settingErrors: Record<string, string> = {};
  for (const problem of problems) {
    const field = problem.field ?? "";
    const setting = field.match(/^settings\.([^.[]+)/);
    if (setting) settingErrors[setting[1]] = problem.message;
    else errors[field.split(/[.[]/)[0]] = problem.message;
  }
  const set = (key: string, value: unknown) => {
    const next = { ...meta } as Record<string, unknown>;
    if (value === undefined || value === "") delete next[key];
    else next[key] = value;
    onChange(next as Meta);
  };
  return (
    <section className="settings-panel" aria-label="Workflow settings">
      <h2>Workflow</h2>
      <label htmlFor="wf-name">Name</label>
      <input id="wf-name" type="text" value={meta.name ?? ""} disabled={readOnly || !isNew}
        aria-invalid={errors.name ? true : undefined} onChange={(event) => set("name", event.target.value)} />
      {errors.name && <p className="field-error">{errors.name}</p>}
      <label htmlFor="wf-namespace">Namespace</label>
      <input id="wf-namespace" type="text" value={meta.namespace ?? "default"} disabled={readOnly || !isNew}
        onChange={(event) => set("namespace", event.target.value)} />
      <label htmlFor="wf-description">Description</label>
      <textarea id="wf-description" value={meta.description ?? ""} disabled={readOnly} rows={2}
        onChange={(event) => set("description", event.target.value)} />
      <h3>Settings</h3>
      <SchemaForm schema={SETTINGS_SCHEMA} value={(meta.settings ?? {}) as Record<string, unknown>} readOnly={readOnly}
        errors={settingErrors} onChange={(settings) => set("settings", Object.keys(settings).length ? settings : undefined)} />
      <h3>Input</h3>
      <JsonField label="Input schema" value={meta.inputs} readOnly={readOnly} error={errors.inputs}
        help="JSON Schema the execution input must match; the run form is made from it."
        onChange={(inputs) => set("inputs", inputs)} />
      <JsonField label="Output" value={meta.output} readOnly={readOnly} error={errors.output}
        help='A template, e.g. "{{ nodes.last.body }}"; default: the outputs of the last nodes.'
        onChange={(output) => set("output", output)} />
      {workflowId && <TriggersSummary workflowId={workflowId} />}
    </section>
  );
}
