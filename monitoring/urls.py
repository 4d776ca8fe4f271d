"""Routes of the performance API, under /api/performance/. A workflow is named by its id or
`namespace/name`."""

from django.urls import path, re_path

from monitoring.performance.figures import (
    AverageTimeApi,
    CountApi,
    FailuresApi,
    MetricsApi,
    MetricsResetApi,
    RecentExecutionsApi,
)
from monitoring.performance.now import (
    CacheApi,
    CachesApi,
    LocksActiveApi,
    QueueLengthApi,
    QueuePendingApi,
    WorkersApi,
)
from workflows.selectors import WORKFLOW_REFERENCE_REGEX

WORKFLOW = rf"(?P<workflow>{WORKFLOW_REFERENCE_REGEX})"

urlpatterns = [
    path("metrics", MetricsApi.as_view(), name="performance-metrics"),
    path("executions/recent", RecentExecutionsApi.as_view(), name="performance-recent"),
    re_path(rf"^executions/average-time/{WORKFLOW}$", AverageTimeApi.as_view(),
            name="performance-average-time"),
    re_path(rf"^executions/count/{WORKFLOW}$", CountApi.as_view(), name="performance-count"),
    path("cache", CachesApi.as_view(), name="performance-caches"),
    path("cache/<str:type>", CacheApi.as_view(), name="performance-cache"),
    path("queue/length", QueueLengthApi.as_view(), name="performance-queue-length"),
    path("queue/pending", QueuePendingApi.as_view(), name="performance-queue-pending"),
    path("locks/active", LocksActiveApi.as_view(), name="performance-locks"),
    path("workers", WorkersApi.as_view(), name="performance-workers"),
    path("failures", FailuresApi.as_view(), name="performance-failures"),
    path("metrics/reset", MetricsResetApi.as_view(), name="performance-reset"),
]
