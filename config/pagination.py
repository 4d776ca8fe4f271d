"""Page-number pagination with a client-chosen page size (bounded)."""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        """A page number that is not a positive integer or is past the last page is a 400
        naming `page`, not DRF's bare 404."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except pagination.NotFound as exc:
            raise ValidationError({"page": [str(exc.detail)]}) from None
