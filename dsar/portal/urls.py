from django.urls import path

from dsar.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("request/<str:type>/", views.file_request, name="file"),
    path("requests/lookup/", views.lookup, name="lookup"),
    path("brand/logo/<str:version>/", views.logo, name="logo"),
    path("requests/<uuid:pk>/", views.status, name="status"),
    path("requests/<uuid:pk>/open/", views.open_request, name="open"),
    path("requests/<uuid:pk>/verify/", views.verify, name="verify"),
    path("requests/<uuid:pk>/resend/", views.resend, name="resend"),
    path("requests/<uuid:pk>/confirm/<uuid:challenge>/", views.confirm, name="confirm"),
    path("requests/<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("requests/<uuid:pk>/reply/", views.reply, name="reply"),
    path("requests/<uuid:pk>/fee/accept/", views.accept_fee, name="accept-fee"),
    path("requests/<uuid:pk>/agent/confirm/", views.confirm_agent, name="confirm-agent"),
    path("requests/<uuid:pk>/evidence/", views.upload_evidence, name="evidence"),
]
