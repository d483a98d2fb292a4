from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "dsar.notifications"
    verbose_name = "Notifications"
