"""How a subject proves who they are: challenges sent to them, evidence they upload, and the
record of each successful verification.

Nothing secret is stored in the clear: a challenge keeps keyed hashes of its code and link
secret, evidence files are encrypted and emptied once staff have decided on them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    CODE = "code", _("Code")
    LINK = "link", _("Link")
    STAFF_EVIDENCE = "staff_evidence", _("Staff review of evidence")
    STAFF_CODE = "staff_code", _("Code sent by staff and read back")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    EVIDENCE = "evidence", _("Evidence")


class Strength(models.TextChoices):
    """How much a verification proves, weakest first.

    ``contact``: the subject controls the email address or phone number they gave at intake
    (code or link). Whether that address is the one the platform holds for the account is
    for the legal checks to compare (SPEC §5.5).
    A code that staff sent to an address on file and the subject read back to them is
    ``contact`` too: it proves that address, no more.
    ``staff_reviewed``: a staff member reviewed an uploaded identity document and matched it
    to the account; the reviewer and the document are recorded. Nothing else gives it (a
    free-text reason is not evidence).
    """

    CONTACT = "contact", _("Controls the contact address given")
    STAFF_REVIEWED = "staff_reviewed", _("Reviewed by staff")


STRENGTH_ORDER = (Strength.CONTACT, Strength.STAFF_REVIEWED)


class Challenge(models.Model):
    """One code-and-link pair sent to the subject; a new one supersedes the previous.

    A ``read_back`` challenge is a code a staff member sent to an address on file for the
    subject to read back to them over the phone: it has no link, only staff can enter it (who
    sent it is in the audit trail), and it supersedes only earlier read-back codes, so the
    subject's own code keeps working and the subject's code never works for staff.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="challenges"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    code_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    read_back = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"challenge {self.pk} ({self.channel})"


class Verification(models.Model):
    """A successful verification: how it was done, through which channel, and how strong."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="verifications"
    )
    method = models.CharField(max_length=16, choices=Method.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    strength = models.CharField(max_length=16, choices=Strength.choices)
    # Keyed hash of the address that was proven (the request's email_hash or phone_hash), so
    # later steps can insist on acting for exactly this identity. Empty for a reviewed
    # document. ``reviewer`` is the staff member who verified (a document or a read-back code).
    identity_hash = models.CharField(max_length=64, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="verifications_reviewed",
    )
    evidence = models.ForeignKey(
        "verification.Evidence", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.method} via {self.channel} ({self.strength})"


class EvidenceStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Not sufficient")
    UNREVIEWED = "unreviewed", _("Closed without review")


class Evidence(models.Model):
    """An identity document the subject uploaded for staff review.

    The document is a Fernet-encrypted file in ``STORAGES["evidence"]`` (``file``, its name
    there; ``dsar.verification.storage``), deleted (``purged_at``, ``file`` emptied) as soon
    as staff decide on it, or when the request leaves ``pending_verification`` otherwise.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.CharField(max_length=255, blank=True, default="", editable=False)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=EvidenceStatus.choices, default=EvidenceStatus.PENDING
    )
    uploaded_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self):
        return f"evidence {self.pk} ({self.status})"
