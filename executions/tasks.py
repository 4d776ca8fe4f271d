"""Celery tasks of the engine: thin adapters around the services."""

from celery import shared_task

from executions import services
from executions.services import waits


@shared_task(
    bind=True,
    name="executions.node_run",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def node_run(self, execution_id: str, node_id: str) -> None:
    """Run one attempt of one node; idempotent, so a redelivery changes nothing twice."""
    delay = services.node_run(execution_id=execution_id, node_id=node_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="executions.timers_fire", ignore_result=True)
def timers_fire() -> int:
    """Beat, every second: resume due timers and expire timed-out waits."""
    return waits.timers_fire()
