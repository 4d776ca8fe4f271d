"""Cron occurrences in an IANA time zone, for Timer nodes (and schedules).

cronsim evaluates the five fields on local wall-clock time in the given zone and follows
Debian cron across daylight-saving changes: a time skipped by spring-forward fires at the
first valid moment after it, once; a time repeated by fall-back fires once, at its first
occurrence. Results are returned in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def cron_next(expression: str, timezone: str, after: datetime) -> datetime:
    """The first occurrence strictly after `after` (aware), as an aware UTC datetime."""
    fields = MACROS.get(expression.strip().lower(), expression)
    local = after.astimezone(ZoneInfo(timezone))
    return next(CronSim(fields, local)).astimezone(UTC)
