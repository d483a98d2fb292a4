from django.urls import path

from dsar.api import protocol, public
from dsar.api.callbacks import ConformanceCallbackView

urlpatterns = [
    # Where a system under a conformance check calls back (dsar.fanout.conformance).
    path(
        "callbacks/conformance/<uuid:run_id>/",
        ConformanceCallbackView.as_view(),
        name="fanout-conformance-callback",
    ),
    path("downstream-protocol.yaml", protocol.downstream_protocol, name="downstream-protocol"),
    path("requests/", public.RequestCreateView.as_view(), name="public-request-create"),
    path("requests/<uuid:pk>/", public.StatusView.as_view(), name="public-request-status"),
    path("requests/<uuid:pk>/verify/", public.VerifyView.as_view(), name="public-request-verify"),
    path("requests/<uuid:pk>/resend/", public.ResendView.as_view(), name="public-request-resend"),
    path(
        "requests/<uuid:pk>/withdraw/",
        public.WithdrawView.as_view(),
        name="public-request-withdraw",
    ),
    path("requests/<uuid:pk>/reply/", public.ReplyView.as_view(), name="public-request-reply"),
    path(
        "requests/<uuid:pk>/evidence/",
        public.EvidenceView.as_view(),
        name="public-request-evidence",
    ),
]
