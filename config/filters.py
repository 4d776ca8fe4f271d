"""Query filters shared by the list endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


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
