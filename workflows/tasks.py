"""Celery tasks of the workflows app: thin adapters around the trigger services.

Due schedules are started by the engine's housekeeping tick (`executions.housekeeping`)."""

from celery import shared_task


@shared_task(name="workflows.sync", ignore_result=True)
def workflows_sync(directory: str = "", environment: str = "") -> dict[str, int]:
    """Beat, every WORKFLOW_SYNC_INTERVAL seconds when WORKFLOW_SYNC_DIR is set: apply the
    workflow and schedule files that changed (hot reload). One run at a time."""
    from django.conf import settings
    from django.core.cache import cache

    from config.locks import lock_token
    from workflows.triggers import sync

    directory = directory or settings.WORKFLOW_SYNC_DIR
    if not directory:
        return {}
    lock = f"weft:sync:lock:{directory}"
    if not cache.add(lock, lock_token(), timeout=max(60, settings.WORKFLOW_SYNC_INTERVAL * 6)):
        return {}
    try:
        report = sync.workflows_sync(
            directory=directory, environment=environment or settings.WORKFLOW_ENVIRONMENT,
            skip_unchanged_files=True,
        )
    finally:
        cache.delete(lock)
    return report.summary
