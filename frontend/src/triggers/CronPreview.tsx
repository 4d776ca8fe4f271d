import { useEffect, useState } from "react";
import { ApiError, api, query } from "../lib/api";
import { errorText } from "../components/Notice";
import type { Preview } from "./types";

const SHOWN = 3;
const PAUSE_MS = 400;

/** When a cron typed in the form would fire, asked of the API once typing pauses; a cron
 * or zone it refuses is named here before anything is saved. */
export function CronPreview({ cron, timezone }: { cron: string; timezone: string }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    setPreview(null);
    setProblem(null);
    if (!cron.trim()) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      api<Preview>(`schedules/preview${query({ cron, timezone: timezone || "UTC", count: SHOWN })}`, { signal: controller.signal })
        .then(setPreview, (failure) => {
          if (controller.signal.aborted) return;
          const fields = failure instanceof ApiError ? failure.fieldErrors() : {};
          setProblem(Object.values(fields).join(" ") || errorText(failure));
        });
    }, PAUSE_MS);
    return () => { controller.abort(); window.clearTimeout(timer); };
  }, [cron, timezone]);

  return (
    <div className="cron-preview" aria-live="polite">
      {!cron.trim() && <p className="muted">Type a cron to see when it would fire.</p>}
      {problem && <p className="field-error">{problem}</p>}
      {preview && (
        <>
          <p className="field-help">It would fire at:</p>
          <ol className="fire-times">
            {preview.fire_times.map((time) => (
              <li key={time.utc}>{time.local.slice(0, 16).replace("T", " ")} <span className="muted">{preview.timezone}</span></li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
