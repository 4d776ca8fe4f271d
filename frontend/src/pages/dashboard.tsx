import { useEffect, useState } from "react";
import { Notice } from "../components/Notice";
import { BigNumbers } from "../dashboard/BigNumbers";
import { Failures } from "../dashboard/Failures";
import { Panel } from "../dashboard/Panel";
import { Caches, Locks, Queues, Workers } from "../dashboard/Platform";
import { RangePicker } from "../dashboard/RangePicker";
import { RecentRuns } from "../dashboard/RecentRuns";
import { RefreshControl } from "../dashboard/RefreshControl";
import { RunCharts } from "../dashboard/RunCharts";
import { addressWith, rangeFromAddress, rangeLabel, type RangeKey } from "../dashboard/range";
import { useDashboard } from "../dashboard/useDashboard";
import { may } from "../lib/props";
import { mount } from "../lib/mount";
import "../dashboard/dashboard.css";

function Dashboard() {
  const [range, setRange] = useState<RangeKey>(() => rangeFromAddress(window.location.search));
  const [live, setLive] = useState(true);
  const { data, refresh } = useDashboard(range, live);

  useEffect(() => {
    window.history.replaceState(null, "", addressWith(range));
  }, [range]);

  const resume = (next: boolean) => {
    setLive(next);
    if (next) refresh();
  };
  // Until the new range's figures arrive, the old range's are not shown under its name.
  const current = data.range === range;
  const metrics = current ? data.metrics.value : null;
  const empty = metrics !== null && metrics.total === 0 && metrics.finished === 0;

  return (
    <div className="page dashboard">
      <div className="page-head">
        <h1>Dashboard</h1>
        <RangePicker range={range} onChange={setRange} />
        <div className="actions">
          <RefreshControl updatedAt={data.updatedAt} live={live} onLive={resume} onRefresh={refresh} />
        </div>
      </div>

      <section className="dashboard-runs" aria-labelledby="runs-title" data-range={data.range ?? ""}>
        <h2 id="runs-title">Runs · {rangeLabel(range).toLowerCase()}</h2>
        {current && data.metrics.error && <Notice kind="error">The runs' figures could not be read: {data.metrics.error}</Notice>}
        <BigNumbers metrics={metrics} counts={data.counts.value} />
        {empty && <p className="empty" data-empty="range">No run was started in this range.</p>}
        {metrics?.series && !empty && <RunCharts points={metrics.series} bucket={metrics.bucket ?? "bucket"} />}
      </section>

      <div className="dashboard-grid">
        <Panel id="failures" title="Most failing" part={current ? data.failures : { value: null, error: null }} wide>
          {(failures) => <Failures failures={failures} />}
        </Panel>
        <Panel id="recent" title="Recent runs" part={data.recent} wide>
          {(runs) => <RecentRuns runs={runs} />}
        </Panel>
        <Panel id="queues" title="Queues" part={data.queues}>
          {(queues) => <Queues figures={queues} />}
        </Panel>
        <Panel id="workers" title="Workers" part={data.workers}>
          {(workers) => <Workers figures={workers} />}
        </Panel>
        <Panel id="caches" title="Caches" part={data.caches}>
          {(caches) => <Caches figures={caches} />}
        </Panel>
        <Panel id="locks" title="Locks" part={data.locks}>
          {(locks) => <Locks locks={locks} />}
        </Panel>
      </div>
    </div>
  );
}

function DashboardPage() {
  if (!may("read")) {
    return (
      <div className="page">
        <div className="page-head"><h1>Dashboard</h1></div>
        <Notice kind="warn">
          The dashboard shows the runs of every workflow and the platform's queues and workers:
          it needs the <code>workflow.read</code> permission, which you do not have. Ask an
          administrator to add you to a group that has it (such as workflow-viewers).
        </Notice>
      </div>
    );
  }
  return <Dashboard />;
}

mount(DashboardPage);
