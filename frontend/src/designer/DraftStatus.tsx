import type { DraftLink } from "../collaboration/draftDoc";

const CLOSED: Record<number, string> = {
  4401: "Not live: signed out",
  4403: "Not live: no access to this workflow",
  4404: "Not live: the workflow is gone",
};

/** The shared draft's connection, on the designer's bar: live, (re)connecting or closed. */
export function DraftStatus({ link, readOnly }: { link: DraftLink | null; readOnly: boolean }) {
  if (link === null) return null;
  const text = {
    connecting: "Connecting…",
    live: readOnly ? "Live, read-only" : "Live",
    reconnecting: "Reconnecting…",
    closed: CLOSED[link.code ?? 0] ?? "Not live",
  }[link.state];
  const title = {
    connecting: "Opening the shared draft",
    live: "Changes are shared with everyone on this workflow as they are made",
    reconnecting: "Connection lost: your changes are kept here and sent when it is back",
    closed: "The shared draft is closed: reload the page",
  }[link.state];
  return <span className={`draft-link ${link.state}`} role="status" title={title} data-state={link.state}>{text}</span>;
}
