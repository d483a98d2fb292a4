"""The downstream protocol's OpenAPI description, for the services that implement it:
``GET /api/v1/downstream-protocol.yaml`` (public; the same document for everyone)."""

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from dsar.fanout import protocol


@require_safe
@cache_control(public=True, max_age=3600)
def downstream_protocol(request):
    return HttpResponse(protocol.text(), content_type="application/yaml; charset=utf-8")
