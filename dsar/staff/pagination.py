"""Pages of the queue whose cost does not grow with the table.

Counting every matching row of a million-row queue costs more than fetching the page itself,
and nobody pages to page 20,000. The count stops at ``COUNT_CAP``: beyond it the queue says
"10,000+" and the last reachable page is the cap's.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        # COUNT(*) over a LIMITed subquery: reads at most COUNT_CAP + 1 index entries.
        return min(self.object_list[: COUNT_CAP + 1].count(), COUNT_CAP)

    @cached_property
    def count_is_capped(self) -> bool:
        return self.count >= COUNT_CAP


class QueuePagination(PageNumberPagination):
    django_paginator_class = CappedPaginator
    page_size = 50

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_capped"] = self.page.paginator.count_is_capped
        return Response(response.data)

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_is_capped"] = {"type": "boolean"}
        return schema
