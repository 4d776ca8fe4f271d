"""Routes of the executions app, under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from executions.apis import ExecutionViewSet
from executions.apis.waits import BookmarkViewSet, HookApi, MessageApi

router = SimpleRouter(trailing_slash=False)
router.register("executions", ExecutionViewSet, basename="execution")
router.register("bookmarks", BookmarkViewSet, basename="bookmark")

urlpatterns = [
    path("messages", MessageApi.as_view(), name="message-deliver"),
    path("hooks/<str:token>", HookApi.as_view(), name="hook"),
    *router.urls,
]
