"""Log record enrichment: every line carries the correlation id and, in a worker, the task."""

from __future__ import annotations

import logging
import re
from typing import Any

from monitoring.correlation import get_correlation_id

# A hook URL's last segment is its credential (a webhook trigger's or a webhook wait's).
HOOK_TOKEN = re.compile(r"(/api/hooks/)[^\s/?#\"'<>]+")
REDACTED = r"\1[redacted]"


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


def hook_tokens_scrub(value: Any) -> Any:
    """The value with every hook token replaced; a non-string is kept unless its text shows
    a token (then its scrubbed text replaces it)."""
    if isinstance(value, str):
        return HOOK_TOKEN.sub(REDACTED, value)
    if isinstance(value, int | float | type(None)):
        return value
    text = str(value)
    scrubbed = HOOK_TOKEN.sub(REDACTED, text)
    return value if scrubbed == text else scrubbed


class HookTokenFilter(logging.Filter):
    """Replaces hook tokens in every record's message, arguments and request: access logs
    (uvicorn.access, django.server) and Django's request log print request paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = hook_tokens_scrub(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: hook_tokens_scrub(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(hook_tokens_scrub(value) for value in record.args)
        if hasattr(record, "request"):
            record.request = hook_tokens_scrub(record.request)
        return True
