"""What downstream systems returned for an access request, and the package built from it."""

import uuid

from django.conf import settings
from django.db import models

from dsar.crypto.fields import EncryptedTextField


class ExportPart(models.Model):
    """One system's answer to ``export``: its rows are sealed chunks in the export storage
    under ``prefix``, written as they arrived (``parts``), exclusions already removed."""

    task = models.OneToOneField(
        "fanout.FanoutTask", on_delete=models.CASCADE, related_name="export_part"
    )
    prefix = models.CharField(max_length=100, default="")  # parts/<task>/<attempt>
    row_count = models.PositiveBigIntegerField(default=0)
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
    size = models.PositiveBigIntegerField()  # of the ZIP (plain bytes: what is downloaded)
    # Plain bytes per sealed block (``sealed``); 0 for a package sealed whole (before).
    block_size = models.PositiveIntegerField(default=0)
    # The bytes the last counted download may still fetch (``services.start_download``): a
    # download resumed with Range counts once; a new one counts again.
    bytes_served = models.PositiveBigIntegerField(default=0)
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


class Review(models.Model):
    """An access package held back for staff review (``DSAR_EXPORT_REVIEW_TYPES``): while
    ``released_at`` is empty no package is built and no link goes out."""

    request = models.OneToOneField(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="export_review"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip

    def __str__(self):
        return f"export review of {self.request_id}"


class Redaction(models.Model):
    """One thing staff withheld from a package, with the reason: a field of one row, a whole
    row (``field`` empty), or a field in every row of a table (``row_digest`` empty). A row
    is named by the keyed hash of its content (``redaction.row_digest``), never by position,
    so a package built again withholds the same rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="export_redactions"
    )
    system = models.CharField(max_length=100)
    table = models.CharField(max_length=200, blank=True)
    row_digest = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=200, blank=True)
    reason = EncryptedTextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(row_digest="", field=""), name="redaction_names_something"
            )
        ]

    def __str__(self):
        return f"redaction on {self.request_id}"
