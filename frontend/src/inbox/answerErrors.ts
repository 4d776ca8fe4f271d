// The resume API names what was wrong with an answer: `details.fields.payload` holds
// "<path>: <message>" lines from the form's JSON Schema, `outcome` and `form` a message.
// Lines about a property of the form go on that field; the rest above the form.
import { ApiError } from "../lib/api";
import type { JsonSchema } from "../lib/types";

export interface AnswerErrors {
  fields: Record<string, string>;
  general: string[];
}

const REQUIRED = /^'([^']+)' is a required property$/;

export function answerErrors(error: unknown, form: JsonSchema | null | undefined): AnswerErrors {
  const result: AnswerErrors = { fields: {}, general: [] };
  if (!(error instanceof ApiError)) return result;
  const properties = form?.properties ?? {};
  const fields = (error.details.fields ?? {}) as Record<string, unknown>;
  const lines = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value ? [String(value)] : []);
  const put = (name: string, message: string) => {
    result.fields[name] = result.fields[name] ? `${result.fields[name]} ${message}` : message;
  };
  for (const line of lines(fields.payload)) {
    const split = line.indexOf(": ");
    const path = split > 0 ? line.slice(0, split) : "payload";
    const message = split > 0 ? line.slice(split + 2) : line;
    const property = path.split("/")[0];
    const missing = REQUIRED.exec(message);
    if (path !== "payload" && property in properties) put(property, message);
    else if (path === "payload" && missing && missing[1] in properties) put(missing[1], "This field is required.");
    else result.general.push(line);
  }
  for (const [name, value] of Object.entries(fields)) {
    if (name !== "payload") result.general.push(...lines(value));
  }
  return result;
}
