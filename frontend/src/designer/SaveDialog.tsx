import { useEffect, useRef, useState } from "react";

/** Ask for the change note of the version a save (a new workflow) or a publish (the shared
 * draft of a saved one) makes. */
export function SaveDialog({ saving, isNew, onCancel, onSave }: { saving: boolean; isNew: boolean; onCancel: () => void; onSave: (note: string) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [note, setNote] = useState("");
  useEffect(() => { dialog.current?.showModal(); }, []);
  const action = isNew ? "Save" : "Publish";
  return (
    <dialog ref={dialog} onClose={onCancel} aria-labelledby="save-title">
      <form method="dialog" onSubmit={(event) => { event.preventDefault(); onSave(note); }}>
        <h2 id="save-title">{isNew ? "Create the workflow" : "Publish the draft as a new version"}</h2>
        {!isNew && <p className="field-help">Everyone who changed the draft since the last version is named as a co-author.</p>}
        <label htmlFor="change-note">Change note</label>
        <input id="change-note" type="text" value={note} maxLength={500} autoFocus onChange={(event) => setNote(event.target.value)} placeholder="What changed" />
        <div className="actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="primary" disabled={saving}>{saving ? `${action === "Save" ? "Saving" : "Publishing"}…` : action}</button>
        </div>
      </form>
    </dialog>
  );
}
