"""Every process of a host in one set of figures: prometheus_client's multiprocess mode.

With PROMETHEUS_MULTIPROC_DIR set, each process (web, every worker pool process, beat)
keeps its counters and histograms in memory-mapped files of that directory, and whoever
serves `/metrics` merges the files of every process, alive or dead: a dead process's
counts stay in the totals. The directory is read from the environment here, before any
metric exists (config/celery.py imports this package first in every process).

prometheus_client names each process's files by its pid, and pids repeat across
containers sharing one directory (each container's first process is pid 1): a process is
named `<hostname>-<pid>` instead, set before any metric is created.
Without the variable, everything stays in the memory of each process, as prometheus_client
does by default (tests, `manage.py`).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading

from prometheus_client import CollectorRegistry, multiprocess, start_http_server, values

logger = logging.getLogger(__name__)

HOSTNAME = socket.gethostname()
_set_up: list[bool] = []
_lock = threading.Lock()


def multiprocess_dir() -> str:
    """The shared directory of this host's processes, or "" (single-process mode)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def process_identifier() -> str:
    """This process's name in the shared directory: unique across hosts and containers."""
    return f"{HOSTNAME}-{os.getpid()}"


def multiprocess_setup() -> None:
    """In multiprocess mode, name this process's files by host and pid; once per process,
    before the first metric (idempotent)."""
    with _lock:
        if _set_up:
            return
        _set_up.append(True)
        directory = multiprocess_dir()
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
        atexit.register(process_dead)


def process_dead() -> None:
    """This process is leaving: its live gauges leave with it (its counters stay). Called
    at exit, and by a worker pool process on shutdown (it exits without atexit)."""
    directory = multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(process_identifier(), directory)


def host_registry() -> CollectorRegistry:
    """A registry of the counters and histograms of every process of this host (the files
    of the shared directory)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiprocess_dir())
    return registry


def worker_host_serve(port: int) -> bool:
    """A worker's main process serves its host's directory on `port`
    (WORKFLOW_WORKER_METRICS_PORT), for a worker host whose directory no web server reads.
    Needs the shared directory: a pool process's figures are in its own memory otherwise."""
    if not port:
        return False
    if not multiprocess_dir():
        logger.error("WORKFLOW_WORKER_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: "
                     "the worker's pool processes cannot be served from its main process")
        return False
    start_http_server(port, registry=host_registry())
    logger.info("metrics of this host's processes served on port %s", port)
    return True
