from django.apps import AppConfig


class FanoutConfig(AppConfig):
    name = "dsar.fanout"
    verbose_name = "Downstream fan-out"
