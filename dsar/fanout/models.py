"""Downstream systems and the fan-out tasks that act on them (SPEC §6).

The database is the source of truth: a ``FanoutTask`` row exists before any Celery message,
records every attempt, and is what the reconciler re-drives when a message was lost.
"""

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dsar.crypto.fields import EncryptedTextField
from dsar.fanout.connectors import kind_choices


class Action(models.TextChoices):
    CHECK = "check", _("Check (dry run)")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    CORRECT = "correct", _("Correct")
    ANONYMISE = "anonymise", _("Anonymise")
    CLOSE_ACCOUNT = "close_account", _("Close account")
    RESTRICT = "restrict", _("Restrict (consent withdrawn)")
    OPT_OUT = "opt_out", _("Opt out of promotional messages")


class SystemQuerySet(models.QuerySet):
    def runnable(self):
        """Systems the fan-out may call: enabled, and their configuration approved."""
        return self.filter(enabled=True, approved_at__isnull=False)


class DownstreamSystem(models.Model):
    """A system the fan-out acts on. ``config`` is what runs; a change to where a system points
    or what SQL it runs waits in ``pending_config`` until a second admin approves it (see
    ``registry``), and a new system of such a kind runs only once approved."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=kind_choices)  # one per connector module
    actions = models.JSONField(default=list, help_text='Supported actions, e.g. ["delete"].')
    # JSON with the DSN or URL, statements and secrets: encrypted at rest.
    config = EncryptedTextField(default="{}")
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    enabled = models.BooleanField(default=True)
    categories = models.JSONField(
        default=list, blank=True, help_text="Data categories it holds (for retention rules)."
    )
    # Null until a second admin approved the configuration of a newly registered system.
    approved_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    pending_config = EncryptedTextField(blank=True, default="")
    pending_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pending_at = models.DateTimeField(null=True, blank=True)

    objects = SystemQuerySet.as_manager()

    class Meta:
        verbose_name = _("downstream system")
        verbose_name_plural = _("downstream systems")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def settings(self) -> dict:
        return json.loads(self.config or "{}")

    @property
    def pending_settings(self) -> dict | None:
        return json.loads(self.pending_config) if self.pending_config else None

    @property
    def awaits_approval(self) -> bool:
        return self.approved_at is None or bool(self.pending_config)

    def supports(self, action: str) -> bool:
        return action in (self.actions or [])


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Accepted, waiting for the callback")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    EXCLUDED = "excluded", _("Excluded")


FINAL = {TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.EXCLUDED}


class FanoutTask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="fanout_tasks"
    )
    system = models.ForeignKey(DownstreamSystem, on_delete=models.PROTECT, related_name="tasks")
    action = models.CharField(max_length=16, choices=Action.choices)
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    # Sent downstream with every attempt, so a system acts on it at most once.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    result = models.JSONField(default=dict, blank=True)  # counts and flags, never personal data
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # While ``running``: until when the worker that claimed it holds it (its system's timeout
    # and a margin); once passed, the worker is presumed dead and the reconciler re-drives it.
    lease_until = models.DateTimeField(null=True, blank=True)
    # A dry run staff asked again (the recheck action, or an approval that found an obligation
    # answer stale); cleared once an approval has decided on the answer (``rechecks``).
    recheck_asked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("fan-out task")
        verbose_name_plural = _("fan-out tasks")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "system", "action"], name="fanout_task_once")
        ]
        # The reconciler finds running rows through this index's status too; no index on
        # the lease, so a claim and its outcome write no more index entries than before.
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="fanout_due")]

    def __str__(self):
        return f"{self.action} on {self.system_id} for {self.request_id}"

    @property
    def attempts_left(self) -> bool:
        """Whether its system's ``max_attempts`` allow another attempt."""
        return self.attempts < self.system.max_attempts


class DeletionLedger(models.Model):
    """Subjects deleted from live systems, kept to re-apply after a backup is restored.

    Backups are not edited: a ``backup`` system's ``delete`` writes the subject's keys here and
    its task completes once the backup's retention window has passed (every backup that still
    held the subject has rotated out). ``replay_deletions`` re-applies the entries to the
    systems a restored backup feeds.
    """

    idempotency_key = models.UUIDField(unique=True)
    system = models.ForeignKey(DownstreamSystem, on_delete=models.PROTECT)
    keys = EncryptedTextField()  # JSON of the subject keys
    recorded_at = models.DateTimeField()
    releases_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["recorded_at"]

    def __str__(self):
        return f"ledger {self.recorded_at:%Y-%m-%d} ({self.system_id})"


class DataMapVersion(models.Model):
    """Each data map a system has run with, numbered: a changed map is a new version, written
    when the change goes to work (approved by a second admin). Names only, never values."""

    system = models.ForeignKey(
        DownstreamSystem, on_delete=models.CASCADE, related_name="map_versions"
    )
    number = models.PositiveIntegerField()
    document = models.JSONField()
    digest = models.CharField(max_length=64)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["system", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["system", "number"], name="map_version_once")
        ]

    def __str__(self):
        return f"{self.system_id} map v{self.number}"


class ProposalDecision(models.TextChoices):
    PENDING = "pending", "Not decided"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Discovery(models.Model):
    """What discovery read of a system's schema and proposed for its map, and what staff
    decided for each proposal. Holds names, types, comments, evidence and confidence; the
    sampled values are never stored (``dsar.datamap.discovery``)."""

    system = models.ForeignKey(
        DownstreamSystem, on_delete=models.CASCADE, related_name="discoveries"
    )
    run_at = models.DateTimeField(default=timezone.now)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    schema = models.JSONField(default=dict)
    # [{"table", "column", "identity", "category", "evidence", "confidence", "decision"}]
    proposals = models.JSONField(default=list)
    # [{"from": "t.c", "to": "t.c", "declared": false, "decision": "pending"}]
    references = models.JSONField(default=list)

    class Meta:
        ordering = ["system", "-run_at"]
        get_latest_by = "run_at"

    def __str__(self):
        return f"discovery of {self.system_id} at {self.run_at:%Y-%m-%d %H:%M}"
