"""Routes of the workflows app, under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from workflows.apis.events import EventApi
from workflows.apis.nodes import NodeTypeDetailApi, NodeTypeListApi, NodeValidateApi
from workflows.apis.schedules import ScheduleViewSet
from workflows.apis.secrets import SecretViewSet
from workflows.apis.sync import SyncStatusApi
from workflows.apis.templates import (
    TemplateDetailApi,
    TemplateInstantiateApi,
    TemplateListApi,
)
from workflows.apis.webhooks import WebhookViewSet
from workflows.apis.workflows import WorkflowViewSet

router = SimpleRouter(trailing_slash=False)
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("secrets", SecretViewSet, basename="secret")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("events", EventApi.as_view(), name="event-publish"),
    path("nodes/types", NodeTypeListApi.as_view(), name="node-type-list"),
    path("nodes/types/<str:type>", NodeTypeDetailApi.as_view(), name="node-type-detail"),
    path("nodes/validate", NodeValidateApi.as_view(), name="node-validate"),
    path("sync/status", SyncStatusApi.as_view(), name="sync-status"),
    path("templates", TemplateListApi.as_view(), name="template-list"),
    path("templates/<str:name>", TemplateDetailApi.as_view(), name="template-detail"),
    path("templates/<str:name>/instantiate", TemplateInstantiateApi.as_view(),
         name="template-instantiate"),
    *router.urls,
]
