"""What the subject tells us besides their identity: proposed corrections and replies."""

import uuid

from django.db import models

from dsar.crypto.fields import EncryptedTextField


class Correction(models.Model):
    """One change a subject proposes in a ``correction`` request (SPEC §2), encrypted at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="corrections"
    )
    position = models.PositiveSmallIntegerField()
    field = EncryptedTextField()
    current_value = EncryptedTextField(blank=True)
    proposed_value = EncryptedTextField()
    # Staff decision (dsar/portal/corrections.py): accepted (as proposed or edited) or refused.
    decision = models.CharField(
        max_length=8, blank=True, choices=[("accepted", "Accepted"), ("refused", "Refused")]
    )
    target_field = models.CharField(max_length=64, blank=True)  # the field systems know
    final_value = EncryptedTextField(blank=True)
    reason = EncryptedTextField(blank=True)
    decided_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "position"]

    def __str__(self):
        return f"correction {self.position} of {self.request_id}"


class SubjectReply(models.Model):
    """A message from the subject answering a request for more information."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="subject_replies"
    )
    body = EncryptedTextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"reply to {self.request_id}"
