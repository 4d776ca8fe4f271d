"""Routes of the workflows app, under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from workflows.apis.events import EventApi
from workflows.apis.nodes import NodeTypeDetailApi, NodeTypeListApi, NodeValidateApi
from workflows.apis.secrets import SecretViewSet
from workflows.apis.workflows import WorkflowViewSet

router = SimpleRouter(trailing_slash=False)
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("secrets", SecretViewSet, basename="secret")

urlpatterns = [
    path("events", EventApi.as_view(), name="event-publish"),
    path("nodes/types", NodeTypeListApi.as_view(), name="node-type-list"),
    path("nodes/types/<str:type>", NodeTypeDetailApi.as_view(), name="node-type-detail"),
    path("nodes/validate", NodeValidateApi.as_view(), name="node-validate"),
    *router.urls,
]
