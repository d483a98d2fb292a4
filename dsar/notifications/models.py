"""The outbox: every email and text message the product sends is a row first, then a
delivery attempt.

A row is written in the same database transaction as the change it reports, so an email is
never lost (the change committed → the row exists) and never sent for a change that rolled
back. Delivery runs after commit and is retried with backoff until it succeeds or runs out of
attempts; the beat job ``redrive_outbox`` picks up anything a crash left behind.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsar.crypto.fields import EncryptedTextField


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class OutboundEmail(models.Model):
    """One queued message. Named for email, which it held first; ``channel`` says whether it
    goes by email or as a text message (``to`` a phone in E.164, ``subject`` empty)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.CharField(
        max_length=8, choices=MessageChannel.choices, default=MessageChannel.EMAIL
    )
    template = models.CharField(max_length=64)
    language = models.CharField(max_length=8)
    # Recipient, subject line and body may carry personal data: encrypted at rest.
    to = EncryptedTextField()
    subject = EncryptedTextField()
    body = EncryptedTextField()
    request_id = models.UUIDField(null=True, blank=True, db_index=True)
    status = models.CharField(
        max_length=8, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self):
        return f"{self.template} by {self.channel} ({self.status})"
