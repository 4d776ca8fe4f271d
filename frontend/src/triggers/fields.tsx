// Small labelled inputs shared by the trigger forms, each with its API error under it.
import { useCallback, useState, type ReactNode } from "react";
import type { WorkflowChoice } from "./types";

interface FieldProps {
  id: string;
  label: string;
  error?: string;
  help?: ReactNode;
  children: ReactNode;
}

/** A label, the input, its help and the API's message for it. */
export function Field({ id, label, error, help, children }: FieldProps) {
  return (
    <div className="trigger-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {help && <p className="field-help" id={`${id}-help`}>{help}</p>}
      {error && <p className="field-error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

/** aria attributes tying an input to its help and error. */
export function described(id: string, error?: string, help?: boolean) {
  const ids = [help ? `${id}-help` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return { "aria-invalid": error ? true : undefined, "aria-describedby": ids || undefined };
}

interface PickerProps {
  id: string;
  workflows: WorkflowChoice[];
  value: string;
  onChange: (value: string) => void;
  error?: string;
}

export function WorkflowPicker({ id, workflows, value, onChange, error }: PickerProps) {
  return (
    <Field id={id} label="Workflow" error={error}>
      <select id={id} value={value} required onChange={(event) => onChange(event.target.value)} {...described(id, error)}>
        <option value="">Choose a workflow…</option>
        {workflows.map((workflow) => <option key={workflow.id} value={workflow.id}>{workflow.label}</option>)}
      </select>
    </Field>
  );
}

/** The API's messages per field; editing a field takes its message away. */
export function useFieldErrors() {
  const [fields, setFields] = useState<Record<string, string>>({});
  const edited = useCallback(<T,>(name: string, set: (value: T) => void) => (value: T) => {
    set(value);
    setFields((current) => {
      if (!(name in current)) return current;
      const rest = { ...current };
      delete rest[name];
      return rest;
    });
  }, []);
  return { fields, setFields, edited };
}
