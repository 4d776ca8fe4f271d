#!/usr/bin/env python3
"""The per-minute rollups against the engine's hot path: the same burst of executions with
and without rollup passes running beside it.

    python3 bench/rollups.py [--runs 5] [--executions 300] [--chain-length 10]
                             [--interval 1] [--history 0] [--workers 2] [--concurrency 2]

It re-executes itself with the project's `.venv/bin/python` (as `bench/run.py` does) and
shares that command's options for the database, queue, server, output and logs.
docs/performance.md ("The rollups beside the hot path") explains the figures. What it does:

1. Creates and migrates its own database, starts N `celery worker` processes with the
   production profile (bench/run.py's `workers_running`). With `--history N`, first
   writes N executions of another workflow that ended over the last 30 days (older than
   the minutes a pass rewrites), so that each pass reads from a table of that size, as it
   does in production, and marks the rollups written up to now; then times 20 passes
   over it without the index on `finished_at`, and 20 with it.
2. Per run, twice: `--executions` executions of a `--chain-length` chain started at once
   (bench/run.py's throughput shape; each burst on a workflow of its own, the executions of
   the earlier bursts kept, so that a pass rewrites minutes full of runs), once alone and
   once while a process of its own (as beat's task runs in a worker process) calls
   `rollups_write()` every `--interval` seconds (beat sends it once a minute: the default
   of one second is sixty times as often, so a cost would show). The order alternates from
   run to run, so that a drift of the machine does not favour one side.
3. Reports each side's node steps/s and end-to-end p50/p95 (median, min and max over the
   runs), the ratio with / without, and the time of one rollup pass while the burst ran.
4. Writes `bench/results/rollups-<date>[-<label>].json` and `.md`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import queue
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402 - the project's root first, for `python3 bench/rollups.py`
    BenchError,
    Engine,
    chain_definition,
    common_arguments,
    percentile,
    reexec_in_venv,
    report_head,
    results_write,
    say,
    session_running,
    summary,
)

DEFAULTS = {"runs": 5, "executions": 300, "chain_length": 10}
SIDES = ("alone", "with_rollups")
FIGURES = (("node_steps_per_s", "node steps/s"), ("executions_per_s", "executions/s"),
           ("e2e_p50_ms", "end to end p50 (ms)"), ("e2e_p95_ms", "end to end p95 (ms)"))
# The hot path may lose at most this share of its throughput to the rollups.
TARGET_RATIO = 0.95


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="prefork processes per worker (default 2)")
    parser.add_argument("--runs", type=int, default=DEFAULTS["runs"],
                        help=f"runs of each side (default {DEFAULTS['runs']})")
    parser.add_argument("--executions", type=int, default=DEFAULTS["executions"],
                        help=f"executions per burst (default {DEFAULTS['executions']})")
    parser.add_argument("--chain-length", type=int, default=DEFAULTS["chain_length"],
                        help=f"nodes per execution (default {DEFAULTS['chain_length']})")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two rollup passes beside the burst (default 1)")
    parser.add_argument("--history", type=int, default=0,
                        help="finished executions written beforehand (default 0)")
    parser.add_argument("--warmup", type=int, default=8,
                        help="executions before measuring (default 8; 0: none)")
    common_arguments(parser, database="weft_bench_rollups", queue="weft-bench-rollups",
                     timeout=900, timeout_help="seconds one burst may take before it fails",
                     logs_of="the workers'")
    args = parser.parse_args(argv)
    for name in ("workers", "concurrency", "runs", "executions", "chain_length"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.history < 0:
        parser.error("--history must be at least 0")
    if args.interval <= 0:
        parser.error("--interval must be more than 0")
    if not args.database.startswith(("weft_bench", "bench")):
        parser.error("--database must start with weft_bench or bench (it is dropped)")
    args.smoke = args.runs < 3 or any(getattr(args, key) < value
                                      for key, value in DEFAULTS.items())
    if args.smoke and "smoke" not in args.label:
        args.label = f"{args.label}-smoke" if args.label else "smoke"
    return args


def _passes_loop(interval: float, active: bool, database: str, ready: Any, stop: Any,
                 results: Any) -> None:
    """A process of its own, as beat's pass runs in a worker process: `rollups_write()` on
    `database` every `interval` seconds until `stop` is set (only waiting, when not
    `active`); then (durations, rows) or the error."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = database  # the measuring process's (a test's)
    from django.db import connection

    from monitoring.services import rollups_write

    connection.ensure_connection()
    ready.set()
    durations: list[float] = []
    rows: list[int] = []
    try:
        if not active:
            stop.wait()
        while not stop.is_set():
            began = time.perf_counter()
            rows.append(rollups_write())
            durations.append(time.perf_counter() - began)
            stop.wait(interval)
    except BaseException as error:  # noqa: BLE001 - reported by the measuring process
        results.put(("error", repr(error)))
        return
    results.put((durations, rows))


class RollupPasses:
    """`rollups_write()` every `interval` seconds in a process of its own (not beside the
    process that starts the executions, whose start phase it would slow by sharing its
    interpreter); each pass's time. Not `active`: the same process, writing nothing."""

    def __init__(self, interval: float, active: bool = True) -> None:
        from django.db import connection

        context = multiprocessing.get_context("spawn")
        database = connection.settings_dict["NAME"]
        self._ready, self._stop = context.Event(), context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_passes_loop, daemon=True,
                                        args=(interval, active, database, self._ready, self._stop,
                                              self._results))
        self.durations: list[float] = []
        self.rows: list[int] = []

    def start(self) -> None:
        """Once the process is set up and connected: the burst begins with its first pass."""
        self._process.start()
        if not self._ready.wait(timeout=120):
            raise BenchError("the rollup passes' process did not start")

    def stop(self) -> None:
        self._stop.set()
        try:
            outcome = self._results.get(timeout=120)
        except queue.Empty:
            raise BenchError("the rollup passes' process did not report") from None
        finally:
            self._process.join(timeout=30)
        if outcome[0] == "error":
            raise BenchError(f"a rollup pass failed: {outcome[1]}")
        self.durations, self.rows = outcome


class ChainEngine(Engine):
    """bench/run.py's engine side, each burst on a workflow of its own: the executions of the
    earlier bursts stay, so a pass rewrites minutes full of real runs, as beat's pass does
    on a busy platform."""

    def throughput(self, count: int, chain_length: int) -> dict[str, float]:
        from workflows.services import workflow_create

        self.chain_workflow = workflow_create(
            definition=chain_definition(chain_length, f"bench-chain-{uuid.uuid4().hex[:8]}"),
            actor=None)
        return super().throughput(count, chain_length)

    def reset(self) -> None:
        """Nothing is emptied: the earlier bursts are the history the passes rewrite."""


def history_write(count: int, batch: int = 5000) -> None:
    """`count` completed executions of their own workflow, ended over the last 30 days but
    before the minutes a pass rewrites; the rollups marked as written up to now."""
    import random

    from django.utils import timezone

    from executions.models import Execution, ExecutionStatus
    from monitoring.models import RollupMark
    from monitoring.services import ROLLUP_MARK, ROLLUP_REWRITE
    from workflows.services import workflow_create

    workflow = workflow_create(definition=chain_definition(2, "bench-history"), actor=None)
    version = workflow.versions.get()
    now = timezone.now()
    newest = now - ROLLUP_REWRITE - dt.timedelta(minutes=5)
    span = (dt.timedelta(days=30) - (now - newest)).total_seconds()
    randomly = random.Random(7)  # noqa: S311 - spread of test data, not a secret
    for start in range(0, count, batch):
        rows = []
        for _ in range(min(batch, count - start)):
            finished = newest - dt.timedelta(seconds=randomly.uniform(0, span))
            began = finished - dt.timedelta(milliseconds=randomly.uniform(5, 5000))
            rows.append(Execution(workflow=workflow, version=version,
                                  status=ExecutionStatus.COMPLETED, started_at=began,
                                  finished_at=finished))
        Execution.objects.bulk_create(rows, batch_size=batch)
    minute = now.replace(second=0, microsecond=0)
    RollupMark.objects.update_or_create(name=ROLLUP_MARK, defaults={"until": minute})


def pass_times(count: int) -> dict[str, float]:
    """p50 and p95 of `count` rollup passes in a row, in milliseconds."""
    from monitoring.services import rollups_write

    durations = []
    for _ in range(count):
        began = time.perf_counter()
        rollups_write()
        durations.append(time.perf_counter() - began)
    return {"p50_ms": round(percentile(durations, 50) * 1000, 2),
            "p95_ms": round(percentile(durations, 95) * 1000, 2)}


def index_compare(count: int = 20) -> dict[str, Any]:
    """A pass over the history without the index on `finished_at`, then with it (PostgreSQL:
    the query plan is what the index changes)."""
    from django.db import connection

    from executions.models import Execution

    index = next(index for index in Execution._meta.indexes
                 if index.name == "execution_finished_idx")
    with connection.schema_editor() as editor:
        editor.remove_index(Execution, index)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Execution._meta.db_table}")
    without = pass_times(count)
    with connection.schema_editor() as editor:
        editor.add_index(Execution, index)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Execution._meta.db_table}")
    with_index = pass_times(count)
    return {"passes": count, "without_index": without, "with_index": with_index,
            "ratio_p50": round(with_index["p50_ms"] / without["p50_ms"], 3)
            if without["p50_ms"] else None}


def measure(args: argparse.Namespace, log=say) -> dict[str, Any]:
    """Both sides `args.runs` times, in alternating order; the rollup passes' times."""
    index = None
    if args.history:
        log(f"history: {args.history} finished executions")
        history_write(args.history)
        log("a pass without and with the index on finished_at")
        index = index_compare()
        log(f"  {json.dumps(index)}")
    engine = ChainEngine(args.chain_length, 1, args.timeout)
    if args.warmup:
        log(f"warm-up: {args.warmup} executions")
        engine.throughput(args.warmup, args.chain_length)
    collected: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    passes: list[float] = []
    rows: list[int] = []
    for number in range(1, args.runs + 1):
        order = SIDES if number % 2 else tuple(reversed(SIDES))
        for side in order:
            log(f"run {number}/{args.runs}: {side}")
            # Both sides start the same process before their burst, so that its start-up
            # pause and its presence are the same; only one side's process writes rollups.
            writer = RollupPasses(args.interval, active=side == "with_rollups")
            writer.start()
            try:
                figures = engine.throughput(args.executions, args.chain_length)
            finally:
                writer.stop()
            if side == "with_rollups":
                passes += writer.durations
                rows += writer.rows
                figures["rollup_passes"] = len(writer.durations)
            log(f"  {json.dumps(figures)}")
            collected[side].append(figures)
            time.sleep(1)  # let the last result writes and acks settle
    result: dict[str, Any] = {side: summary(runs) for side, runs in collected.items()}
    result["rollup_pass"] = {
        "count": len(passes),
        "p50_ms": round(percentile(passes, 50) * 1000, 2) if passes else None,
        "p95_ms": round(percentile(passes, 95) * 1000, 2) if passes else None,
        "max_ms": round(max(passes) * 1000, 2) if passes else None,
        "rows_max": max(rows) if rows else None,
    }
    if index is not None:
        result["rollup_pass_index"] = index
    return result


def ratios(figures: dict[str, Any]) -> dict[str, float | None]:
    def median(side: str, key: str) -> float | None:
        return figures[side].get(key, {}).get("median")

    def divide(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    return {key: divide(median("with_rollups", key), median("alone", key))
            for key, _title in FIGURES}


def pair_ratios(figures: dict[str, Any]) -> dict[str, dict[str, float] | None]:
    """Each run's with / alone (the two sides of a run ran back to back), as median, min and
    max: steadier than the ratio of the medians where the machine drifts between runs."""
    paired: dict[str, dict[str, float] | None] = {}
    for key, _title in FIGURES:
        alone = figures["alone"].get(key, {}).get("runs", [])
        beside = figures["with_rollups"].get(key, {}).get("runs", [])
        values = [b / a for a, b in zip(alone, beside, strict=False) if a]
        paired[key] = ({"median": round(statistics.median(values), 3),
                        "min": round(min(values), 3), "max": round(max(values), 3)}
                       if values else None)
    return paired


def markdown(report: dict[str, Any]) -> str:
    settings_, figures, ratio = report["settings"], report["figures"], report["ratios"]

    def cell(side: str, key: str) -> str:
        figure = figures[side].get(key)
        if not figure:
            return "-"
        return f"{figure['median']:g} ({figure['min']:g} - {figure['max']:g})"

    machine_ = report["machine"]
    lines = [f"# Rollups beside the hot path: {report['started_at'][:10]}"
             + (f" ({report['label']})" if report["label"] else ""), ""]
    if report["smoke"]:
        lines += ["**Smoke figures**: small sizes and/or fewer than 3 runs; they show that "
                  "the harness works, not what the rollups cost.", ""]
    lines += [
        f"- command: `{report['command']}`",
        f"- {settings_['executions']} executions of a {settings_['chain_length']}-node chain "
        f"started at once, {settings_['runs']} runs per side in alternating order; median "
        "(min - max) over the runs",
        f"- history: {settings_['history']} finished executions in the table beforehand",
        f"- beside the burst: `rollups_write()` every {settings_['interval']:g} s (beat: "
        "every 60 s)",
        f"- workers: {settings_['workers']} x prefork concurrency {settings_['concurrency']}, "
        "PLATFORM_PROFILE=production",
        f"- machine: {machine_['cores']} cores ({machine_['cpu']}), {machine_['memory_gb']} GB; "
        f"load average before {report['load_average']['before']}, after "
        f"{report['load_average']['after']}",
        f"- commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}",
        "",
        "| figure | alone | with rollups | with / alone | with / alone per run |",
        "|---|---|---|---|---|",
    ]
    for key, title in FIGURES:
        value, pair = ratio.get(key), report["pair_ratios"].get(key)
        lines.append(f"| {title} | {cell('alone', key)} | {cell('with_rollups', key)} | "
                     f"{'-' if value is None else value} | "
                     + (f"{pair['median']:g} ({pair['min']:g} - {pair['max']:g})" if pair
                        else "-") + " |")
    rollup = figures["rollup_pass"]
    lines += ["", f"One rollup pass while the bursts ran: {rollup['count']} passes, p50 "
              f"{rollup['p50_ms']} ms, p95 {rollup['p95_ms']} ms, max {rollup['max_ms']} ms, "
              f"at most {rollup['rows_max']} rows written.", ""]
    index = figures.get("rollup_pass_index")
    if index:
        lines += [f"One pass alone over the history ({index['passes']} in a row), by the index "
                  "on `finished_at`:", "", "| index | p50 (ms) | p95 (ms) |", "|---|---|---|",
                  f"| without | {index['without_index']['p50_ms']} | "
                  f"{index['without_index']['p95_ms']} |",
                  f"| with | {index['with_index']['p50_ms']} | {index['with_index']['p95_ms']} |",
                  "", f"with / without (p50): {index['ratio_p50']}", ""]
    lines += ["| target | value | met |", "|---|---|---|"]
    met = report["target"]["met"]
    lines.append(f"| {report['target']['target']} | {report['target']['value']} | "
                 f"{ {None: 'not measured', True: 'yes', False: 'no'}[met]} |")
    return "\n".join(lines) + "\n"


def report_build(args: argparse.Namespace, figures: dict[str, Any], *, started: dt.datetime,
                 load_before: list[float], command: str) -> dict[str, Any]:
    ratio = ratios(figures)
    value = ratio["node_steps_per_s"]
    settings_ = {key: getattr(args, key) for key in (
        "workers", "concurrency", "runs", "executions", "chain_length", "interval", "history",
        "warmup", "queue", "database", "log_level")}
    return report_head(args, started=started, load_before=load_before, command=command,
                       settings=settings_) | {
        "figures": figures,
        "ratios": ratio,
        "pair_ratios": pair_ratios(figures),
        "target": {"target": f"node steps/s with rollups >= {TARGET_RATIO} x alone",
                   "value": value, "met": None if value is None else value >= TARGET_RATIO},
    }


def report_write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    return results_write(report, directory, "rollups", markdown(report))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with session_running(args, "weft-bench-rollups-") as session:
        with session.workers():
            figures = measure(args)
        report = report_build(args, figures, started=session.started,
                              load_before=session.load_before,
                              command=session.command("rollups.py", argv))
        json_path, markdown_path = report_write(report, Path(args.output))
        print(markdown(report))
        say(f"wrote {json_path} and {markdown_path}")
    return 0

if __name__ == "__main__":
    reexec_in_venv(__file__)
    try:
        raise SystemExit(main())
    except BenchError as error:
        raise SystemExit(f"[bench] {error}") from None
    except KeyboardInterrupt:
        raise SystemExit("[bench] interrupted; workers stopped, queues and database removed") \
            from None
