import type { ReactNode } from "react";
import { ApiError } from "../lib/api";

/** A message above the content: an error from the API, a success, a warning. */
export function Notice({ kind, children }: { kind: "error" | "ok" | "warn"; children: ReactNode }) {
  return <div className={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>{children}</div>;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
