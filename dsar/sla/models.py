"""SLA data that staff edit (calendar overrides, response policies) and that the sweep writes
(notices)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsar.sla import deadlines
from dsar.workflow.models import RequestType


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


class Jurisdiction(models.TextChoices):
    """Where a subject lives, which decides the response policy that applies."""

    CN_PIPL = "cn-pipl", _("Mainland China (PIPL)")
    EU_GDPR = "eu-gdpr", _("European Union or EEA (GDPR)")
    US_CA_CCPA = "us-ca-ccpa", _("California, USA (CCPA)")


class Unit(models.TextChoices):
    CALENDAR_DAYS = deadlines.CALENDAR_DAYS, _("calendar days")
    CN_WORKDAYS = deadlines.CN_WORKDAYS, _("working days (PRC calendar)")
    BUSINESS_DAYS = deadlines.BUSINESS_DAYS, _("business days")
    MONTHS = deadlines.MONTHS, _("months")


class CountingRule(models.TextChoices):
    PRC_CIVIL_CODE = deadlines.PRC_CIVIL_CODE, _("PRC Civil Code Art. 201–203")
    EU_1182_71 = deadlines.EU_1182_71, _("EU Regulation 1182/71")
    CCPA = deadlines.CCPA, _("CCPA regulations §7001")


class StartEvent(models.TextChoices):
    VERIFICATION = deadlines.FROM_VERIFICATION, _("identity verified")
    RECEIPT = deadlines.FROM_RECEIPT, _("request received")


class ResponsePolicy(models.Model):
    """By when a request of one type from one jurisdiction must be answered.

    A row with no ``request_type`` is the jurisdiction's policy for every type without a row
    of its own. The terms are copied onto a request when it is filed
    (``RightsRequest.response_policy``), so editing a policy changes only later requests.
    Where no row applies, the ``DSAR_SLA_*`` settings are the policy (``policies.default_terms``).
    """

    jurisdiction = models.CharField(max_length=16, choices=Jurisdiction.choices)
    request_type = models.CharField(
        max_length=24,
        choices=RequestType.choices,
        blank=True,
        help_text="Empty: every request type without a policy of its own.",
    )
    length = models.PositiveSmallIntegerField()
    unit = models.CharField(max_length=16, choices=Unit.choices)
    counting_rule = models.CharField(max_length=16, choices=CountingRule.choices)
    start_event = models.CharField(max_length=16, choices=StartEvent.choices)
    ack_length = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Acknowledge receipt within this many units (optional)."
    )
    ack_unit = models.CharField(max_length=16, choices=Unit.choices, blank=True)
    extension_length = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How much longer the reply may take once the subject is told why "
        "(announced before the first deadline). Empty: the DSAR_SLA_MAX_EXTENSION_DAYS limit.",
    )
    extension_unit = models.CharField(max_length=16, choices=Unit.choices, blank=True)
    extension_notice = models.TextField(
        blank=True, help_text="What the extension notice tells the subject, besides the reason."
    )
    source = models.CharField(max_length=300, help_text="The law or promise this rests on.")

    class Meta:
        ordering = ["jurisdiction", "request_type"]
        verbose_name = _("response policy")
        verbose_name_plural = _("response policies")
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "request_type"], name="one_policy_per_type_and_place"
            )
        ]

    def __str__(self):
        return f"{self.jurisdiction} {self.request_type or 'any type'}"

    def terms(self) -> deadlines.Terms:
        return deadlines.Terms(
            length=self.length,
            unit=self.unit,
            rule=self.counting_rule,
            start=self.start_event,
            ack_length=self.ack_length,
            ack_unit=self.ack_unit,
            extension_length=self.extension_length,
            extension_unit=self.extension_unit,
        )

    def clean(self):
        super().clean()
        if self.length is not None and self.unit and self.counting_rule and self.start_event:
            errors = deadlines.terms_errors(self.terms())
            if errors:
                raise ValidationError(errors)
