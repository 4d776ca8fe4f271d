"""The performance API's figures of the platform now: caches, the broker's queues, the
Redis locks and the workers."""

from __future__ import annotations

from typing import Any

import redis
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import NotFoundError
from config.openapi import error_responses
from monitoring import broker, selectors
from monitoring.errors import MetricsUnavailableError
from workflows.permissions import WorkflowReadPermission

NOW_ERRORS = error_responses(401, 403, 429, 503)


class CacheSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    lookups = serializers.IntegerField()
    hit_rate = serializers.FloatField(allow_null=True, help_text="hits / lookups.")


class CachesSerializer(serializers.Serializer):
    since = serializers.DateTimeField(allow_null=True,
                                      help_text="Last reset; null: counted since ever.")
    caches = CacheSerializer(many=True)


class OneCacheSerializer(CacheSerializer):
    since = serializers.DateTimeField(allow_null=True)


CACHE_PARAMETER = OpenApiParameter("type", str, OpenApiParameter.PATH,
                                   enum=list(selectors.CACHES), description="The cache.")


@extend_schema(tags=["performance"])
class CachesApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(operation_id="performance_caches_list",
                   responses={200: CachesSerializer, **NOW_ERRORS})
    def get(self, request):
        """Hits, misses and hit rate of every cache the platform keeps, summed over every
        process since the last reset (a process's last second of lookups may not be in)."""
        return Response(selectors.caches_read())


@extend_schema(tags=["performance"], parameters=[CACHE_PARAMETER])
class CacheApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(responses={200: OneCacheSerializer, **error_responses(401, 403, 404, 429)})
    def get(self, request, type):  # noqa: A002 - the contract's path names it `type`
        """One cache's hits, misses and hit rate."""
        figures = selectors.caches_read()
        for cache in figures["caches"]:
            if cache["name"] == type:
                return Response({**cache, "since": figures["since"]})
        raise NotFoundError(f"No cache {type!r}; the caches are "
                            f"{', '.join(selectors.CACHES)}.")


class QueueSerializer(serializers.Serializer):
    name = serializers.CharField()
    ready = serializers.IntegerField(allow_null=True, help_text="Waiting for a worker.")
    unacked = serializers.IntegerField(allow_null=True,
                                       help_text="Delivered to a worker, not yet acknowledged.")
    consumers = serializers.IntegerField(allow_null=True)
    oldest_age_seconds = serializers.FloatField(
        allow_null=True, help_text="How long the oldest waiting message has waited.")
    error = serializers.CharField(required=False,
                                  help_text="What could not be read (then some figures are null).")


class QueueLengthSerializer(serializers.Serializer):
    ready = serializers.IntegerField(help_text="Waiting, over every queue.")
    unacked = serializers.IntegerField(help_text="Held by workers, over every queue.")
    total = serializers.IntegerField(help_text="ready + unacked.")
    queues = QueueSerializer(many=True)


class QueuePendingSerializer(serializers.Serializer):
    ready = serializers.IntegerField(help_text="Waiting, over every queue.")
    oldest_age_seconds = serializers.FloatField(
        allow_null=True, help_text="The longest any message has waited, over every queue; "
        "null while a queue with messages waiting cannot tell their age.")
    queues = QueueSerializer(many=True)


def _sum(queues: list[dict[str, Any]], field: str) -> int:
    return sum(queue[field] or 0 for queue in queues)


@extend_schema(tags=["performance"])
class QueueLengthApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(responses={200: QueueLengthSerializer, **NOW_ERRORS})
    def get(self, request):
        """The broker's depth of each of the platform's queues: messages waiting (ready)
        and held by workers (unacknowledged). A figure the broker cannot give is null, with
        the queue's `error` saying why."""
        queues = broker.queues_read()
        ready, unacked = _sum(queues, "ready"), _sum(queues, "unacked")
        return Response({"ready": ready, "unacked": unacked, "total": ready + unacked,
                         "queues": queues})


@extend_schema(tags=["performance"])
class QueuePendingApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(responses={200: QueuePendingSerializer, **NOW_ERRORS})
    def get(self, request):
        """The messages waiting for a worker in each queue and how long the oldest has
        waited (from the message's timestamp)."""
        queues = broker.queues_read()
        ages = [queue["oldest_age_seconds"] for queue in queues]
        # Unknown (null) while a queue with messages waiting cannot tell their age: the
        # largest known age would understate it.
        unknown = any(age is None and queue["ready"] for age, queue in zip(ages, queues,
                                                                           strict=True))
        known = [age for age in ages if age is not None]
        return Response({"ready": _sum(queues, "ready"),
                         "oldest_age_seconds": None if unknown or not known else max(known),
                         "queues": queues})


class LockSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["beat_leader", "admission", "sync"])
    key = serializers.CharField()
    subject = serializers.CharField(help_text="The workflow (admission), directory (sync).")
    description = serializers.CharField()
    owner = serializers.CharField(allow_null=True, help_text="`host/pid` of the holder.")
    expires_in_seconds = serializers.FloatField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class LocksSerializer(serializers.Serializer):
    locks = LockSerializer(many=True)


@extend_schema(tags=["performance"])
class LocksActiveApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(responses={200: LocksSerializer, **NOW_ERRORS})
    def get(self, request):
        """The platform's Redis locks held now: the beat leader, the admission of a
        workflow's executions (concurrency limits), hot reloads; owner and expiry."""
        try:
            return Response({"locks": selectors.locks_active()})
        except redis.RedisError as exc:
            raise MetricsUnavailableError("Redis, which holds the locks, cannot be reached."
                                          ) from exc


class WorkerSerializer(serializers.Serializer):
    name = serializers.CharField()
    processes = serializers.IntegerField(allow_null=True, help_text="Pool processes.")
    tasks_running = serializers.IntegerField()
    tasks_total = serializers.IntegerField(help_text="Tasks run since the worker started.")
    uptime_seconds = serializers.IntegerField(allow_null=True)
    running = serializers.ListField(child=serializers.CharField(),
                                    help_text="Names of the tasks running.")


class WorkersSerializer(serializers.Serializer):
    online = serializers.IntegerField()
    asked_at = serializers.DateTimeField()
    workers = WorkerSerializer(many=True)


@extend_schema(tags=["performance"])
class WorkersApi(APIView):
    permission_classes = [WorkflowReadPermission]

    @extend_schema(responses={200: WorkersSerializer, **NOW_ERRORS})
    def get(self, request):
        """The Celery workers that answer now, with their processes and running tasks
        (asked at most every few seconds; the answer waits `PERFORMANCE_WORKERS_TIMEOUT`)."""
        try:
            return Response(selectors.workers_read())
        except Exception as exc:  # noqa: BLE001 - kombu's and redis' errors alike
            raise MetricsUnavailableError(
                f"The workers could not be asked ({type(exc).__name__}).") from exc
