"""Beat-driven maintenance tasks of the monitoring app."""

import logging

from celery import shared_task

from monitoring import services

logger = logging.getLogger(__name__)


@shared_task(name="monitoring.tasks.audit_log_cleanup")
def audit_log_cleanup() -> int:
    deleted = services.audit_log_cleanup()
    logger.info("audit log retention applied", extra={"deleted": deleted})
    return deleted


@shared_task(name="monitoring.tasks.rollups_write", ignore_result=True)
def rollups_write() -> int:
    """Beat, every minute: the rollups of the minutes that ended, and their retention."""
    written = services.rollups_write()
    deleted = services.rollups_cleanup()
    if deleted:
        logger.info("rollup retention applied", extra={"deleted": deleted})
    return written
