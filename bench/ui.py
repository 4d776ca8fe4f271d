#!/usr/bin/env python3
"""The designer in a real browser: how fast a large workflow opens, how smooth a drag is.

    python3 bench/ui.py [--nodes 500] [--baseline-nodes 10] [--runs 5]

Like the other commands of bench/ it re-executes itself with `.venv/bin/python`, checks the
services, creates its database afresh and migrates it, and drops it at the end. It starts
the ASGI web server as `dev.py up` does (DEBUG off, the built files collected and served
by whitenoise) and drives Debian's Chromium (`/usr/bin/chromium`) with Playwright:

- open: a signed-in page navigates to `/workflows/<id>/` of a workflow of `--nodes`
  Transform nodes (50 parallel chains, every node placed, as the designer saves them) and
  of `--baseline-nodes` in the same run; the figure is the time from the navigation's
  start until the canvas shows its nodes and the page's main thread is free again (the
  next animation frame after a task): when a person can start working.
- drag: the mouse holds a node on the canvas and moves it for one second, each move sent
  when the page has handled the previous one (Playwright waits for that); the figures are
  the frames the page painted per second meanwhile (`requestAnimationFrame` counted in
  the page), the pointer moves it handled per second (how often the node follows the
  pointer) and the longest gap between two frames.

Each figure is the median of `--runs` runs (min and max beside it), with the large
workflow's ratio to the baseline; results go to `bench/results/ui-<date>[-label].{json,md}`.
Targets (issue 13): the large workflow interactive in under 1.5 s, dragging above 30 fps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as harness  # noqa: E402 - after the path fix above
from bench.load import Platform, web_start  # noqa: E402
from bench.run import BenchError, say, summary  # noqa: E402

ROOT = harness.ROOT
CHROMIUM = os.environ.get("WEFT_CHROMIUM", "/usr/bin/chromium")
CHAINS = 50
TARGETS = {"open_ms": ("designer with the large workflow interactive < 1500 ms",
                       lambda value: value < 1500),
           "drag_fps": ("dragging a node on the large workflow > 30 fps (frames painted)",
                        lambda value: value > 30),
           "drag_moves_per_s": ("dragging a node on the large workflow > 30 pointer moves "
                                "handled per second (the node follows the pointer)",
                                lambda value: value > 30)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the designer in Chromium.")
    parser.add_argument("--nodes", type=int, default=500, help="nodes of the large workflow")
    parser.add_argument("--baseline-nodes", type=int, default=10,
                        help="nodes of the baseline workflow (default 10)")
    parser.add_argument("--runs", type=int, default=5, help="runs; figures are medians")
    parser.add_argument("--concurrency", type=int, default=1)
    harness.common_arguments(parser, database="weft_bench_ui", queue="weft-bench-ui",
                             timeout=600, timeout_help="seconds the whole benchmark may take",
                             logs_of="the web server's")
    return parser.parse_args(argv)


def definition(name: str, count: int) -> dict[str, Any]:
    """`count` Transform nodes as parallel chains, each node placed on a grid."""
    chains = min(CHAINS, count)
    nodes, edges = [], []
    for index in range(count):
        chain, step = index % chains, index // chains
        node_id = f"n{index}"
        nodes.append({"id": node_id, "type": "Transform", "name": f"Step {step} of {chain}",
                      "data": {"template": {"value": f"{{{{ input.x }}}}-{index}"}},
                      "position": {"x": chain * 240, "y": step * 120}})
        if step:
            edges.append({"source": f"n{index - chains}", "target": node_id})
    return {"name": name, "nodes": nodes, "edges": edges}


def prepare(environment: dict[str, str], sizes: dict[str, int]) -> tuple[str, dict[str, str]]:
    """A user with every workflow permission, a session for it, and the workflows."""
    os.environ.update(environment)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from workflows import services

    user = get_user_model().objects.create_user("bench-designer", password="unused-" + "x" * 20)
    user.groups.set(Group.objects.filter(name__in=["workflow-editors", "workflow-operators"]))
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    ids = {label: str(services.workflow_create(actor=user, definition=definition(
        f"bench-ui-{label}", count)).pk) for label, count in sizes.items()}
    return session, ids


OPEN_SCRIPT = """async () => {
  await new Promise((resolve) => {
    const ready = () => document.querySelector('.react-flow__node') !== null;
    if (ready()) return resolve();
    new MutationObserver((_, observer) => { if (ready()) { observer.disconnect(); resolve(); } })
      .observe(document.body, {childList: true, subtree: true});
  });
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  return performance.now();
}"""

FRAMES_START = """() => {
  window.__frames = []; window.__counting = true;
  const tick = (time) => {
    window.__frames.push(time);
    if (window.__counting) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

FRAMES_STOP = """() => {
  window.__counting = false;
  const frames = window.__frames;
  let longest = 0;
  for (let i = 1; i < frames.length; i++) longest = Math.max(longest, frames[i] - frames[i - 1]);
  return {count: frames.length, span: frames[frames.length - 1] - frames[0], longest};
}"""


def measure_once(browser: Any, base_url: str, session: str, workflow_id: str) -> dict[str, float]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1600, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
    page = context.new_page()
    try:
        page.goto(f"/workflows/{workflow_id}/", wait_until="commit")
        open_ms = page.evaluate(OPEN_SCRIPT)
        node = page.locator(".react-flow__node").first
        box = node.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + 10
        page.mouse.move(x, y)
        page.mouse.down()
        page.evaluate(FRAMES_START)
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < 1.0:
            step += 1
            page.mouse.move(x + (step % 100) * 3, y + (step % 50) * 2)
        moved = time.monotonic() - started
        page.mouse.up()
        frames = page.evaluate(FRAMES_STOP)
        fps = (frames["count"] - 1) / (frames["span"] / 1000) if frames["span"] else 0.0
        return {"open_ms": round(open_ms, 1), "drag_fps": round(fps, 1),
                "drag_moves_per_s": round(step / moved, 1),
                "drag_longest_frame_ms": round(frames["longest"], 1)}
    finally:
        context.close()


def markdown(report: dict[str, Any]) -> str:
    figures = report["figures"]
    lines = [f"# Designer benchmark ({report['started_at'][:16]} UTC)", "",
             f"Large workflow: {report['settings']['nodes']} nodes; baseline: "
             f"{report['settings']['baseline_nodes']} nodes; {report['settings']['runs']} runs "
             "(median, min-max).", "",
             "| figure | baseline | large | large / baseline |", "|---|---|---|---|"]
    for key, title in [("open_ms", "open until interactive (ms)"), ("drag_fps", "drag (fps)"),
                       ("drag_moves_per_s", "drag: pointer moves handled per second"),
                       ("drag_longest_frame_ms", "drag: longest frame (ms)")]:
        base, large = figures["baseline"][key], figures["large"][key]
        lines.append(f"| {title} | {base['median']} ({base['min']}-{base['max']}) | "
                     f"{large['median']} ({large['min']}-{large['max']}) | "
                     f"{report['ratios'][key]} |")
    lines += ["", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {target['target']} | {target['value']} | {'yes' if target['met'] else 'no'} |"
              for target in report["targets"]]
    lines += ["", f"Machine: {report['machine']['cores']} cores, {report['machine']['cpu']}; "
              f"Chromium {report['chromium']}; commit {report['git']['commit']}"
              f"{' (dirty)' if report['git']['dirty'] else ''}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    harness.reexec_in_venv(__file__, "bench")
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise BenchError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    started_at = dt.datetime.now(dt.UTC)
    data_dir = Path(tempfile.mkdtemp(prefix="weft-bench-ui-"))
    environment = {**harness.bench_environment(args), "PLATFORM_PROFILE": "development",
                   "DEBUG": "false", "DATA_DIR": str(data_dir)}
    harness.services_check(environment)
    harness.database_recreate(environment, args.database)
    platform = Platform(environment=environment, log_dir=data_dir)
    try:
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                       cwd=ROOT, env={**os.environ, **environment}, check=True)
        session, ids = prepare(environment, {"baseline": args.baseline_nodes,
                                             "large": args.nodes})
        web_start(platform, workers=1)
        from playwright.sync_api import sync_playwright

        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "large": []}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            chromium = browser.version
            measure_once(browser, platform.base_url, session, ids["baseline"])  # warm caches
            for number in range(args.runs):
                for label in ("baseline", "large"):
                    figures = measure_once(browser, platform.base_url, session, ids[label])
                    say(f"run {number + 1} {label}: {figures}")
                    runs[label].append(figures)
            browser.close()
        figures = {label: summary(values) for label, values in runs.items()}
        ratios = {key: round(figures["large"][key]["median"] / figures["baseline"][key]["median"],
                             2) if figures["baseline"][key]["median"] else None
                  for key in figures["large"]}
        report = {
            "benchmark": "ui", "started_at": started_at.isoformat(),
            "label": args.label + ("-smoke" if args.runs < 3 or args.nodes < 500 else ""),
            "settings": {"nodes": args.nodes, "baseline_nodes": args.baseline_nodes,
                         "runs": args.runs},
            "figures": figures, "ratios": ratios,
            "targets": [{"target": title, "value": figures["large"][key]["median"],
                         "met": bool(check(figures["large"][key]["median"]))}
                        for key, (title, check) in TARGETS.items()],
            "machine": harness.machine(), "chromium": chromium, "git": harness.git_revision(),
        }
        report["label"] = report["label"].lstrip("-")
        json_path, markdown_path = harness.results_write(
            report, Path(args.output), "ui", markdown(report))
        say(f"results: {json_path} and {markdown_path}")
        print(markdown(report))
        return 0
    finally:
        for processes in platform.roles.values():
            harness.workers_stop(processes)
        if not args.keep_database:
            harness.database_drop(environment, args.database)
        if not args.keep_logs:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
