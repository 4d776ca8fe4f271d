"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weft")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker consumes AMQP trigger messages (by name: loaded once Django is set up).
app.steps["consumer"].add("workflows.consumers:TriggerConsumerStep")


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    """Workers and beat log through Django's LOGGING (JSON lines with correlation ids)."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


import monitoring.correlation  # noqa: E402,F401  (connects the correlation-id task signals)
