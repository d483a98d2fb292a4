"""What staff write about a request that is not a status change."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsar.crypto.fields import EncryptedTextField


class Note(models.Model):
    """An internal note on a request; never shown to the subject."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = EncryptedTextField()  # notes may quote personal data
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"note on {self.request_id}"


class StaffMessage(models.Model):
    """A message from staff to the subject (e.g. the information a paused request needs)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="staff_messages"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"message on {self.request_id}"


class StaffProfile(models.Model):
    """Per staff member preferences; today only the language of alert emails."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return f"{self.user} ({self.language})"


class IntakeChannel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline call")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    IN_PERSON = "in_person", _("In person")


class IntakeRoute(models.TextChoices):
    CODE = "code", _("Code sent to a contact on file")
    CHOOSE = "choose", _("Staff to choose a contact on file")
    EVIDENCE = "evidence", _("Identity evidence only")


class StaffIntake(models.Model):
    """How a request staff filed for a caller came in: the channel, who filed it, what the
    caller claimed (encrypted; never messaged) and the route its verification takes."""

    request = models.OneToOneField(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="staff_intake"
    )
    channel = models.CharField(max_length=12, choices=IntakeChannel.choices)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    claimed_email = EncryptedTextField(blank=True)
    claimed_phone = EncryptedTextField(blank=True)
    route = models.CharField(max_length=12, choices=IntakeRoute.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff intake")
        verbose_name_plural = _("staff intakes")

    def __str__(self):
        return f"{self.channel} intake of {self.request_id}"
