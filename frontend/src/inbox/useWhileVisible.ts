import { useEffect, useRef } from "react";

/** Call `refresh` every `everyMs` while the tab is visible, and at once when it becomes
 * visible again; a hidden tab asks the server nothing. */
export function useWhileVisible(refresh: () => void, everyMs: number): void {
  const latest = useRef(refresh);
  useEffect(() => {
    latest.current = refresh;
  }, [refresh]);
  useEffect(() => {
    const visible = () => document.visibilityState === "visible";
    const timer = window.setInterval(() => { if (visible()) latest.current(); }, everyMs);
    const shown = () => { if (visible()) latest.current(); };
    document.addEventListener("visibilitychange", shown);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", shown);
    };
  }, [everyMs]);
}
