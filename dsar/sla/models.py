"""SLA data that staff edit (calendar overrides) and that the sweep writes (notices)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarOverride(models.Model):
    """A correction to the official calendar: a holiday it lacks, or an adjusted working day.

    Also how staff cover a year the holiday package does not know yet: once any override
    names a year, that year is no longer reported as uncovered.
    """

    date = models.DateField(unique=True)
    is_workday = models.BooleanField(
        help_text="Ticked: a working day (e.g. an adjusted weekend). Unticked: a rest day."
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {'working day' if self.is_workday else 'rest day'}"


class NoticeKind(models.TextChoices):
    WARNING = "warning", "Due soon"
    BREACH = "breach", "Breached"


class SlaNotice(models.Model):
    """The claim that makes each email go once: one row per request, threshold and deadline.

    The unique constraint is the compare-and-swap: of two sweeps inserting the same row, one
    succeeds and sends; the other hits the constraint and sends nothing. A request has two
    deadlines at most, the original and the extended one, so it is warned and escalated at
    most once for each. A pause moves the deadline but is not a new one: resuming inside the
    warning window does not warn again.
    """

    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="sla_notices"
    )
    kind = models.CharField(max_length=8, choices=NoticeKind.choices)
    after_extension = models.BooleanField(default=False)
    due_at = models.DateTimeField(help_text="The deadline as it stood when the notice was sent.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "after_extension"], name="sla_notice_once_per_deadline"
            )
        ]

    def __str__(self):
        return f"{self.kind} for {self.request_id}"


class DigestRun(models.Model):
    """The daily breach digest, claimed once per local date."""

    date = models.DateField(unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"digest {self.date}"
