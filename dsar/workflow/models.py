"""The rights request: who asked for what, where it stands, and when it is due."""

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsar.crypto.fields import EncryptedTextField


class RequestType(models.TextChoices):
    ACCESS = "access", _("Access a copy of my data")
    CORRECTION = "correction", _("Correct my data")
    DELETION = "deletion", _("Delete my data")
    CANCELLATION = "cancellation", _("Cancel my account")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Withdraw my consent")
    MARKETING_OPT_OUT = "marketing_opt_out", _("Stop promotional messages")
    INQUIRY = "inquiry", _("Ask a question about my data")
    COMPLAINT = "complaint", _("Complain about how my data is handled")


# Requests that staff answer in writing: no work downstream, closed by the answer.
ANSWERED_TYPES = frozenset({RequestType.INQUIRY, RequestType.COMPLAINT})


class ConsentPurpose(models.TextChoices):
    """The purposes a subject may withdraw consent for (PIPL Art. 15), named downstream."""

    MARKETING = "marketing", _("Marketing and promotions")
    PROFILING = "profiling", _("Profiling and personalised recommendations")
    PARTNER_SHARING = "partner_sharing", _("Sharing with partners")
    PERSONALISED_ADS = "personalised_ads", _("Personalised advertising")


class Status(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", _("Waiting for identity verification")
    IN_REVIEW = "in_review", _("In review")
    AWAITING_SUBJECT = "awaiting_subject", _("Waiting for your reply")
    COOLING_OFF = "cooling_off", _("Cooling-off period")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.DENIED, Status.WITHDRAWN, Status.EXPIRED})


class Outcome(models.TextChoices):
    FULL = "full", _("Fulfilled in full")
    PARTIAL = "partial", _("Fulfilled in part")


class ReferenceCounter(models.Model):
    """The last reference number handed out in a year; see ``references.next_reference``."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"


class RightsRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True, editable=False)
    type = models.CharField(max_length=24, choices=RequestType.choices)
    # Assigned only by dsar.workflow.transitions.transition().
    status = models.CharField(
        max_length=24,
        choices=Status.choices,
        default=Status.PENDING_VERIFICATION,
        editable=False,
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True, editable=False)

    # The subject's identity, encrypted at rest; the hashes make it searchable by exact value.
    email = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    full_name = EncryptedTextField(blank=True)
    account_id = EncryptedTextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    description = EncryptedTextField(blank=True)
    language = models.CharField(max_length=8, default="zh-hans")
    # Where the subject lives, and the response policy's terms fixed at intake (dsar.sla owns
    # both: ``sla.policies``). Empty for requests filed before policies: the default applies.
    jurisdiction = models.CharField(max_length=16, blank=True, db_index=True, editable=False)
    response_policy = models.JSONField(default=dict, blank=True, editable=False)
    # A consent withdrawal's purposes (``ConsentPurpose`` values), sent with ``restrict``.
    purposes = models.JSONField(default=list, blank=True, editable=False)

    received_at = models.DateTimeField(editable=False)
    # Filed, and the receipt and first code are still to be sent: the ``messages`` worker
    # sends them once the intake's answer is out (``dsar.verification.receipts``).
    receipt_pending = models.BooleanField(default=False, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    due_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # SLA bookkeeping, maintained by dsar.sla (see dsar/sla/clock.py).
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Every finished pause added up exactly: the time the clock did not run.
    paused_total = models.DurationField(default=dt.timedelta(0), editable=False)
    extended_at = models.DateTimeField(null=True, blank=True, editable=False)
    extension_reason = models.TextField(blank=True, editable=False)
    sla_next_check_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # Set when the record was anonymised after DSAR_RECORD_RETENTION_DAYS (see retention.py).
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when a cancellation is approved; beat moves it to processing when this passes.
    cooling_off_ends_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("rights request")
        verbose_name_plural = _("rights requests")
        ordering = ["-received_at"]
        # The queue sorts by deadline (then intake time) with or without a status filter.
        indexes = [
            models.Index(fields=["status", "due_at", "received_at"], name="request_status_due"),
            models.Index(fields=["due_at", "received_at"], name="request_due_received"),
            # The receipts' re-drive reads only the few requests still waiting for one.
            models.Index(
                fields=["received_at"],
                condition=models.Q(receipt_pending=True),
                name="request_receipt_pending",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES
