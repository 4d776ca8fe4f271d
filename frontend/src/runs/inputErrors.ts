// The API's answer to an input that breaks the workflow's inputs schema, spread over the
// form: `details.fields` is keyed by the path of the value ("name", "address.city", or
// "input" for the whole object, where a missing required property is reported).
import { ApiError } from "../lib/api";

export interface InputErrors {
  /** Messages per top-level property. */
  fields: Record<string, string>;
  /** Messages about the input as a whole. */
  general: string[];
}

const MISSING = /^'([^']+)' is a required property$/;

export function inputErrors(error: ApiError, properties: string[]): InputErrors {
  const result: InputErrors = { fields: {}, general: [] };
  const raw = (error.details.fields ?? {}) as Record<string, unknown>;
  const add = (field: string, message: string) => {
    result.fields[field] = result.fields[field] ? `${result.fields[field]} ${message}` : message;
  };
  for (const [path, value] of Object.entries(raw)) {
    const messages = Array.isArray(value) ? value.map(String) : [JSON.stringify(value)];
    for (const message of messages) {
      const top = path.split(".")[0];
      const missing = MISSING.exec(message);
      if (path === "input" && missing && properties.includes(missing[1])) add(missing[1], "This field is required.");
      else if (path !== "input" && properties.includes(top)) add(top, path === top ? message : `${path}: ${message}`);
      else result.general.push(path === "input" ? message : `${path}: ${message}`);
    }
  }
  return result;
}
