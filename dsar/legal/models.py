"""Legal exceptions to a rights request (SPEC §5): findings of the checks, legal holds,
statutory retention rules and the deletions they defer, downstream check reports, and the
decisions staff take when a request is refused or fulfilled in part.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dsar.crypto.fields import EncryptedTextField


class Severity(models.TextChoices):
    BLOCKING = "blocking", _("Blocking")
    ADVISORY = "advisory", _("Advisory")


# What staff read for each check of ``checks.CHECKS`` (a finding stores the check's name).
CHECK_TITLES = {
    "legal_hold": _("Legal hold"),
    "statutory_retention": _("Statutory retention"),
    "repeated_requests": _("Repeated requests"),
    "open_obligations": _("Open obligations"),
    "verification_strength": _("Strength of identity verification"),
    "map_coverage": _("Data map coverage"),
}


class Finding(models.Model):
    """What one check concluded about one request. ``key`` tells apart several findings of
    the same check (one per hold, per category, per obligation); a re-run updates the
    finding with the same (check, key) and removes those the checks no longer produce."""

    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="findings"
    )
    check_name = models.CharField(max_length=40)
    key = models.CharField(max_length=120, blank=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    legal_reference = models.CharField(max_length=200)
    # An English message id with %(name)s placeholders, translated when shown.
    message = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    checked_at = models.DateTimeField()
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["severity", "check_name", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "check_name", "key"], name="finding_once_per_check_key"
            )
        ]

    def __str__(self):
        return f"{self.check_name} ({self.severity})"

    @property
    def explanation(self) -> str:
        """The plain explanation, in the active language (choice values shown as labels)."""
        params = dict(self.params)
        for name, choices in (("hold_kind", HoldKind), ("start", StartEvent)):
            if params.get(name) in choices.values:
                params[name] = choices(params[name]).label
        return gettext(self.message) % params

    @property
    def title(self) -> str:
        return str(CHECK_TITLES.get(self.check_name, self.check_name))

    @property
    def blocks(self) -> bool:
        return self.severity == Severity.BLOCKING and self.overridden_at is None


class HoldKind(models.TextChoices):
    LITIGATION = "litigation", _("Litigation")
    INVESTIGATION = "investigation", _("Investigation by authorities")
    REGULATOR_ORDER = "regulator_order", _("Regulator order")
    OTHER = "other", _("Other legal obligation")


class LegalHoldQuerySet(models.QuerySet):
    def active(self, now=None):
        today = timezone.localdate(now or timezone.now())
        return self.filter(lifted_at__isnull=True).filter(
            models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=today)
        )


class LegalHold(models.Model):
    """A hold on everything about one subject, matched by the keyed hash of their email or
    phone. The address itself is kept encrypted so legal reviewers can see whom it covers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    kind = models.CharField(max_length=16, choices=HoldKind.choices)
    reason = models.TextField()
    reference = models.CharField(max_length=100, help_text=_("Case or order number."))
    ends_on = models.DateField(null=True, blank=True, help_text=_("Last day; empty: until lifted."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}"


class StartEvent(models.TextChoices):
    TRANSACTION_COMPLETED = "transaction_completed", _("completion of the transaction")
    SERVICE_COMPLETED = "service_completed", _("completion of the service (e.g. the trip)")
    ACCOUNT_CLOSED = "account_closed", _("closure of the account")


class RetentionRule(models.Model):
    """A category of data the law says must be kept for a period, whatever the subject asks."""

    category = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    legal_basis = models.CharField(max_length=200)
    period_months = models.PositiveIntegerField()
    start_event = models.CharField(max_length=24, choices=StartEvent.choices)
    active = models.BooleanField(
        default=True, help_text=_("Switch off rules that do not apply to this platform.")
    )

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["category"]

    def __str__(self):
        return self.name


class DeferredDeletion(models.Model):
    """Data of one retained category that is deleted once its retention period ends."""

    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="deferred_deletions"
    )
    category = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    legal_basis = models.CharField(max_length=200)
    due_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deferred deletion")
        verbose_name_plural = _("deferred deletions")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "category"], name="deferral_once_per_cat")
        ]

    def __str__(self):
        return f"{self.category} due {self.due_at:%Y-%m-%d}"


class DownstreamReport(models.Model):
    """What a downstream system's ``check`` (dry run) said about a request's subject: open
    obligations, the keyed hashes of the identifiers it holds for the account, and the data
    categories it holds. One row per (request, system), overwritten by the latest check."""

    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="downstream_reports"
    )
    system = models.CharField(max_length=100)
    obligations = models.JSONField(default=list, blank=True)
    identity_hashes = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    # Tables with personal columns that the system's data map does not cover (names only).
    uncovered = models.JSONField(default=list, blank=True)
    reported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "system"], name="report_once_per_system")
        ]

    def __str__(self):
        return f"{self.system} check"


class Basis(models.TextChoices):
    """Legal bases for refusing or limiting a request (GB/T 35273-2020 §8.7), then reasons
    for closures that are not legal refusals."""

    LEGAL_OBLIGATION = "legal_obligation", _("Required to fulfil a legal obligation")
    NATIONAL_SECURITY = "national_security", _("Directly related to national security")
    PUBLIC_SAFETY_HEALTH = "public_safety_health", _("Related to public safety or public health")
    CRIMINAL_INVESTIGATION = (
        "criminal_investigation",
        _("Related to criminal investigation, prosecution, trial or enforcement of judgments"),
    )
    ABUSE_OF_RIGHTS = "abuse_of_rights", _("Evidence of malicious intent or abuse of rights")
    VITAL_INTERESTS = (
        "vital_interests",
        _("To protect the life or property of you or others when consent cannot be obtained"),
    )
    HARM_TO_OTHERS = "harm_to_others", _("Would seriously harm the rights of others")
    TRADE_SECRET = "trade_secret", _("Would disclose trade secrets")
    OTHER = "other", _("Other legal basis")
    INSUFFICIENT_VERIFICATION = "insufficient_verification", _("Identity not sufficiently proven")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
    NO_MATCH = "no_match", _("No data found for the identity given")
    DUPLICATE = "duplicate", _("Duplicate of another request")


CLOSURE_REASONS = frozenset(
    {Basis.INSUFFICIENT_VERIFICATION, Basis.SUSPECTED_FRAUD, Basis.NO_MATCH, Basis.DUPLICATE}
)


class DecisionKind(models.TextChoices):
    DENIAL = "denial", _("Denied")
    PARTIAL = "partial", _("Fulfilled in part")


class Decision(models.Model):
    """Why a request was refused or limited; the explanation is what the subject was told."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="decisions"
    )
    kind = models.CharField(max_length=8, choices=DecisionKind.choices)
    basis = models.CharField(max_length=32, choices=Basis.choices)
    basis_detail = EncryptedTextField(blank=True)
    explanation = EncryptedTextField()
    excluded = EncryptedTextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "kind"], name="decision_once_per_kind")
        ]

    def __str__(self):
        return f"{self.kind}: {self.basis}"


class FeeStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, waiting for the subject")
    ACCEPTED = "accepted", _("Accepted, waiting for payment")
    PAID = "paid", _("Paid")
    WITHDRAWN = "withdrawn", _("Request withdrawn")


OPEN_FEE_STATUSES = (FeeStatus.PROPOSED, FeeStatus.ACCEPTED)
FEE_CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP")


class Fee(models.Model):
    """A reasonable cost fee for a repeated request (GB/T 35273-2020 §8.7; PIPL Art. 50),
    resting on the request's ``repeated_requests`` finding. While it is open the request
    waits for the subject (the SLA clock is paused); it goes on only once the subject accepted
    and staff recorded the payment (``dsar.legal.fees``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="fees"
    )
    finding = models.ForeignKey(Finding, null=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    # What the subject is told; staff text, so kept encrypted like every message.
    reason = EncryptedTextField()
    status = models.CharField(max_length=10, choices=FeeStatus.choices, default=FeeStatus.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_recorded_at = models.DateTimeField(null=True, blank=True)
    payment_reference = EncryptedTextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(status__in=["proposed", "accepted"]),
                name="fee_one_open_per_request",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fee_amount_positive"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_FEE_STATUSES


class RepresentationKind(models.TextChoices):
    AGENT = "agent", _("Authorised agent")
    RELATIVE = "relative", _("Close relative of a deceased subject")


class Relationship(models.TextChoices):
    """The near relatives of PRC Civil Code Art. 1045, who may act under PIPL Art. 49."""

    SPOUSE = "spouse", _("Spouse")
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Brother or sister")
    GRANDPARENT = "grandparent", _("Grandparent")
    GRANDCHILD = "grandchild", _("Grandchild")


class LegalReview(models.TextChoices):
    PENDING = "pending", _("Waiting for legal review")
    APPROVED = "approved", _("Approved by legal")
    REFUSED = "refused", _("Refused by legal")


class Representation(models.Model):
    """A request filed on someone else's behalf: who files for whom. An authorised agent's
    request does no work (nothing disclosed or deleted) until the subject confirms it through
    the channel the request holds for them (``dsar.legal.representation``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(
        "workflow.RightsRequest", on_delete=models.CASCADE, related_name="representation"
    )
    kind = models.CharField(max_length=10, choices=RepresentationKind.choices)
    representative_name = EncryptedTextField()
    # How the agent says they are authorised (a power of attorney, a written permission).
    authority = EncryptedTextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    subject_confirmed_at = models.DateTimeField(null=True, blank=True)

    # A close relative of a deceased subject (PIPL Art. 49; ``dsar.legal.relatives``). The
    # request's own contact is the relative's; the deceased is known by what follows, and
    # the fan-out acts on it only once legal approved (``legal_review``).
    relationship = models.CharField(max_length=12, choices=Relationship.choices, blank=True)
    lawful_interest = EncryptedTextField(blank=True)
    deceased_name = EncryptedTextField(blank=True)
    deceased_email = EncryptedTextField(blank=True)
    deceased_phone = EncryptedTextField(blank=True)
    deceased_account_id = EncryptedTextField(blank=True)
    deceased_email_hash = models.CharField(max_length=64, blank=True, editable=False)
    deceased_phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    deceased_account_hash = models.CharField(max_length=64, blank=True, editable=False)
    legal_review = models.CharField(max_length=10, choices=LegalReview.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Approval: the lawful interest as legal recorded it; refusal: the explanation given.
    review_note = EncryptedTextField(blank=True)
    review_basis = models.CharField(max_length=32, choices=Basis.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "legal_review"], name="representation_review")]

    def __str__(self):
        if self.kind == RepresentationKind.RELATIVE:
            return f"{self.kind} ({self.legal_review})"
        return f"{self.kind} ({'confirmed' if self.subject_confirmed_at else 'unconfirmed'})"


class DocumentKind(models.TextChoices):
    DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
    RELATIONSHIP_PROOF = "relationship_proof", _("Proof of the relationship")
    AGENT_PERMISSION = "agent_permission", _("Signed permission")


class RepresentationDocument(models.Model):
    """A file the filer uploaded to show their standing: encrypted in ``STORAGES["evidence"]``
    like identity evidence, deleted from there once legal decided or the request closed
    (``purged_at``, ``file`` emptied)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    representation = models.ForeignKey(
        Representation, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.CharField(max_length=255, blank=True, default="", editable=False)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "uploaded_at"]

    def __str__(self):
        return self.kind


class ArrangementScope(models.TextChoices):
    NOTHING = "nothing", _("No one may access, copy, correct or delete the data after death")
    NO_DISCLOSURE = (
        "no_disclosure",
        _("Nothing is disclosed after death; correction and deletion remain possible"),
    )


class DeceasedArrangement(models.Model):
    """What a user arranged for their data after death (PIPL Art. 49: "unless the deceased
    arranged otherwise"), as the platform holds it: matched on the deceased's email, phone or
    account id (keyed hashes), shown to legal in the review and honoured by approval."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    account_id = EncryptedTextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    account_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    scope = models.CharField(max_length=16, choices=ArrangementScope.choices)
    source = models.CharField(
        max_length=200, help_text=_("Where the arrangement comes from (e.g. the app's setting).")
    )
    note = EncryptedTextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("arrangement for after death")
        verbose_name_plural = _("arrangements for after death")
        ordering = ["-created_at"]

    def __str__(self):
        return self.get_scope_display()
