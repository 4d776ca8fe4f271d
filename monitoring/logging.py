"""Log record enrichment: every line carries the correlation id and, in a worker, the task."""

from __future__ import annotations

import logging

from monitoring.correlation import get_correlation_id


class ContextFilter(logging.Filter):
    """Adds `correlation_id`, `task_id` and `task` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = get_correlation_id() or "-"
        from celery import current_task

        task = current_task
        if task and task.request and task.request.id:
            record.task_id = task.request.id
            record.task = task.name
        return True
