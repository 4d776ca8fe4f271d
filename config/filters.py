"""Query filters shared by the list endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters
from rest_framework.exceptions import ValidationError


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, turned into UTC before it reaches the database.

    Python accepts offsets up to ±23:59 and PostgreSQL only up to ±15:59, so an offset the
    database refuses would otherwise be a server error; one whose UTC time is outside the
    representable years is a 400.
    """

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Enter a date-time within the years 1 to 9999 in UTC.",
                                        code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """`IsoDateTimeFilter` on `UtcDateTimeField`."""

    field_class = UtcDateTimeField


class OrderingFilter(filters.OrderingFilter):
    """DRF's `?ordering=`, except that a field the list cannot be ordered by is a 400 naming
    `ordering` and the fields it can (DRF drops it and answers the default order, so a
    misspelt field looked applied)."""

    def remove_invalid_fields(self, queryset, fields, view, request) -> list[str]:
        valid = sorted(item[0] for item in self.get_valid_fields(queryset, view,
                                                                 {"request": request}))
        terms = [field for field in fields if field]
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            listed = ", ".join(repr(term[:100]) for term in unknown[:5])
            raise ValidationError({self.ordering_param: [
                f"Cannot order by {listed}; order by {', '.join(valid) or 'nothing here'}, "
                "with '-' before a field for descending order."]})
        return terms


class KnownQueryFilter(filters.BaseFilterBackend):
    """A list's query parameters must be ones it reads: the ones its filters, search,
    ordering and pagination document (their OpenAPI parameters); any other is a 400 naming
    it and the ones the list takes. A misspelt filter (`?statuss=failed`) answered the whole
    list, which looked filtered."""

    _known: dict[type, frozenset[str]] = {}

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) != "list":
            return queryset
        known = self._known.get(type(view))
        if known is None:
            names: list[str] = []
            for backend_class in view.filter_backends:
                backend = backend_class()
                if isinstance(backend, DjangoFilterBackend):  # it documents none itself
                    filterset = backend.get_filterset_class(view, queryset)
                    names += list(filterset.base_filters) if filterset else []
                elif hasattr(backend, "get_schema_operation_parameters"):
                    names += [parameter["name"]
                              for parameter in backend.get_schema_operation_parameters(view)]
            names += pagination_parameters(view)
            known = self._known[type(view)] = frozenset(names)
        query_unknown_refuse(request, known)
        return queryset


def pagination_parameters(view) -> list[str]:
    """The query parameters of the view's pagination (`page`, `page_size`)."""
    if view.paginator is None:
        return []
    return [parameter["name"]
            for parameter in view.paginator.get_schema_operation_parameters(view)]


def query_unknown_refuse(request, known: Iterable[str]) -> None:
    """A 400 naming each query parameter of `request` that is not in `known`, and the ones
    that are: a parameter nobody reads must not look applied."""
    known = set(known)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise ValidationError({name[:100]: [f"Unknown parameter; this list takes {takes}."]
                               for name in unknown[:10]})
