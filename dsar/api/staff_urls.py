from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from dsar.api.callbacks import CallbackView
from dsar.api.opendsr import OpenDSRCallbackView
from dsar.api.staff import HoldViewSet, MetricsView, StaffRequestViewSet
from dsar.api.systems import SystemViewSet

router = SimpleRouter()
router.register("requests", StaffRequestViewSet, basename="staff-request")
router.register("holds", HoldViewSet, basename="staff-hold")
router.register("systems", SystemViewSet, basename="staff-system")

api_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    # Under their prefix, so a public call (``public_urls``) is not matched against every
    # route of the staff viewsets first.
    path(
        "staff/",
        include([*router.urls, path("metrics/", MetricsView.as_view(), name="staff-metrics")]),
    ),
    path("callbacks/<uuid:task_id>/", CallbackView.as_view(), name="fanout-callback"),
    path(
        "callbacks/<uuid:task_id>/opendsr/", OpenDSRCallbackView.as_view(), name="opendsr-callback"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's script is served as a file (the split view); its styles are inline.
    path("docs/", api_docs, name="api-docs"),
]
