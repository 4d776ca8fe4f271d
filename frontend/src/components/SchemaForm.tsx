// A form generated from a JSON Schema of an object: one field per property, with its type,
// bounds, enum, required mark and description; anything richer is edited as JSON. Used for
// node properties, run inputs, template parameters and approval forms.
import { useEffect, useId, useState, type ReactNode } from "react";
import type { JsonSchema } from "../lib/types";

type Values = Record<string, unknown>;

export interface SchemaFormProps {
  schema: JsonSchema;
  value: Values;
  onChange: (value: Values) => void;
  /** Messages per property name (from validation). */
  errors?: Record<string, string>;
  readOnly?: boolean;
  /** Extra content under a field: e.g. the variables a template field may use. */
  decorate?: (name: string, schema: JsonSchema) => ReactNode;
  /** A replacement for a field's input: e.g. a secret picker. */
  widget?: (name: string, schema: JsonSchema, value: unknown, set: (value: unknown) => void) => ReactNode | null;
}

export function SchemaForm({ schema, value, onChange, errors = {}, readOnly, decorate, widget }: SchemaFormProps) {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const names = Object.keys(properties);
  if (names.length === 0 && schema.type !== "object") {
    return <JsonField label="Value" value={value} onChange={(next) => onChange(next as Values)} readOnly={readOnly} />;
  }
  return (
    <div className="schema-form">
      {names.map((name) => {
        const set = (next: unknown) => {
          const copy = { ...value };
          if (next === undefined) delete copy[name];
          else copy[name] = next;
          onChange(copy);
        };
        return (
          <SchemaField key={name} name={name} schema={properties[name]} required={required.has(name)}
            value={value[name]} set={set} error={errors[name]} readOnly={readOnly}
            extra={decorate?.(name, properties[name])}
            custom={widget?.(name, properties[name], value[name], set) ?? null} />
        );
      })}
    </div>
  );
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== "null") ?? "string";
  if (schema.type) return schema.type;
  if (schema.enum) return "enum";
  return "any";
}

interface FieldProps {
  name: string;
  schema: JsonSchema;
  required: boolean;
  value: unknown;
  set: (value: unknown) => void;
  error?: string;
  readOnly?: boolean;
  extra?: ReactNode;
  custom: ReactNode | null;
}

const LONG_TEXT = new Set(["body", "sql", "prompt", "message", "content", "html", "template", "expression", "query"]);

function SchemaField({ name, schema, required, value, set, error, readOnly, extra, custom }: FieldProps) {
  const id = `field-${useId().replace(/:/g, "")}-${name}`;
  const label = schema.title ?? name;
  const type = typeOf(schema);
  const describedBy = [schema.description ? `${id}-help` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy,
    "aria-required": required || undefined, disabled: readOnly, "data-field": name,
  };
  let input: ReactNode;
  if (custom) {
    input = custom;
  } else if (schema.enum) {
    input = (
      <select {...common} value={value === undefined ? "" : JSON.stringify(value)}
        onChange={(event) => set(event.target.value === "" ? undefined : JSON.parse(event.target.value))}>
        {!required || value === undefined ? <option value="">{schema.default !== undefined ? `(default: ${String(schema.default)})` : "—"}</option> : null}
        {schema.enum.map((option) => <option key={JSON.stringify(option)} value={JSON.stringify(option)}>{String(option)}</option>)}
      </select>
    );
  } else if (type === "boolean") {
    input = (
      <input {...common} type="checkbox" checked={value === true}
        onChange={(event) => set(event.target.checked)} />
    );
  } else if ((type === "integer" || type === "number") && (typeof value === "number" || value === undefined)) {
    input = (
      <input {...common} type="number" value={value === undefined ? "" : String(value)}
        min={schema.minimum ?? schema.exclusiveMinimum} max={schema.maximum ?? schema.exclusiveMaximum}
        step={type === "integer" ? 1 : "any"} placeholder={schema.default !== undefined ? String(schema.default) : undefined}
        onChange={(event) => set(event.target.value === "" ? undefined : Number(event.target.value))} />
    );
  } else if (type === "string" || ((type === "integer" || type === "number") && typeof value === "string")) {
    const text = value === undefined || value === null ? "" : String(value);
    const long = LONG_TEXT.has(name) || text.includes("\n") || text.length > 80;
    input = long ? (
      <textarea {...common} value={text} rows={Math.min(12, Math.max(3, text.split("\n").length + 1))}
        onChange={(event) => set(event.target.value === "" && !required ? undefined : event.target.value)} />
    ) : (
      <input {...common} type="text" value={text} maxLength={schema.maxLength}
        placeholder={schema.default !== undefined ? String(schema.default) : undefined}
        onChange={(event) => set(event.target.value === "" && !required ? undefined : event.target.value)} />
    );
  } else if (type === "array" && schema.items && typeOf(schema.items) === "string" && !schema.items.enum
    && (value === undefined || (Array.isArray(value) && value.every((item) => typeof item === "string")))) {
    input = (
      <textarea {...common} rows={3} value={Array.isArray(value) ? value.join("\n") : ""}
        onChange={(event) => {
          const lines = event.target.value.split("\n");
          set(lines.length === 1 && lines[0] === "" && !required ? undefined : lines);
        }} />
    );
  } else {
    return (
      <div className="schema-field" data-field-name={name}>
        <JsonField id={id} field={name} label={label} required={required} value={value} onChange={set}
          readOnly={readOnly} error={error} help={schema.description} />
        {extra}
      </div>
    );
  }
  return (
    <div className={`schema-field${type === "boolean" ? " checkbox" : ""}`} data-field-name={name}>
      <label htmlFor={id}>{label}{required && <span className="required" aria-hidden="true"> *</span>}</label>
      {input}
      {type === "array" && !custom && <p className="field-help">One per line.</p>}
      {schema.description && <p className="field-help" id={`${id}-help`}>{schema.description}</p>}
      {error && <p className="field-error" id={`${id}-error`}>{error}</p>}
      {extra}
    </div>
  );
}

interface JsonFieldProps {
  id?: string;
  /** The property's name, for tests and styles (`data-field`). */
  field?: string;
  label: string;
  value: unknown;
  onChange: (value: unknown) => void;
  required?: boolean;
  readOnly?: boolean;
  error?: string;
  help?: string;
}

/** A value edited as JSON text; the text stays as typed until it parses. */
export function JsonField({ id, field, label, value, onChange, required, readOnly, error, help }: JsonFieldProps) {
  const generated = `json-${useId().replace(/:/g, "")}`;
  const fieldId = id ?? generated;
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value, null, 2)));
  const [parseError, setParseError] = useState<string | null>(null);
  useEffect(() => {
    setText((current) => {
      try {
        if (current.trim() !== "" && JSON.stringify(JSON.parse(current)) === JSON.stringify(value)) return current;
      } catch {
        return current;
      }
      return value === undefined ? "" : JSON.stringify(value, null, 2);
    });
  }, [value]);
  const message = parseError ?? error;
  return (
    <>
      <label htmlFor={fieldId}>{label}{required && <span className="required" aria-hidden="true"> *</span>} <span className="muted">(JSON)</span></label>
      <textarea id={fieldId} data-field={field} className="code" value={text} disabled={readOnly} rows={Math.min(14, Math.max(3, text.split("\n").length))}
        aria-invalid={message ? true : undefined} aria-describedby={message ? `${fieldId}-error` : undefined}
        onChange={(event) => {
          setText(event.target.value);
          if (event.target.value.trim() === "") {
            setParseError(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(event.target.value));
            setParseError(null);
          } catch (failure) {
            setParseError(`Not JSON yet: ${(failure as Error).message}`);
          }
        }} />
      {help && <p className="field-help">{help}</p>}
      {message && <p className="field-error" id={`${fieldId}-error`}>{message}</p>}
    </>
  );
}
