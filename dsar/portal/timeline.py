"""The timeline a subject may see of their own request, for the status page.

Built from the audit trail and the records the subject was already told about: when we
received the request, when they confirmed it is them and by when we must answer, each move
the status made, our questions and their replies, an extension with its reason, the outcome
with its legal basis and the complaint route, how many items of the package were withheld on
review (``export.released``; never what or the reviewer's reason), the download and each use;
a cost fee (proposed, with its amount and the reason the subject was told; accepted; the
payment recorded; ended by a withdrawal), and an authorised agent's request (that one was
recorded, and the subject's confirmation).

An agent's name is the agent's personal data: the timeline says that an authorised agent
filed, never who. The status page names the agent once, where the subject confirms or
refuses (``status.html``), while that decision is theirs to make.

What is never in it: who on our side acted (no staff name, no staff id, not even "staff"),
internal notes, findings, the reasons staff gave for a move (they may be internal), and the
downstream systems. Each entry is a ``Step`` (``kind`` says how the page writes it out).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dsar.audit.models import AuditEvent
from dsar.branding import services as branding
from dsar.exports.models import Package
from dsar.legal.models import Basis, DecisionKind, Fee
from dsar.legal.selectors import decision_for
from dsar.portal.models import SubjectReply
from dsar.workflow.models import Outcome, RightsRequest, Status

# The audit actions a subject's timeline reads; everything else stays out.
ACTIONS = ("request.created", "request.transition", "sla.extended", "export.built",
           "export.downloaded", "export.released", "fee.proposed", "fee.accepted", "fee.paid",
           "fee.withdrawn", "representation.recorded", "representation.confirmed")  # fmt: skip
# Steps said the same way whatever their event holds.
PLAIN = {
    "export.downloaded": "downloaded",
    "fee.accepted": "fee_accepted",
    "fee.paid": "fee_paid",
    "fee.withdrawn": "fee_withdrawn",
    "representation.confirmed": "agent_confirmed",
}

# Moves the timeline writes out by themselves (the others are said by a step of their own:
# verification, a question, the outcome).
STATUS_STEPS = frozenset(
    {Status.IN_REVIEW, Status.PROCESSING, Status.COOLING_OFF, Status.WITHDRAWN, Status.EXPIRED}
)


# Ways out of waiting for verification that verify nothing.
UNVERIFIED = frozenset({Status.WITHDRAWN, Status.EXPIRED, Status.DENIED})


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    kind: str  # received · verified · status · question · reply · extended · outcome ·
    #            withheld · download_ready · downloaded · fee_proposed · fee_accepted ·
    #            fee_paid · fee_withdrawn · agent_recorded · agent_confirmed
    data: dict = field(default_factory=dict)


def subject_timeline(request: RightsRequest) -> list[Step]:
    """Every step of ``request`` the subject may see, oldest first."""
    events = list(AuditEvent.objects.filter(request_id=request.pk, action__in=ACTIONS).in_order())
    extensions = [e for e in events if e.action == "sla.extended"]
    steps: list[Step] = []
    for event in events:
        step = _step(request, event, extensions)
        if step is not None:
            steps.append(step)
    steps += [Step(m.created_at, "question", {"body": m.body}) for m in _questions(request)]
    steps += [
        Step(r.created_at, "reply", {"body": r.body, "with_file": bool(r.attachment_type)})
        for r in SubjectReply.objects.filter(request=request).only(
            "body", "attachment_type", "created_at"
        )
    ]
    # A question or a reply comes before the move it caused at the same instant.
    return sorted(steps, key=lambda s: (s.at, s.kind not in ("question", "reply")))


def _questions(request: RightsRequest):
    return request.staff_messages.only("body", "created_at").order_by("created_at")


def _step(request: RightsRequest, event: AuditEvent, extensions: list) -> Step | None:
    payload = event.payload or {}
    if event.action == "request.created":
        return Step(event.occurred_at, "received")
    if event.action == "sla.extended":
        return Step(
            event.occurred_at,
            "extended",
            {"due_at": _instant(payload.get("to")), "reason": request.extension_reason},
        )
    if event.action == "export.built":
        package = Package.objects.filter(pk=payload.get("package")).first()
        return Step(
            event.occurred_at,
            "download_ready",
            {"expires_at": package.expires_at if package else None},
        )
    if event.action in PLAIN:
        return Step(event.occurred_at, PLAIN[event.action])
    if event.action == "fee.proposed":
        return Step(event.occurred_at, "fee_proposed", _fee(payload))
    if event.action == "representation.recorded":
        # Only an agent's request is said here; who the agent is stays out (see above).
        return Step(event.occurred_at, "agent_recorded") if payload.get("kind") == "agent" else None
    if event.action == "export.released":
        # How much staff withheld, never what or why in their words; and how to contest it.
        withheld = int(payload.get("redactions", 0))
        if not withheld:
            return None
        contact = branding.complaint_contact()
        return Step(
            event.occurred_at, "withheld", {"count": withheld, "complaint_contact": contact}
        )
    # request.transition
    if event.from_status == Status.PENDING_VERIFICATION and event.to_status not in UNVERIFIED:
        # The deadline as verification set it: before an extension moved it, if one did.
        first_due = _instant(extensions[0].payload.get("from")) if extensions else request.due_at
        return Step(event.occurred_at, "verified", {"due_at": first_due})
    if event.to_status in (Status.COMPLETED, Status.DENIED):
        return Step(event.occurred_at, "outcome", _outcome(request, event))
    if event.to_status in STATUS_STEPS:
        return Step(event.occurred_at, "status", {"label": Status(event.to_status).label})
    return None


def _fee(payload: dict) -> dict:
    """The amount as proposed (the event's), and the reason the subject was told (the fee's
    own, gone once the record's retention anonymised it)."""
    fee = Fee.objects.filter(pk=payload.get("fee_id")).only("reason").first()
    return {
        "amount": payload.get("amount", ""),
        "currency": payload.get("currency", ""),
        "reason": fee.reason if fee is not None else "",
    }


def _outcome(request: RightsRequest, event: AuditEvent) -> dict:
    """The outcome and, for a refusal or a partial answer, its legal basis and where to
    complain about it."""
    outcome = (event.payload or {}).get("outcome") or request.outcome
    data = {
        "denied": event.to_status == Status.DENIED,
        "outcome_label": Outcome(outcome).label if outcome else Status(event.to_status).label,
    }
    kind = DecisionKind.DENIAL if data["denied"] else DecisionKind.PARTIAL
    decision = decision_for(request, kind=kind)
    if decision is not None:
        data.update(
            basis_label=Basis(decision.basis).label,
            basis_detail=decision.basis_detail,
            complaint_contact=branding.complaint_contact(),
        )
    return data


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None
