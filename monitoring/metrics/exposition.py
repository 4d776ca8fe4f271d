"""The platform's `/metrics`: the counters and histograms of every process of the host (the
shared directory of multiprocess mode, or this process's own without it), django-prometheus's
request and database metrics among them, and the state gauges, computed once per scrape.

The figures name workflows, node types and queues: they are served to a scraper that sends
`METRICS_TOKEN` as a bearer token, and to signed-in staff users, to no one else."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from monitoring.metrics.collectors import STATE_COLLECTORS
from monitoring.metrics.processes import host_registry, multiprocess_dir


class _Registered(Collector):
    """What a registry serves, as one collector of another registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect()


@functools.cache
def platform_registry() -> CollectorRegistry:
    """The registry `/metrics` serves: this host's processes (or this process alone), and
    the state collectors."""
    registry = CollectorRegistry()
    registry.register(_Registered(host_registry() if multiprocess_dir() else REGISTRY))
    for collector in STATE_COLLECTORS:
        registry.register(collector)
    return registry


def _admitted(request: HttpRequest) -> bool:
    """A scraper with the metrics token, or a signed-in staff user."""
    token = settings.METRICS_TOKEN
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), token.encode()):
        return True
    return request.user.is_authenticated and request.user.is_staff


def metrics_export(request: HttpRequest) -> HttpResponse:
    """`/metrics`, for Prometheus (config/urls.py)."""
    if not _admitted(request):
        reason = ("/metrics needs the metrics token (Authorization: Bearer <METRICS_TOKEN>) or "
                  "a signed-in staff user" if settings.METRICS_TOKEN else
                  "/metrics needs a signed-in staff user: METRICS_TOKEN, which admits a "
                  "scraper, is not set")
        response = HttpResponse(f"{reason} (docs/monitoring.md, \"Metrics\").\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(platform_registry()), content_type=CONTENT_TYPE_LATEST)
