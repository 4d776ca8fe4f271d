// Which controls an execution's status allows, as the engine's services decide them.
const TERMINAL = ["completed", "failed", "cancelled"];

export type Control = "pause" | "resume" | "cancel" | "retry";

export function allowed(control: Control, status: string): boolean {
  switch (control) {
    case "pause": return status === "running" || status === "waiting";
    case "resume": return status === "paused" || status === "suspended";
    case "cancel": return !TERMINAL.includes(status);
    // the service retries a failed execution only (a cancelled one is refused)
    case "retry": return status === "failed";
  }
}

export function isTerminal(status: string): boolean {
  return TERMINAL.includes(status);
}
