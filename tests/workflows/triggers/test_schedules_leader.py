"""The beat leader lock in process: one holder, renewal, and a leader that lost the lock
standing by (the real-beat takeover is in test_schedules_beat.py)."""

from __future__ import annotations

import pytest
import redis

from config.beat import LOCK_NAME, STANDBY_INTERVAL, LeaderScheduler
from config.celery import app


@pytest.fixture
def lock_store(settings):
    settings.BEAT_LEADER_LOCK_TTL = 5
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(LOCK_NAME)
    yield client
    client.delete(LOCK_NAME)


@pytest.fixture
def schedulers(tmp_path, lock_store):
    made = [LeaderScheduler(app=app, schedule_filename=str(tmp_path / name))
            for name in ("first", "second")]
    yield made
    for scheduler in made:
        scheduler.close()


def test_one_scheduler_leads_and_renews_while_the_other_stands_by(schedulers, lock_store):
    first, second = schedulers
    # when both try to lead, one after the other
    assert first.lead() is True
    assert second.lead() is False
    # then the standby's tick sends nothing and comes back in a second
    assert second.tick() == STANDBY_INTERVAL
    # and the leader renews the lock to its full expiry
    lock_store.pexpire(LOCK_NAME, 500)
    assert first.lead() is True
    assert lock_store.pttl(LOCK_NAME) > 4000


def test_a_leader_whose_lock_expired_and_was_taken_stands_by(schedulers, lock_store):
    first, second = schedulers
    assert first.lead()
    # given the lock expired (a stalled leader) and the other took it
    lock_store.delete(LOCK_NAME)
    assert second.lead() is True
    # then the old leader does not lead any more
    assert first.lead() is False
    # and a leader that stops releases the lock for the standby
    second.close()
    assert first.lead() is True
