// When the figures were read, and the controls of their refreshing.
import { useEffect, useState } from "react";
import { REFRESH_MS } from "./useDashboard";

interface RefreshControlProps {
  updatedAt: Date | null;
  live: boolean;
  onLive: (live: boolean) => void;
  onRefresh: () => void;
}

export function RefreshControl({ updatedAt, live, onLive, onRefresh }: RefreshControlProps) {
  const [busy, setBusy] = useState(false);
  useEffect(() => setBusy(false), [updatedAt]);
  return (
    <div className="refresh-control">
      <span className="muted" role="status">
        {updatedAt ? `Updated ${updatedAt.toLocaleTimeString()}` : "Loading…"}
        {live ? ` · every ${REFRESH_MS / 1000} s` : " · paused"}
      </span>
      <button type="button" onClick={() => onLive(!live)}>
        {live ? "Pause updates" : "Resume updates"}
      </button>
      <button type="button" disabled={busy} onClick={() => { setBusy(true); onRefresh(); }}>Refresh now</button>
    </div>
  );
}
