"""Staff roles (SPEC §8), kept as Django groups of the same names."""

from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEGAL = "legal", "Legal reviewer"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Administrator"
