// The one way pages talk to the platform: its own API, with the session cookie and the
// CSRF token, errors turned into ApiError with the API's {code, message, details}.
import { pageProps } from "./props";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The messages of a DRF field error, keyed by field name. */
  fieldErrors(): Record<string, string> {
    const fields = (this.details.fields ?? {}) as Record<string, unknown>;
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(fields)) {
      result[name] = Array.isArray(value) ? value.map(String).join(" ") : JSON.stringify(value);
    }
    return result;
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  raw?: { body: BodyInit; contentType: string };
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined && !options.raw ? "GET" : "POST");
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (options.raw) {
    headers["Content-Type"] = options.raw.contentType;
    body = options.raw.body;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = pageProps().csrfToken;
  const response = await fetch(`/api/${path}`, {
    method, headers, body, credentials: "same-origin", signal: options.signal,
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let payload: unknown = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const error = (payload ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    if (response.status === 401) {
      window.location.assign(`/login/?next=${encodeURIComponent(window.location.pathname)}`);
    }
    throw new ApiError(response.status, error.code ?? `http_${response.status}`,
      error.message ?? `The request failed (${response.status}).`, error.details ?? {});
  }
  return payload as T;
}

/** `api(path)` for an effect whose inputs can change: the answer reaches `onValue` (a
 * failure `onError`) only if the effect was not left first, so a slow answer never puts
 * old data over newer. Returns the effect's cleanup, which also cancels the request. */
export function load<T>(path: string, onValue: (value: T) => void, onError?: (failure: unknown) => void): () => void {
  const controller = new AbortController();
  api<T>(path, { signal: controller.signal }).then(
    (value) => { if (!controller.signal.aborted) onValue(value); },
    (failure) => { if (!controller.signal.aborted) onError?.(failure); });
  return () => controller.abort();
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** A query string from the values that are set. */
export function query(values: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
