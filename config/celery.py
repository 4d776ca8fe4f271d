"""The Celery application shared by the web process, workers and beat."""

import logging
import os
import time

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weft")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker consumes AMQP trigger messages (by name: loaded once Django is set up).
app.steps["consumer"].add("workflows.consumers:TriggerConsumerStep")


@before_task_publish.connect
def _message_timestamp(properties: dict | None = None, **kwargs) -> None:
    """Every task message carries the AMQP `timestamp` property (seconds): how long the
    oldest waiting message has waited is read from it (monitoring/broker.py)."""
    if properties is not None:
        properties.setdefault("timestamp", int(time.time()))


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Workers and beat log through Django's LOGGING (JSON lines with correlation ids)."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# Tasks sent every second that do nothing most of the time: beat's "Sending due task" and
# the worker's "received" / "succeeded" lines for them would be most of an idle log.
QUIET_TASKS = frozenset({"executions.housekeeping"})


class HousekeepingLogFilter(logging.Filter):
    """Celery's per-task INFO lines about the QUIET_TASKS go out at DEBUG, that is only
    when the logger is set to DEBUG; the lines of every other task stay at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("celery."):
            return True
        args = record.args
        values = args.values() if isinstance(args, dict) else args if isinstance(
            args, tuple) else ()
        if not any(isinstance(value, str) and value in QUIET_TASKS for value in values):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


HEALTH_CHECK_IDLE_SECONDS = 1.0  # a connection idle less than this is not checked again
_last_task_end: list[float] = [0.0]


@task_prerun.connect
@task_postrun.connect
def _database_connections_settle(sender=None, signal=None, **kwargs) -> None:
    """Between tasks, treat database connections as Django does between requests: close
    one that errored, was left in a transaction or outlived CONN_MAX_AGE; keep the rest
    (CELERY_DB_REUSE_MAX stops Celery's fixup from closing them after every task). The
    health check (CONN_HEALTH_CHECKS, a `SELECT 1` round trip) is skipped for a task that
    starts within a second of the previous one's end: its connection was just used. Not
    for an eager task, which runs inside its caller's transaction."""
    import time

    from django.db import close_old_connections, connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
    now = time.monotonic()
    if signal is task_postrun:
        _last_task_end[0] = now
    elif now - _last_task_end[0] < HEALTH_CHECK_IDLE_SECONDS:
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                connection.health_check_done = True


import monitoring.correlation  # noqa: E402,F401  (connects the correlation-id task signals)
from monitoring.metrics import heartbeat, processes  # noqa: E402  (before any metric exists)


@worker_ready.connect
def _worker_metrics_start(sender=None, **kwargs) -> None:
    """A worker's main process beats (the workers gauge of /metrics) and, on a host whose
    metrics directory no web server reads, serves it on WORKFLOW_WORKER_METRICS_PORT."""
    from django.conf import settings

    heartbeat.heartbeat_start(sender.controller, sender.hostname)
    processes.worker_host_serve(settings.WORKFLOW_WORKER_METRICS_PORT)


@worker_shutdown.connect
def _worker_metrics_stop(**kwargs) -> None:
    heartbeat.heartbeat_stop()


@worker_process_shutdown.connect
def _pool_process_dead(**kwargs) -> None:
    """A pool process leaves with os._exit (no atexit): its live gauges leave with it."""
    processes.process_dead()
