from django.contrib.auth import views as auth_views
from django.urls import path

from dsar.staff import export_review, relatives, views
from dsar.staff.login import StaffLoginView

app_name = "staff"

urlpatterns = [
    path("login/", StaffLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.queue, name="queue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("requests/bulk-assign/", views.bulk_assign, name="bulk-assign"),
    path("requests/new/", views.file_for_caller, name="file-request"),
    path("requests/<uuid:pk>/intake/", views.intake, name="intake"),
    path("requests/<uuid:pk>/", views.request_detail, name="request"),
    path(
        "requests/<uuid:pk>/evidence/<uuid:evidence_id>/",
        views.evidence_file,
        name="evidence",
    ),
    path(
        "requests/<uuid:pk>/documents/<uuid:document_id>/",
        relatives.document_file,
        name="representation-document",
    ),
    path(
        "requests/<uuid:pk>/replies/<uuid:reply_id>/file/",
        views.reply_file,
        name="reply-file",
    ),
    path("requests/<uuid:pk>/export-review/", export_review.export_review, name="export-review"),
    path("requests/<uuid:pk>/confirm-approval/", views.confirm_approval, name="confirm-approval"),
    path("requests/<uuid:pk>/<slug:action>/", views.act, name="act"),
]
