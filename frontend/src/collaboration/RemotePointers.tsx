import { useStore } from "@xyflow/react";
import { memo, useLayoutEffect, useRef } from "react";
import { colourClass, type Point, type PresenceEntry } from "./people";

const viewport = (state: { transform: [number, number, number] }) => state.transform;

/** The others' pointers over the canvas, each a small cursor in their colour with their
 * name, where they point in flow coordinates at this page's pan and zoom (a cursor keeps
 * its size whatever the zoom). No inline style: the layer holds the viewport and each
 * cursor its point as CSS custom properties, and presence.css places it from them. */
export function RemotePointers({ others, pointers }: { others: PresenceEntry[]; pointers: Record<string, Point> }) {
  const layer = useRef<HTMLDivElement>(null);
  const [x, y, zoom] = useStore(viewport);
  useLayoutEffect(() => {
    const style = layer.current?.style;
    style?.setProperty("--viewport-x", `${x}px`);
    style?.setProperty("--viewport-y", `${y}px`);
    style?.setProperty("--viewport-zoom", String(zoom));
  }, [x, y, zoom]);
  return (
    <div className="remote-pointers" ref={layer} aria-hidden="true">
      {others.map((entry) => {
        const at = pointers[entry.connection];
        return at ? <RemotePointer key={entry.connection} entry={entry} x={at.x} y={at.y} /> : null;
      })}
    </div>
  );
}

const RemotePointer = memo(function RemotePointer({ entry, x, y }: { entry: PresenceEntry; x: number; y: number }) {
  const element = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    element.current?.style.setProperty("--pointer-x", String(x));
    element.current?.style.setProperty("--pointer-y", String(y));
  }, [x, y]);
  return (
    <div className={`remote-pointer ${colourClass(entry.user)}`} ref={element} data-user={entry.username}>
      <svg className="remote-pointer-arrow" viewBox="0 0 12 16" width="12" height="16">
        <path d="M0 0 L0 14 L4 10.5 L6.8 16 L9 15 L6.3 9.6 L11.5 9.6 Z" />
      </svg>
      <span className="remote-pointer-name">{entry.username}</span>
    </div>
  );
});
