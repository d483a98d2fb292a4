"""What each audit event is called on the staff pages (the timeline), in both languages.

The audit trail keeps its machine names (``sla.extended``); staff read these labels. An event
without a label here (a new one) is shown as "Other event" and its name stays in the page's
markup (``data-action``), so the timeline never shows untranslated text.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dsar.audit.models import ActorKind
from dsar.workflow.models import Status

LABELS = {
    "request.created": _("Request received"),
    "request.filed_by_staff": _("Request filed by staff for a caller"),
    "verification.on_file_contact": _("Code sent to a contact on file"),
    "request.transition": _("Status changed"),
    "request.claimed": _("Claimed"),
    "request.assigned": _("Assigned"),
    "request.anonymised": _("Request data anonymised (record retention)"),
    "verification.sent": _("Verification code sent"),
    "verification.failed": _("Wrong verification code"),
    "verification.held_back": _("Verification message held back (limit reached)"),
    "verification.staff_code_sent": _("Read-back code sent by staff"),
    "evidence.uploaded": _("Identity document uploaded"),
    "evidence.viewed": _("Identity document viewed"),
    "evidence.rejected": _("Identity document rejected"),
    "evidence.purged": _("Identity document deleted"),
    "identity.revealed": _("Identity revealed to staff"),
    "note.added": _("Internal note added"),
    "message.sent": _("Message sent to the subject"),
    "subject.replied": _("The subject replied"),
    "fee.proposed": _("Fee proposed to the subject"),
    "fee.accepted": _("The subject accepted the fee"),
    "fee.paid": _("Fee payment recorded"),
    "fee.withdrawn": _("Fee ended: the request was withdrawn"),
    "representation.recorded": _("Recorded as filed by an authorised agent"),
    "representation.confirmed": _("The subject confirmed the agent's request"),
    "reply.file_viewed": _("File of a reply viewed"),
    "status.link_resent": _("Status link sent again"),
    "sla.extended": _("Deadline extended"),
    "sla.warning": _("Deadline warning sent"),
    "sla.breach": _("Deadline breached"),
    "sla.digest": _("Deadline digest sent"),
    "legal.checks_run": _("Legal checks run"),
    "legal.downstream_check": _("Dry-run answer recorded"),
    "legal.finding_overridden": _("Legal finding overridden"),
    "legal.hold_placed": _("Legal hold placed"),
    "legal.hold_lifted": _("Legal hold lifted"),
    "legal.partial_fulfilment": _("Partial fulfilment decided"),
    "approval.refused": _("Approval refused (separation of duties)"),
    "approval.advisories_acknowledged": _("Advisory findings acknowledged on approval"),
    "correction.accepted": _("Correction accepted"),
    "correction.refused": _("Correction refused"),
    "correction.settled": _("Corrections settled"),
    "fanout.started": _("Downstream work started"),
    "fanout.progress": _("Downstream progress"),
    "fanout.pending": _("Downstream task queued"),
    "fanout.running": _("Downstream task running"),
    "fanout.waiting": _("Downstream task accepted, waiting for the callback"),
    "fanout.done": _("Downstream task done"),
    "fanout.failed": _("Downstream task failed"),
    "fanout.excluded": _("Downstream task excluded (statutory retention)"),
    "fanout.retried": _("Downstream task retried"),
    "fanout.replayed": _("Downstream task sent again"),
    "fanout.recheck_asked": _("Fresh dry run asked"),
    "fanout.retention_ended": _("Retention period ended"),
    "fanout.backup_rotated": _("Backups rotated"),
    "retention.deletion_deferred": _("Deletion deferred (statutory retention)"),
    "retention.deferred_deletion_run": _("Deferred deletion run"),
    "export.built": _("Access package built"),
    "export.downloaded": _("Access package downloaded"),
    "export.renewed": _("Fresh download link sent"),
    "export.deleted": _("Access package deleted"),
    "email.sent": _("Email sent"),
    "email.failed": _("Email failed"),
    "sms.sent": _("Text message sent"),
    "sms.failed": _("Text message failed"),
}
OTHER = pgettext_lazy("audit event", "Other event")


def label(action: str) -> str:
    return str(LABELS.get(action, OTHER))


def status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


def entries(events) -> list[dict]:
    """The timeline as staff read it: label, the statuses by their names, and who acted (a
    staff member by username; one query for all of them)."""
    events = list(events)
    staff_ids = {e.actor_id for e in events if e.actor_kind == ActorKind.STAFF and e.actor_id}
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[int(i) for i in staff_ids if i.isdigit()])
        .values_list("pk", "username")
    )
    rows = []
    for e in events:
        actor = str(ActorKind(e.actor_kind).label) if e.actor_kind in ActorKind.values else ""
        if e.actor_kind == ActorKind.STAFF and e.actor_id.isdigit():
            actor = names.get(int(e.actor_id), actor)
        rows.append(
            {
                "at": e.occurred_at,
                "action": e.action,
                "label": label(e.action),
                "from_status": status_label(e.from_status) if e.from_status else "",
                "to_status": status_label(e.to_status) if e.to_status else "",
                "actor": actor,
            }
        )
    return rows
