"""The download page: the link's secret arrives in a POST body, never in an address.

The emailed link (``/exports/#t=<token>``) opens a page whose form the static script fills from
the fragment; pressing Download POSTs the token and answers the ZIP. A forged token is 404 and
a used-up or expired one 410, shown on the same page; neither address names the token, so no
log line does either.
"""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dsar.exports import services
from dsar.notifications.links import fragment_of, secret_from


def _page(request, *, error="", status=200):
    return render(request, "exports/download.html", {"error": error}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def download(request):
    if request.method == "GET":
        return _page(request)
    package = services.package_for_token(secret_from(request.POST.get("t"), "t"))
    if package is None:
        error = _("This link is not valid. Copy the whole link from our latest message.")
        return _page(request, error=error, status=404)
    try:
        content = services.take_download(package)
    except services.LinkGone:
        return _page(request, error=_("This download link has expired or has been used up."),
                     status=410)  # fmt: skip
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="personal-data.zip"'
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_GET
def old_link(request, token):
    """A link mailed before secrets moved to the fragment (``/exports/<token>/``): its
    request line was logged as it arrived, but the token goes no further than the fragment
    of this redirect: it downloads nothing on GET and never reaches a log of ours."""
    return redirect(fragment_of(reverse("export-download"), t=token.rstrip("/")))
