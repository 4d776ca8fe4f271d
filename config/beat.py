"""Celery beat with a leader lock: however many beats run, one sends the periodic tasks.

`LeaderScheduler` (the default, `CELERY_BEAT_SCHEDULER`) takes a redis-py `Lock` on
`REDIS_URL` before every tick: the lock has an owner token (only its holder extends or
releases it) and an expiry (`BEAT_LEADER_LOCK_TTL` seconds), which the leader renews on
every tick. A beat that does not hold the lock sends nothing and tries again each second;
when the leader dies without releasing it, the lock expires and a standby takes over.
A beat that stops cleanly releases the lock at once.

On taking over, a standby sends every entry once right away (its own schedule file did not
see the leader's sends); the periodic tasks are idempotent, so that costs one extra pass.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

from config.locks import lock_token

logger = logging.getLogger(__name__)

LOCK_NAME = "weft:beat:leader"
STANDBY_INTERVAL = 1.0  # seconds between a standby's attempts to take the lock


class LeaderScheduler(PersistentScheduler):
    """A PersistentScheduler that ticks only while it holds the beat leader lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ttl = max(2, int(settings.BEAT_LEADER_LOCK_TTL))
        self.leading = False
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2,
                                      socket_connect_timeout=2)
        self.lock = client.lock(LOCK_NAME, timeout=self.ttl, blocking=False,
                                thread_local=False)
        super().__init__(*args, **kwargs)

    def lead(self) -> bool:
        """Renew the lock if this beat holds it, else try to take it; whether it leads now.

        Renewing by the owner token also recovers a lock still held after a short Redis
        outage, before it expired."""
        was_leading = self.leading
        try:
            try:
                self.lock.reacquire()  # back to the full expiry, if the token still owns it
                self.leading = True
            except redis.exceptions.LockError:  # never held, expired or taken by another
                self.leading = bool(self.lock.acquire(blocking=False, token=lock_token()))
        except redis.exceptions.RedisError as exc:
            self.leading = False
            if was_leading:
                logger.warning("beat: Redis is unreachable (%s); no longer the leader", exc)
                return False
        if self.leading and not was_leading:
            logger.info("beat: this beat is the leader now (lock %s, %ss)", LOCK_NAME, self.ttl)
        elif was_leading and not self.leading:
            logger.warning("beat: lost the leader lock %s; standing by", LOCK_NAME)
        return self.leading

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.lead():
            return STANDBY_INTERVAL
        # Wake up in time to renew the lock whatever the next entry's due time.
        return min(super().tick(*args, **kwargs), self.ttl / 3)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.leading:
                self.leading = False
                try:
                    self.lock.release()
                    logger.info("beat: released the leader lock %s", LOCK_NAME)
                except redis.exceptions.RedisError:
                    pass  # it expires on its own
