import { useId, useRef, useState } from "react";
import { Notice } from "../components/Notice";

interface Props {
  title: string;
  url: string;
  onDismiss: () => void;
}

/** A webhook's secret URL, the one time the platform shows it: copy it or lose it. */
export function SecretUrl({ title, url, onDismiss }: Props) {
  const headingId = `secret-${useId().replace(/:/g, "")}`;
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);

  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      setCopied("Copied to the clipboard.");
    } catch {
      field.current?.select();
      setCopied("The browser refused the clipboard: the URL is selected, copy it with Ctrl+C.");
    }
  }

  return (
    <section className="secret-url panel" aria-labelledby={headingId}>
      <h3 id={headingId}>{title}</h3>
      <Notice kind="warn">
        This URL is shown only this once: it is the webhook's credential and Weft does not keep it.
        Copy it now; if it is lost, rotate the webhook for a new one.
      </Notice>
      <label htmlFor={`${headingId}-url`}>Webhook URL</label>
      <div className="secret-url-row">
        <input ref={field} id={`${headingId}-url`} type="text" readOnly value={url} className="code"
          onFocus={(event) => event.target.select()} />
        <button type="button" onClick={() => void copy()}>Copy</button>
      </div>
      {copied && <p className="field-help" role="status">{copied}</p>}
      <p className="field-help">Send it a JSON object to start a run with that object as its input:</p>
      <pre>{`curl -X POST -H 'Content-Type: application/json' -d '{}' '${url}'`}</pre>
      <button type="button" onClick={onDismiss}>I have stored it</button>
    </section>
  );
}
