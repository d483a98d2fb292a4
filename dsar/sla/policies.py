"""Which response policy a request gets, fixed when it is filed.

A policy is looked up by (jurisdiction, request type), then the jurisdiction's row for every
type; where neither exists, the ``DSAR_SLA_*`` settings are the policy (``default_terms``), as
they were before policies were data. The terms are copied onto the request, so a later edit of
a policy changes only the requests filed after it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dsar.sla import deadlines
from dsar.sla.models import Jurisdiction, ResponsePolicy
from dsar.snapshots import Snapshot

# The settings' calendar modes, as policy units.
_SETTINGS_UNITS = {
    deadlines.CALENDAR: deadlines.CALENDAR_DAYS,
    deadlines.CN_WORKDAYS: "cn_workdays",
}


def default_terms() -> deadlines.Terms:
    """The policy the ``DSAR_SLA_*`` settings describe: days from verification, counted the PRC
    way, extended by up to ``DSAR_SLA_MAX_EXTENSION_DAYS``."""
    return deadlines.Terms(
        length=settings.DSAR_SLA_DAYS,
        unit=_SETTINGS_UNITS[settings.DSAR_SLA_CALENDAR],
        rule=deadlines.PRC_CIVIL_CODE,
        start=deadlines.FROM_VERIFICATION,
    )


def jurisdiction_choices() -> list[tuple[str, str]]:
    return list(Jurisdiction.choices)


def clean_jurisdiction(value: str | None) -> str:
    """``value`` when it names a jurisdiction, the platform's default when empty; otherwise
    ``ValidationError`` on the field ``jurisdiction``."""
    value = (value or "").strip() or settings.DSAR_DEFAULT_JURISDICTION
    if value not in Jurisdiction.values:
        raise ValidationError(
            {"jurisdiction": [_("Choose where you live from the list.")]}, code="invalid"
        )
    return value


# Every intake looks its policy up: a copy per process while the table is unchanged (a few
# rows per jurisdiction), one round trip to the cache instead of a query (``dsar.snapshots``).
POLICIES = Snapshot(
    "response-policies",
    lambda: {(p.jurisdiction, p.request_type): p for p in ResponsePolicy.objects.all()},
    models=(ResponsePolicy,),
)


def policy_for(*, type: str, jurisdiction: str) -> ResponsePolicy | None:
    """The jurisdiction's row for ``type``, else its row for every type, else None. The row
    is the process's shared copy: read it, never change it."""
    rows = POLICIES.get()
    return rows.get((jurisdiction, type)) or rows.get((jurisdiction, ""))


def terms_at_intake(*, type: str, jurisdiction: str) -> dict:
    """What a request of ``type`` from ``jurisdiction`` stores as its policy: the terms, and
    which row they came from (``policy_id`` ``None``: the settings' default)."""
    policy = policy_for(type=type, jurisdiction=jurisdiction)
    if policy is None:
        return default_terms().as_dict() | {"policy_id": None, "source": "DSAR_SLA_* settings"}
    return policy.terms().as_dict() | {
        "policy_id": policy.pk,
        "source": policy.source,
        "extension_notice": policy.extension_notice,
    }


def terms_of(request) -> deadlines.Terms:
    """The terms a request was filed under (the default for one filed before policies)."""
    stored = request.response_policy or {}
    return deadlines.Terms.from_dict(stored) if stored else default_terms()
