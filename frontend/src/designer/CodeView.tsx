import { useEffect, useRef, useState } from "react";
import { parse, stringify } from "yaml";
import type { Definition } from "../lib/types";

interface Props {
  definition: Definition;
  readOnly: boolean;
  /** An edit that parses: the definition the text held before it, and after. */
  onApply: (before: Definition, after: Definition) => void;
}

/** The same definition as YAML or JSON text: edits that parse are applied to the canvas,
 * as what each changed (so what others change meanwhile in the shared draft stays). */
export function CodeView({ definition, readOnly, onApply }: Props) {
  const [format, setFormat] = useState<"yaml" | "json">("yaml");
  const render = (value: Definition) => (format === "yaml" ? stringify(value) : JSON.stringify(value, null, 2));
  const [text, setText] = useState(() => render(definition));
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  // What the text held when it last parsed: an edit is applied as what it changed from this.
  const parsedBefore = useRef(definition);

  useEffect(() => {
    if (editing) return;
    setText(render(definition));
    parsedBefore.current = definition;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [definition, format, editing]);

  function apply(value: string) {
    setText(value);
    try {
      const parsed = (format === "yaml" ? parse(value) : JSON.parse(value)) as Definition;
      if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.nodes) || !Array.isArray(parsed.edges ?? [])) {
        setError("A definition is an object with a `nodes` list (and `edges`).");
        return;
      }
      setError(null);
      const after = { ...parsed, edges: parsed.edges ?? [] };
      onApply(parsedBefore.current, after);
      parsedBefore.current = after;
    } catch (failure) {
      setError((failure as Error).message);
    }
  }

  return (
    <section className="code-view" aria-label="Definition as text">
      <div className="inline">
        <label htmlFor="code-format">Format</label>
        <select id="code-format" value={format} onChange={(event) => { setEditing(false); setFormat(event.target.value as "yaml" | "json"); }}>
          <option value="yaml">YAML</option>
          <option value="json">JSON</option>
        </select>
      </div>
      <label htmlFor="code-text" className="visually-hidden">Definition</label>
      <textarea id="code-text" className="code" spellCheck={false} value={text} readOnly={readOnly}
        aria-invalid={error ? true : undefined}
        onFocus={() => setEditing(true)} onBlur={() => setEditing(false)}
        onChange={(event) => apply(event.target.value)} />
      {error && <p className="field-error" role="alert">{error}</p>}
    </section>
  );
}
