import { useEffect, useRef, useState } from "react";

/** Ask for the change note of the version a save makes. */
export function SaveDialog({ saving, isNew, onCancel, onSave }: { saving: boolean; isNew: boolean; onCancel: () => void; onSave: (note: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [note, setNote] = useState("");
  useEffect(() => { dialog.current?.showModal(); }, []);
  return (
    <dialog ref={dialog} onClose={onCancel} aria-labelledby="save-title">
      <form method="dialog" onSubmit={(event) => { event.preventDefault(); onSave(note); }}>
        <h2 id="save-title">{isNew ? "Create the workflow" : "Save a new version"}</h2>
        <label htmlFor="change-note">Change note</label>
        <input id="change-note" type="text" value={note} maxLength={500} autoFocus onChange={(event) => setNote(event.target.value)} placeholder="What changed" />
        <div className="actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={saving}>{saving ? "Saving…" : "Save"}</button>
        </div>
      </form>
    </dialog>
  );
}
