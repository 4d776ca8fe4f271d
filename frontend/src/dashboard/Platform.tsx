// The platform's moving parts now: the broker's queues, the workers, the caches, the locks.
import { count, milliseconds, percent, when } from "../lib/format";
import type { Caches as CachesFigures, Lock, QueuesPending, Workers as WorkersFigures } from "./types";

const seconds = (value: number | null) => value === null ? "—" : milliseconds(value * 1000);

export function Queues({ figures }: { figures: QueuesPending }) {
  return (
    <>
      <p className="panel-summary">
        {figures.ready === 0 ? "No message is waiting for a worker." : (
          <><strong>{count(figures.ready)}</strong> waiting; {figures.oldest_age_seconds === null
            ? "how long the oldest has waited is not known (see the queues below)"
            : `the oldest for ${seconds(figures.oldest_age_seconds)}`}.</>
        )}
      </p>
      <table className="list compact queues">
        <thead><tr><th scope="col">Queue</th><th scope="col">Ready</th><th scope="col">Unacked</th><th scope="col">Consumers</th><th scope="col">Oldest wait</th></tr></thead>
        <tbody>
          {figures.queues.map((queue) => (
            <tr key={queue.name} data-queue={queue.name}>
              <td><code>{queue.name}</code>{queue.error && <span className="field-error">{queue.error}</span>}</td>
              <td className="number">{count(queue.ready)}</td>
              <td className="number">{count(queue.unacked)}</td>
              <td className="number">{count(queue.consumers)}</td>
              <td className="number">{seconds(queue.oldest_age_seconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Workers({ figures }: { figures: WorkersFigures }) {
  return (
    <>
      <p className="panel-summary" data-figure="workers-online">
        <strong>{count(figures.online)}</strong> {figures.online === 1 ? "worker" : "workers"} online
      </p>
      {figures.workers.length > 0 && (
        <table className="list compact workers">
          <thead><tr><th scope="col">Worker</th><th scope="col">Processes</th><th scope="col">Running</th><th scope="col">Tasks run</th></tr></thead>
          <tbody>
            {figures.workers.map((worker) => (
              <tr key={worker.name}>
                <td><code>{worker.name}</code></td>
                <td className="number">{count(worker.processes)}</td>
                <td className="number" title={worker.running.join(", ")}>{count(worker.tasks_running)}</td>
                <td className="number">{count(worker.tasks_total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function Caches({ figures }: { figures: CachesFigures }) {
  return (
    <>
      <table className="list compact caches">
        <thead><tr><th scope="col">Cache</th><th scope="col">Hit rate</th><th scope="col">Hits</th><th scope="col">Misses</th></tr></thead>
        <tbody>
          {figures.caches.map((cache) => (
            <tr key={cache.name} data-cache={cache.name}>
              <td><span title={cache.description}>{cache.name}</span></td>
              <td className="number">{percent(cache.hit_rate)}</td>
              <td className="number">{count(cache.hits)}</td>
              <td className="number">{count(cache.misses)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">{figures.since ? `Counted since ${when(figures.since)}.` : "Counted since the counters began (never reset)."}</p>
    </>
  );
}

export function Locks({ locks }: { locks: Lock[] }) {
  if (locks.length === 0) return <p className="muted">No lock is held now.</p>;
  return (
    <table className="list compact locks">
      <thead><tr><th scope="col">Kind</th><th scope="col">Key</th><th scope="col">Owner</th><th scope="col">Expires in</th></tr></thead>
      <tbody>
        {locks.map((lock) => (
          <tr key={lock.key}>
            <td title={lock.description}>{lock.kind}</td>
            <td><code>{lock.key}</code>{lock.subject && <span className="muted"> {lock.subject}</span>}</td>
            <td>{lock.owner ?? "—"}</td>
            <td className="number">{seconds(lock.expires_in_seconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
