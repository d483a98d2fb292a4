"""Corrections a subject proposes and staff decide (SPEC §2)."""

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
    # Staff decision (dsar/corrections/services.py): accepted (as proposed or edited) or refused.
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
    # Set when the request completes: whether an accepted change reached a system holding the
    # field (False: no system holds it, so nothing changed and the outcome is partial).
    applied = models.BooleanField(null=True, blank=True)

    class Meta:
        db_table = "portal_correction"  # the table predates this app
        ordering = ["request", "position"]

    def __str__(self):
        return f"correction {self.position} of {self.request_id}"
