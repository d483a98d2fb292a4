from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from dsar.exports import views as export_views
from dsar.fanout import views as fanout_views
from dsar.health import views as health
from dsar.staff.login import AdminLoginForm
from dsar.staff.views import forbidden

admin.site.login_form = AdminLoginForm  # the admin's login says when it is throttled
admin.site.site_header = _("Data subject rights: administration")
admin.site.site_title = _("DSAR administration")
admin.site.index_title = _("Administration")

handler403 = forbidden  # a refused staff page stays inside the staff layout
# Under /api/ even an unexpected error answers the API's JSON error shape, never a page.
handler500 = "dsar.api.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("dsar.api.staff_urls")),
    path("staff/", include("dsar.staff.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Secrets never sit in these addresses (they ride in the link's fragment and a POST body);
    # the <path:token> routes only move links mailed before that into a fragment.
    path("fanout/confirm/", fanout_views.confirm, name="fanout-confirm"),
    path("fanout/confirm/<path:token>", fanout_views.old_link),
    path("exports/", export_views.download, name="export-download"),
    path("exports/renew/", export_views.renew, name="export-renew"),
    path("exports/<path:token>", export_views.old_link),
    path("api/v1/", include("dsar.api.public_urls")),
    path("", include("dsar.portal.urls")),
]
