"""Page-number pagination with a client-chosen page size (bounded).

`count` is exact, except for a list without any filter over a PostgreSQL table that the
planner estimates at more than `PAGINATION_COUNT_ESTIMATE_ABOVE` rows (the executions,
typically): counting those row by row costs time in proportion to the table on every
request, so `count` is then the planner's estimate (`pg_class.reltuples`, refreshed by
autovacuum's ANALYZE). `next` and `previous` stay exact either way: such a page reads one
row more than it shows to know whether another page follows, and the last page, which
knows every row before it, gives the exact count.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import paginator as django_paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from config.parsers import whole_number


def count_or_estimate(queryset: Any, above: int) -> tuple[int, bool] | None:
    """(rows, estimated) of an unfiltered PostgreSQL queryset in one round trip: the
    planner's estimate when it is above `above`, else the exact count (the COUNT runs only
    then). None for any other queryset, which Django counts."""
    if not isinstance(queryset, QuerySet):
        return None
    query = queryset.query
    database = connections[queryset.db]
    if (query.where or query.distinct or query.combinator or query.group_by is not None
            or query.is_sliced or database.vendor != "postgresql"):
        return None
    table = database.ops.quote_name(queryset.model._meta.db_table)
    # The table name is the model's own, quoted; the values are parameters.
    sql = ("SELECT CASE WHEN reltuples > %s THEN reltuples::bigint ELSE "  # noqa: S608
           f"(SELECT COUNT(*) FROM {table}) END, reltuples > %s "
           "FROM pg_class WHERE oid = %s::regclass")
    with database.cursor() as cursor:
        cursor.execute(sql, [above, above, table])
        rows, estimated = cursor.fetchone()
    return rows, estimated


class EstimatedPage(django_paginator.Page):
    """A page of an estimated list: whether another follows is known from the rows read."""

    def __init__(self, object_list: list, number: int, paginator: Paginator,
                 more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class Paginator(django_paginator.Paginator):
    """Django's paginator, with the estimated count described in the module docstring."""

    exact = False  # set to count row by row whatever the size (the `last` page needs it)

    @cached_property
    def estimated(self) -> bool:
        self.count  # noqa: B018 - decides it
        return self.__dict__.get("estimated", False)

    @cached_property
    def count(self) -> int:
        answer = None if self.exact else count_or_estimate(
            self.object_list, settings.PAGINATION_COUNT_ESTIMATE_ABOVE)
        if answer is None:
            self.__dict__["estimated"] = False
            return super().count
        rows, self.__dict__["estimated"] = answer
        return rows

    def validate_number(self, number: Any) -> int:
        if not self.estimated:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise django_paginator.PageNotAnInteger(
                self.error_messages["invalid_page"]) from None
        if number < 1:
            raise django_paginator.EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number: Any) -> django_paginator.Page:
        if not self.estimated:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        if not rows and number > 1:
            raise django_paginator.EmptyPage(self.error_messages["no_results"])
        more = len(rows) > self.per_page
        seen = bottom + len(rows)
        if not more or seen > self.count:
            # The last page knows the exact count; a stale estimate is never below the
            # rows already seen.
            self.__dict__["count"] = seen
            self.__dict__.pop("num_pages", None)
        return EstimatedPage(rows[:self.per_page], number, self, more)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    django_paginator_class = Paginator

    @property
    def max_page_size(self) -> int:
        return settings.API_PAGE_SIZE_MAX

    def get_page_size(self, request) -> int:
        """`page_size` as asked, at most `API_PAGE_SIZE_MAX`; one that is not a positive
        integer is a 400 naming it (DRF would answer the default page size instead)."""
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        size = whole_number(asked, maximum=self.max_page_size)
        if not size:
            raise ValidationError({self.page_size_query_param: [
                f"Give a whole number from 1 to {self.max_page_size}."]})
        return min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param) or 1
        if number in self.last_page_strings:
            paginator.exact = True  # the last page's number needs the exact count
            number = paginator.num_pages
        return number

    def paginate_queryset(self, queryset, request, view=None):
        """A page number that is not a positive integer or is past the last page is a 400
        naming `page`, not DRF's bare 404."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except pagination.NotFound as exc:
            raise ValidationError({"page": [str(exc.detail)]}) from None
