import { useEffect, useRef, useState } from "react";
import { Notice, errorText } from "../components/Notice";

interface Props {
  title: string;
  message: string;
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** A modal question before something that cannot be undone; the refusal stays in it. */
export function ConfirmDialog({ title, message, confirm, onConfirm, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  async function go() {
    setBusy(true);
    try {
      await onConfirm();
      dialog.current?.close();
    } catch (failure) {
      setError(errorText(failure));
      setBusy(false);
    }
  }

  return (
    <dialog ref={dialog} onClose={onClose} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{title}</h2>
      <p>{message}</p>
      {error && <Notice kind="error">{error}</Notice>}
      <div className="actions">
        <button type="button" onClick={() => dialog.current?.close()}>Keep it</button>
        <button type="button" className="danger" disabled={busy} onClick={() => void go()}>{confirm}</button>
      </div>
    </dialog>
  );
}
