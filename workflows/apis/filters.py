"""Filters shared by the list endpoints."""

from __future__ import annotations

import django_filters
from django_filters.constants import EMPTY_VALUES
from rest_framework import serializers

from workflows import selectors


class WorkflowReferenceFilter(django_filters.CharFilter):
    """`?workflow=`: the workflow's id or its `namespace/name`; anything else is a 400
    naming the parameter."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("help_text", "The workflow's id, or `namespace/name`.")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        condition = selectors.workflow_reference_q(value, prefix=f"{self.field_name}__")
        if condition is None:
            raise serializers.ValidationError(
                {self.field_name: ["An id or namespace/name, e.g. demo/order-approval."]})
        return qs.filter(condition)
