"""The cap on request bodies, for every door (API, portal, staff, admin).

``BodyLimitMiddleware`` refuses a body from its declared length, before any part of the
stack reads it: CSRF reads forms, DRF reads JSON and uploads, callbacks read raw bytes. A body
sent without a length (chunked) is never read by Django under WSGI, so the header is the
whole story. A multipart body may carry up to ``MAX_DOCUMENTS`` documents of at most
``DSAR_EVIDENCE_MAX_BYTES`` each (a deceased subject's relative files a death certificate and
a proof of the relationship together) on top of an ordinary body's worth of fields; any other
body gets ``DSAR_MAX_BODY_BYTES``. Each document's own limit is checked where it is read.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

MIB = 1024 * 1024
MAX_DOCUMENTS = 2


def body_limit(content_type: str) -> int:
    """The largest body, in bytes, accepted with this content type."""
    if content_type == "multipart/form-data":
        return MAX_DOCUMENTS * settings.DSAR_EVIDENCE_MAX_BYTES + settings.DSAR_MAX_BODY_BYTES
    return settings.DSAR_MAX_BODY_BYTES


def declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # Django reads such a body as empty, and so do we
        return 0


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request.content_type)
        if declared_length(request) > limit:
            return too_large(request, limit)
        return self.get_response(request)


def too_large(request, limit: int) -> HttpResponse:
    """413 in the API's error shape under /api/, as plain text elsewhere."""
    message = _("The request body is too large; the limit is %(mb)g MB.") % {"mb": limit / MIB}
    if request.path.startswith("/api/"):
        error = {"code": "payload_too_large", "message": message, "fields": {"body": [message]}}
        return JsonResponse({"error": error}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
