"""Routes of the executions app, under /api/."""

from rest_framework.routers import SimpleRouter

from executions.apis import ExecutionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = router.urls
