"""Routes of the performance API, under /api/performance/. A workflow is named by its id or
`namespace/name`."""

from django.urls import path, re_path

from monitoring.performance import AverageTimeApi, CountApi, MetricsApi, RecentExecutionsApi
from workflows.selectors import WORKFLOW_REFERENCE_REGEX

WORKFLOW = rf"(?P<workflow>{WORKFLOW_REFERENCE_REGEX})"

urlpatterns = [
    path("metrics", MetricsApi.as_view(), name="performance-metrics"),
    path("executions/recent", RecentExecutionsApi.as_view(), name="performance-recent"),
    re_path(rf"^executions/average-time/{WORKFLOW}$", AverageTimeApi.as_view(),
            name="performance-average-time"),
    re_path(rf"^executions/count/{WORKFLOW}$", CountApi.as_view(), name="performance-count"),
]
