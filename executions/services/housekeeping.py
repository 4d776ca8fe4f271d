"""The housekeeping tick: what beat asks of the workers every second, as one task.

Due schedules start, due timers and timeouts are handed out, committed execution events
are published (the outbox), and every SWEEP_INTERVAL seconds the sweeper repairs what was
lost. A tick with nothing due reads a few indexed rows, writes nothing and logs nothing;
one that did something says what at DEBUG. Each part runs even when another one fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache

from executions.services import outbox, sweeper, waits
from workflows.triggers import schedules

logger = logging.getLogger(__name__)

SWEEP_INTERVAL = 5  # seconds between two sweeps, whichever worker runs the tick
SWEEP_GATE = "housekeeping:sweep"


def _sweep_due() -> bool:
    """Whether no tick swept in the last SWEEP_INTERVAL seconds (one shared gate in Redis);
    without Redis, every tick sweeps: repairs matter most during an outage."""
    try:
        return bool(cache.add(SWEEP_GATE, 1, timeout=SWEEP_INTERVAL))
    except Exception:  # noqa: BLE001 - any cache failure means: sweep now
        return True


def _parts() -> list[tuple[str, Callable[[], dict[str, int]]]]:
    parts = [
        ("schedules", lambda: {"started": schedules.schedules_fire()}),
        ("timers", lambda: {"handed_out": len(waits.timers_fire())}),
        ("outbox", outbox.outbox_dispatch),
    ]
    if _sweep_due():
        parts.append(("sweep", sweeper.sweep))
    return parts


def housekeeping_tick() -> dict[str, dict[str, int]]:
    """One tick of every periodic duty of the engine; returns what each part did."""
    done: dict[str, dict[str, int]] = {}
    for name, part in _parts():
        try:
            counts = part()
        except Exception:
            logger.exception("housekeeping: %s failed", name)
            continue
        if any(counts.values()):
            done[name] = counts
    if done:
        logger.debug("housekeeping: %s", done)
    return done
