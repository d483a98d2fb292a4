from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "dsar.mail"
    verbose_name = "Outbound email"
