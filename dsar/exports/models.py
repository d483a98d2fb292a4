"""What downstream systems returned for an access request, and the package built from it."""

import uuid

from django.db import models

from dsar.crypto.fields import EncryptedTextField


class ExportPart(models.Model):
    """One system's answer to ``export``, stored (encrypted) as it arrives."""

    task = models.OneToOneField(
        "fanout.FanoutTask", on_delete=models.CASCADE, related_name="export_part"
    )
    rows = EncryptedTextField()  # JSON list of objects, exclusions already removed
    excluded = models.JSONField(default=list)  # field names left out (never their values)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"export part of {self.task_id}"


class Package(models.Model):
    """The encrypted ZIP for one access request, behind a link that expires and wears out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="export_packages"
    )
    file_name = models.CharField(max_length=64)  # random; never personal data
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    downloads_left = models.PositiveSmallIntegerField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A package built again for a subject whose link expired or was used up (once per request).
    renewed_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"package {self.id}"
