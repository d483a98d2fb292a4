"""The queue's filters, shared by the staff page and the staff API (django-filter)."""

import re

import django_filters as filters
from django.conf import settings
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from dsar.fanout.backups import backups_pending_exists
from dsar.legal import relatives
from dsar.sla.models import Jurisdiction
from dsar.sla.selectors import SlaState
from dsar.staff.selectors import failed_tasks_q
from dsar.workflow import identity
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import OPEN_STATUSES

REFERENCE = re.compile(r"^DSAR-\d{4}-\d{6}$", re.IGNORECASE)


class QueueFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    state = filters.ChoiceFilter(
        choices=[("open", _("Open")), ("closed", _("Closed")), ("all", _("Open and closed"))],
        method="filter_state",
        empty_label=None,
        help_text="open: not yet closed; closed: completed, denied, withdrawn or expired",
    )
    type = filters.MultipleChoiceFilter(choices=RequestType.choices, distinct=False)
    sla_state = filters.MultipleChoiceFilter(choices=SlaState.CHOICES, distinct=False)
    jurisdiction = filters.MultipleChoiceFilter(
        choices=Jurisdiction.choices,
        distinct=False,
        method="filter_jurisdiction",
        help_text="where the subject lives (requests filed before policies count as the "
        "platform's DSAR_DEFAULT_JURISDICTION)",
    )
    assignee = filters.CharFilter(
        method="filter_assignee", help_text='"me", "unassigned", or a staff user id'
    )
    has_failed_tasks = filters.BooleanFilter(
        method="filter_failed_tasks",
        help_text="true: open requests with a failed downstream task; false: the others",
    )
    backups_pending = filters.BooleanFilter(
        method="filter_backups_pending",
        help_text="true: requests whose backup tasks still wait for the backups to rotate",
    )
    awaiting_legal = filters.BooleanFilter(
        method="filter_awaiting_legal",
        help_text="true: requests of a deceased subject's relative waiting for legal review",
    )
    q = filters.CharFilter(
        method="filter_search",
        help_text="a reference (DSAR-2026-000042), or an exact email address or phone number",
    )
    ordering = filters.OrderingFilter(
        fields=(("due_at", "due_at"), ("received_at", "received_at"), ("reference", "reference"))
    )

    class Meta:
        model = RightsRequest
        fields = ["status", "type"]

    def filter_state(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == "closed":
            return queryset.exclude(status__in=OPEN_STATUSES)
        return queryset

    def filter_jurisdiction(self, queryset, name, value):
        wanted = Q(jurisdiction__in=value)
        if settings.DSAR_DEFAULT_JURISDICTION in value:
            wanted |= Q(jurisdiction="")
        return queryset.filter(wanted)

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        # ASCII only: str.isdigit() also accepts "¹" or "①", which int() refuses.
        if value.isascii() and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset.none()

    def filter_failed_tasks(self, queryset, name, value):
        # The EXISTS itself, not the annotation's CASE: the planner can start from the few
        # failed tasks instead of testing every request.
        failed = failed_tasks_q()
        return queryset.filter(failed) if value else queryset.exclude(failed)

    def filter_backups_pending(self, queryset, name, value):
        pending = backups_pending_exists()
        return queryset.filter(pending) if value else queryset.exclude(pending)

    def filter_awaiting_legal(self, queryset, name, value):
        waiting = relatives.awaiting_review_q()
        return queryset.filter(waiting) if value else queryset.exclude(waiting)

    def filter_search(self, queryset, name, value):
        """Exact matches only: identities are searched through their keyed hash."""
        value = value.strip()
        if REFERENCE.match(value):
            return queryset.filter(reference=value.upper())
        hashes = []
        for normalise, digest in (
            (identity.normalise_email, identity.email_hash),
            (identity.normalise_phone, identity.phone_hash),
        ):
            try:
                hashes.append(digest(normalise(value)))
            except identity.InvalidIdentity:
                continue
        if not hashes:
            return queryset.none()
        return queryset.filter(Q(email_hash__in=hashes) | Q(phone_hash__in=hashes))

    @property
    def qs(self):
        queryset = super().qs
        if not self.data.get("ordering"):
            # Most urgent first; requests without a deadline yet (unverified) last.
            queryset = queryset.order_by(F("due_at").asc(nulls_last=True), "received_at")
        return queryset
