from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from dsar.api.callbacks import CallbackView
from dsar.api.staff import HoldViewSet, MetricsView, StaffRequestViewSet
from dsar.api.systems import SystemViewSet

router = SimpleRouter()
router.register("staff/requests", StaffRequestViewSet, basename="staff-request")
router.register("staff/holds", HoldViewSet, basename="staff-hold")
router.register("staff/systems", SystemViewSet, basename="staff-system")

urlpatterns = [
    path("", include(router.urls)),
    path("staff/metrics/", MetricsView.as_view(), name="staff-metrics"),
    path("callbacks/<uuid:task_id>/", CallbackView.as_view(), name="fanout-callback"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
