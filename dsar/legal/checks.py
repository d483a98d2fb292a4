"""The legal-exception checks of SPEC §5, one small function each, and the one list of them.

A check takes a request and returns the findings it yields (often none). Messages are English
message ids with named placeholders, translated when shown; parameters never carry personal
data. Adding a check is adding one function and one line to ``CHECKS``.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from dsar.legal import selectors, sources
from dsar.legal.models import Severity
from dsar.workflow.models import RequestType, RightsRequest

T = RequestType
ERASING_TYPES = frozenset({T.DELETION, T.CANCELLATION})
STRONG_VERIFICATION_TYPES = frozenset({T.ACCESS, T.DELETION, T.CANCELLATION})
REPEAT_WINDOW = dt.timedelta(days=365)


@dataclass(frozen=True)
class Result:
    """One finding as a check produces it, before the engine stores it."""

    severity: str
    legal_reference: str
    message: str
    params: dict = field(default_factory=dict)
    key: str = ""


def legal_hold(request: RightsRequest) -> list[Result]:
    """A hold on the subject (litigation, investigation, regulator order) blocks erasure."""
    if request.type not in ERASING_TYPES:
        return []
    return [
        Result(
            Severity.BLOCKING,
            "GB/T 35273-2020 §8.7; PIPL Art. 47",
            gettext_noop(
                "A legal hold (%(hold_kind)s, reference %(reference)s) covers this subject: "
                "nothing may be deleted or closed while it is in force."
            ),
            {"hold_kind": hold.kind, "reference": hold.reference},
            key=str(hold.pk),
        )
        for hold in selectors.active_holds_for(request)
    ]


def statutory_retention(request: RightsRequest) -> list[Result]:
    """Categories the law says must be kept are excluded from erasure and deleted later."""
    if request.type not in ERASING_TYPES:
        return []
    return [
        Result(
            Severity.ADVISORY,
            rule.legal_basis,
            gettext_noop(
                "%(category)s must be kept for %(months)d months from %(start)s. They are "
                "excluded from this deletion, kept for storage and security only, and deleted "
                "when the period ends; the request will complete in part."
            ),
            {"category": rule.name, "months": rule.period_months, "start": rule.start_event},
            key=rule.category,
        )
        for rule in selectors.retention_rules_for(request)
    ]


def repeated_requests(request: RightsRequest) -> list[Result]:
    """More than DSAR_REPEAT_LIMIT verified requests of one type in 12 months."""
    since = timezone.now() - REPEAT_WINDOW
    count = selectors.verified_requests_of_subject(request, since=since)
    if count <= settings.DSAR_REPEAT_LIMIT:
        return []
    return [
        Result(
            Severity.ADVISORY,
            "GB/T 35273-2020 §8.7; PIPL Art. 50",
            gettext_noop(
                "This subject made %(count)d verified requests of this type in the last 12 "
                "months (limit %(limit)d). You may charge a reasonable fee, telling the subject "
                "before any work starts, or refuse the request as manifestly excessive."
            ),
            {"count": count, "limit": settings.DSAR_REPEAT_LIMIT},
        )
    ]


def open_obligations(request: RightsRequest) -> list[Result]:
    """Balances, open orders and disputes reported downstream block a cancellation."""
    if request.type != T.CANCELLATION:
        return []
    # Unknown until a downstream system reports (see sources.record_downstream_check).
    obligations = sources.open_obligations(request) or []
    return [
        Result(
            Severity.BLOCKING,
            "GB/T 35273-2020 §8.5",
            gettext_noop(
                "%(system)s reports an open obligation (%(obligation)s). The account can be closed "
                "once it is resolved."
            ),
            {"system": item["system"], "obligation": item["kind"]},
            key=f"{item['system']}:{item['kind']}",
        )
        for item in obligations
    ]


def verification_strength(request: RightsRequest) -> list[Result]:
    """Access, deletion and cancellation need proof through a channel the platform holds."""
    if request.type not in STRONG_VERIFICATION_TYPES:
        return []
    facts = sources.latest_verification(request)
    # No record: moved into review outside the verification services; nothing to judge.
    if facts is None or facts.strength == "staff_reviewed":
        return []
    reference = "PIPL Art. 50; GB/T 35273-2020 §8.7"
    held = sources.held_identity_hashes(request)
    if held is None:
        message = gettext_noop(
            "The subject proved control of the address they gave, but no downstream system "
            "has said which addresses it holds for the account. Check that it is one of them."
        )
        return [Result(Severity.ADVISORY, reference, message, key="unconfirmed")]
    if facts.identity_hash in held:
        return []
    message = gettext_noop(
        "The subject was verified through an address the platform does not hold for this "
        "account. Ask for stronger proof (a code to an address on file, or identity evidence)."
    )
    return [Result(Severity.BLOCKING, reference, message, key="not_held")]


def map_coverage(request: RightsRequest) -> list[Result]:
    """A deletion reaching a system whose data map misses personal columns may leave data."""
    if request.type not in ERASING_TYPES:
        return []
    return [
        Result(
            Severity.ADVISORY,
            "PIPL Art. 47; GB/T 35273-2020 §8.3",
            gettext_noop(
                "The data map of %(system)s does not cover personal columns that discovery "
                "found in %(tables)s: a deletion there may leave data behind. Review the map "
                "before approving."
            ),
            {"system": system, "tables": ", ".join(tables)},
            key=f"coverage:{system}",
        )
        for system, tables in sources.uncovered_tables(request).items()
    ]


# The registered checks, in the order their findings are shown.
CHECKS: list[Callable[[RightsRequest], list[Result]]] = [
    legal_hold,
    statutory_retention,
    repeated_requests,
    open_obligations,
    verification_strength,
    map_coverage,
]
