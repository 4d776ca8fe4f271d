"""The platform's `/metrics`: the counters and histograms of every process of the host (the
shared directory of multiprocess mode, or this process's own without it), django-prometheus's
request and database metrics among them, and the state gauges, computed once per scrape."""

from __future__ import annotations

import functools
from collections.abc import Iterator

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


def metrics_export(request: HttpRequest) -> HttpResponse:
    """`/metrics`, for Prometheus (config/urls.py)."""
    return HttpResponse(generate_latest(platform_registry()), content_type=CONTENT_TYPE_LATEST)
