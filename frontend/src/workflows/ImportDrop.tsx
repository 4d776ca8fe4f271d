import { useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { ApiError, api } from "../lib/api";
import type { Problem, WorkflowDetail } from "../lib/types";

interface ImportResult {
  workflow: WorkflowDetail;
  created: boolean;
  version_created: boolean;
}

/** Import a workflow by dropping a YAML or JSON file (or choosing one); opens it after. */
export function ImportDrop() {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [error, setError] = useState<{ message: string; problems: Problem[] } | null>(null);

  async function upload(file: File) {
    const json = file.name.toLowerCase().endsWith(".json") || file.type === "application/json";
    try {
      const result = await api<ImportResult>("workflows/import", {
        raw: { body: await file.text(), contentType: json ? "application/json" : "application/yaml" },
      });
      window.location.assign(`/workflows/${result.workflow.id}/`);
    } catch (failure) {
      const problems = failure instanceof ApiError ? ((failure.details.errors ?? []) as Problem[]) : [];
      setError({ message: errorText(failure), problems });
    }
  }

  return (
    <div className={`drop${over ? " over" : ""}`} data-testid="import-drop"
      onDragOver={(event) => { event.preventDefault(); setOver(true); }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        const file = event.dataTransfer.files[0];
        if (file) void upload(file);
      }}>
      <span>Drop a YAML or JSON workflow here to import it, or </span>
      <button type="button" className="link" onClick={() => input.current?.click()}>choose a file</button>
      <input ref={input} type="file" accept=".yaml,.yml,.json,application/json,application/yaml"
        aria-label="Workflow file to import" className="visually-hidden"
        onChange={(event) => { const file = event.target.files?.[0]; if (file) void upload(file); }} />
      {error && (
        <Notice kind="error">
          <p>The file was not imported: {error.message}</p>
          {error.problems.length > 0 && (
            <ul>{error.problems.map((problem, index) => (
              <li key={index}>{problem.node ? `${problem.node}: ` : ""}{problem.field ? `${problem.field}: ` : ""}{problem.message}</li>
            ))}</ul>
          )}
        </Notice>
      )}
    </div>
  );
}
