import { memo, useState } from "react";
import { SchemaForm } from "../components/SchemaForm";
import type { DefinitionNode, JsonSchema, NodeTypeInfo, Problem } from "../lib/types";

interface Props {
  node: DefinitionNode;
  info: NodeTypeInfo | undefined;
  problems: Problem[];
  readOnly: boolean;
  /** Template variables in scope: ids of the nodes upstream of this one. */
  upstream: string[];
  secrets: string[];
  onChange: (node: DefinitionNode) => void;
  onRename: (id: string) => string | null;
}

/** A problem's field path (`nodes[3].data.url`, `data.cases[0].expression`) as the data
 * property it concerns (`url`, `cases`). */
function dataProperty(field: string | undefined): string | null {
  const match = field?.match(/(?:^|\.)data\.([^.[\]]+)/);
  return match ? match[1] : null;
}

/** The selected node's properties: id, label, its data as a form from its type's schema,
 * templates marked and their variables offered, its retry and timeout, its problems. */
function PropertyPanelView({ node, info, problems, readOnly, upstream, secrets, onChange, onRename }: Props) {
  const [id, setId] = useState(node.id);
  const [renameError, setRenameError] = useState<string | null>(null);
  const schema: JsonSchema = info?.data_schema ?? { type: "object" };
  const expressions = new Set((info?.expression_fields ?? []).map((path) => path.split(/[.[]/)[0]));
  const fieldErrors: Record<string, string> = {};
  const general: Problem[] = [];
  for (const problem of problems) {
    const property = dataProperty(problem.field);
    if (property) fieldErrors[property] = fieldErrors[property] ? `${fieldErrors[property]} ${problem.message}` : problem.message;
    else general.push(problem);
  }
  const variables = ["input", "vars", "execution", ...upstream.map((source) => `nodes.${source}`),
    ...secrets.map((name) => `secrets.${name}`)];

  return (
    <section className="property-panel" aria-label={`Properties of ${node.id}`}>
      <h2>{info?.name ?? node.type}</h2>
      {info && <p className="field-help">{info.description}</p>}
      {general.length > 0 && (
        <ul className="problems" aria-label="Problems of this node">
          {general.map((problem, index) => <li key={index} className={problem.severity}>{problem.message}</li>)}
        </ul>
      )}
      <label htmlFor="node-id">Id</label>
      <input id="node-id" type="text" value={id} disabled={readOnly} aria-invalid={renameError ? true : undefined}
        onChange={(event) => setId(event.target.value)}
        onBlur={() => { if (id !== node.id) { const error = onRename(id); setRenameError(error); if (error) setId(node.id); } }} />
      {renameError && <p className="field-error">{renameError}</p>}
      <label htmlFor="node-name">Label</label>
      <input id="node-name" type="text" value={node.name ?? ""} disabled={readOnly}
        onChange={(event) => onChange({ ...node, name: event.target.value || undefined })} />
      <h3>Data</h3>
      <SchemaForm schema={schema} value={(node.data ?? {}) as Record<string, unknown>} readOnly={readOnly}
        errors={fieldErrors}
        onChange={(data) => onChange({ ...node, data })}
        decorate={(name, property) => {
          const isString = property.type === "string" || (Array.isArray(property.type) && property.type.includes("string"));
          if (!isString || property.enum) return null;
          if (expressions.has(name)) return <p className="field-help template-mark">Expression: evaluated without <code>{"{{ }}"}</code>.</p>;
          return (
            <TemplateHelp readOnly={readOnly} variables={variables}
              onInsert={(variable) => {
                const data = { ...(node.data ?? {}) } as Record<string, unknown>;
                const current = typeof data[name] === "string" ? (data[name] as string) : "";
                data[name] = `${current}{{ ${variable} }}`;
                onChange({ ...node, data });
              }} field={name} />
          );
        }} />
      <h3>Execution</h3>
      <label htmlFor="node-timeout">Timeout of one attempt (seconds)</label>
      <input id="node-timeout" type="number" min={1} value={node.timeout ?? ""} disabled={readOnly}
        onChange={(event) => onChange({ ...node, timeout: event.target.value === "" ? undefined : Number(event.target.value) })} />
      <label htmlFor="node-attempts">Attempts (retry.max_attempts)</label>
      <input id="node-attempts" type="number" min={1} disabled={readOnly}
        value={(node.retry as { max_attempts?: number } | undefined)?.max_attempts ?? ""}
        onChange={(event) => {
          const retry = { ...((node.retry ?? {}) as Record<string, unknown>) };
          if (event.target.value === "") delete retry.max_attempts;
          else retry.max_attempts = Number(event.target.value);
          onChange({ ...node, retry: Object.keys(retry).length ? retry : undefined });
        }} />
    </section>
  );
}

function TemplateHelp({ variables, onInsert, readOnly, field }: { variables: string[]; onInsert: (variable: string) => void; readOnly: boolean; field: string }) {
  return (
    <div className="template-mark inline">
      <span className="field-help">Template: <code>{"{{ … }}"}</code> is evaluated.</span>
      {!readOnly && (
        <select aria-label={`Insert a variable into ${field}`} value="" onChange={(event) => { if (event.target.value) onInsert(event.target.value); }}>
          <option value="">Insert variable…</option>
          {variables.map((variable) => <option key={variable} value={variable}>{variable}</option>)}
        </select>
      )}
    </div>
  );
}

/** Drawn again only when the node, its problems or its scope change (not while it is dragged). */
export const PropertyPanel = memo(PropertyPanelView);
