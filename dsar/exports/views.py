"""The download link: 404 for a forged link, 410 once expired or used up."""

from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache

from dsar.exports import services


@never_cache
def download(request, token):
    package = services.package_for_token(token)
    if package is None:
        raise Http404("This link is not valid.")
    try:
        content = services.take_download(package)
    except services.LinkGone:
        return HttpResponse(
            "This download link has expired or has been used up.", status=410,
            content_type="text/plain; charset=utf-8",
        )  # fmt: skip
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="personal-data.zip"'
    response["Referrer-Policy"] = "no-referrer"
    return response
