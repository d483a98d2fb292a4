"""The download page: the link's secret arrives in a POST body, never in an address.

The emailed link (``/exports/#t=<token>``) opens a page whose form the static script fills from
the fragment; pressing Download POSTs the token and answers the ZIP. A forged token is 404 and
a used-up or expired one 410, shown on the same page; neither address names the token, so no
log line does either.
"""

from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dsar.exports import services
from dsar.notifications.links import fragment_of, secret_from
from dsar.verification.limits import RateLimited


def BAD_LINK() -> str:  # noqa: N802 (a message, translated when shown)
    return _("This link is not valid. Copy the whole link from our latest message.")


def _page(request, *, error="", status=200, renew_token="", notice=""):
    context = {"error": error, "renew_token": renew_token, "notice": notice}
    return render(request, "exports/download.html", context, status=status)


def _limited(exc: RateLimited, request):
    response = render(request, "portal/limited.html", {"retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def download(request):
    if request.method == "GET":
        return _page(request)
    token = secret_from(request.POST.get("t"), "t")
    package = services.package_for_token(token)
    if package is None:
        return _page(request, error=BAD_LINK(), status=404)
    try:
        download = services.start_download(package, range_header=request.headers.get("Range", ""))
    except services.LinkGone:
        return _page(request, error=_("This download link has expired or has been used up."),
                     status=410, renew_token=token)  # fmt: skip
    except services.Unsatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{package.size}"
        return response
    response = FileResponse(
        Sent(download), content_type="application/zip", as_attachment=True,
        filename="personal-data.zip", status=206 if download.partial else 200,
    )  # fmt: skip
    response["Content-Length"] = str(download.length)
    response["Accept-Ranges"] = "bytes"
    if download.partial:
        response["Content-Range"] = f"bytes {download.start}-{download.end - 1}/{package.size}"
    response["Referrer-Policy"] = "no-referrer"
    return response


class Sent:
    """The download as a file object for ``FileResponse``: reads the sealed blocks one by
    one; when the server closes it (finished, or the client went away), the bytes it did
    not hand over are credited back (``services.finish_download``)."""

    def __init__(self, download: services.Download):
        self.download = download
        self._blocks = services.stream(download)
        self._sent = 0
        self._closed = False

    def read(self, size: int = -1) -> bytes:
        piece = next(self._blocks, b"")
        self._sent += len(piece)
        return piece

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._blocks.close()
            services.finish_download(self.download, sent=self._sent)


@never_cache
@require_POST
def renew(request):
    """Ask for a fresh link after the old one expired or was used up: sent once, to the
    address the request was verified through, never to one typed here."""
    package = services.package_for_token(secret_from(request.POST.get("t"), "t"))
    if package is None:
        return _page(request, error=BAD_LINK(), status=404)
    try:
        services.renew_link(package=package, ip=request.META.get("REMOTE_ADDR", ""))
    except RateLimited as exc:
        return _limited(exc, request)
    except services.NotRenewable as exc:
        return _page(request, error=str(exc), status=409)
    notice = _("We have sent a new link to the email address or mobile number you gave us.")
    return _page(request, notice=notice)


@never_cache
@require_GET
def old_link(request, token):
    """A link mailed before secrets moved to the fragment (``/exports/<token>/``): its
    request line was logged as it arrived, but the token goes no further than the fragment
    of this redirect: it downloads nothing on GET and never reaches a log of ours."""
    return redirect(fragment_of(reverse("export-download"), t=token.rstrip("/")))
