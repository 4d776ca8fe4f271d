import { pageProps } from "../lib/props";
import { colourClass, describe, initials, people, type PresenceEntry } from "./people";
import "./presence.css";

/** Beyond this many people a row says "+n" rather than drawing them all. */
const SHOWN = 5;

/** The people among `entries` as small round avatars: their initials in their colour, a dot
 * for their status, and who they are, their status and activity as the tooltip. */
export function Avatars({ entries, label }: { entries: PresenceEntry[]; label: string }) {
  const everyone = people(entries);
  if (everyone.length === 0) return null;
  const me = pageProps().user.username;
  const hidden = everyone.slice(SHOWN);
  return (
    <ul className="avatars" aria-label={label}>
      {everyone.slice(0, SHOWN).map((entry) => {
        const text = describe(entry, me);
        return (
          <li key={entry.user} className={`avatar ${colourClass(entry.user)}`} data-user={entry.username}
            data-status={entry.status} title={text}>
            <span aria-hidden="true">{initials(entry.username)}</span>
            <span className="visually-hidden">{text}</span>
          </li>
        );
      })}
      {hidden.length > 0 && (
        <li className="avatar more" title={hidden.map((entry) => describe(entry, me)).join("\n")}>+{hidden.length}</li>
      )}
    </ul>
  );
}
