"""SLA writes: the one extension per request, and the sweep that warns and escalates.

The sweep follows healthchecks' pattern: claim first (insert the notice row; the unique
constraint lets exactly one sweep win), then queue the emails in the same transaction, so a
notice and its emails commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.notifications.services import queue_email
from dsar.sla import clock
from dsar.sla.models import DigestRun, NoticeKind, SlaNotice, Unit
from dsar.sla.selectors import open_breached
from dsar.verification import notices
from dsar.workflow.models import TERMINAL_STATUSES, RightsRequest
from dsar.workflow.transitions import TransitionError

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


class ExtensionRefused(TransitionError):
    """An extension the rules do not allow (second one, or after the deadline)."""


def extend(*, request: RightsRequest, user, days: int, reason: str) -> RightsRequest:
    """Extend the deadline once, with a reason, before it passes; tell the subject."""
    permissions.require(user, "extend")
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = ["Give the reason; the subject is told it."]
    limit, unit = clock.extension_limit(request)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        errors["days"] = [
            _("Choose 1 to %(limit)s %(unit)s (the request's response policy).")
            % {"limit": limit, "unit": Unit(unit).label}
        ]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status in TERMINAL_STATUSES or locked.due_at is None:
            raise ExtensionRefused(
                "Only an open, verified request can be extended.", current=locked.status
            )
        if locked.extended_at is not None:
            raise ExtensionRefused(
                f"{locked.reference} was already extended once.", current=locked.status
            )
        # While paused the clock stands still: the deadline counts as passed only if it had
        # passed when the request was paused.
        if locked.due_at <= (locked.paused_at or now):
            raise ExtensionRefused(
                f"The deadline of {locked.reference} has passed; it can no longer be extended.",
                current=locked.status,
            )
        old_due = locked.due_at
        locked.due_at = clock.extended_due_at(due_at=old_due, days=days, request=locked)
        locked.extended_at = now
        locked.extension_reason = reason
        locked.sla_next_check_at = clock.next_check_at(locked, now=now)
        locked.save(
            update_fields=[
                "due_at", "extended_at", "extension_reason", "sla_next_check_at", "updated_at",
            ]
        )  # fmt: skip
        record_event(
            action="sla.extended",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={
                "days": days,
                "unit": unit,
                "from": old_due.isoformat(),
                "to": locked.due_at.isoformat(),
            },
        )
        notices.notify(
            locked,
            "sla_extended",
            reason=reason,
            # The policy's own notice (e.g. GDPR Art. 12(3)), as fixed at intake.
            policy_notice=(locked.response_policy or {}).get("extension_notice", ""),
        )  # due_at: the new deadline
    request.refresh_from_db()
    return request


def _with_language(users) -> list[tuple[str, str]]:
    found = []
    for user in users:
        if user.email:
            profile = getattr(user, "staff_profile", None)
            found.append((user.email, profile.language if profile else settings.LANGUAGE_CODE))
    return found


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen, unique = set(), []
    for address, language in pairs:
        key = address.strip().lower()
        if key and key not in seen:
            seen.add(key)
            unique.append((key, language))
    return unique


def _supervisors():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name="supervisor")
        .select_related("staff_profile")
    )


def staff_recipients(request: RightsRequest) -> list[tuple[str, str]]:
    """(address, language) for the assignee, every active supervisor and
    DSAR_ESCALATION_EMAILS (in the default language), without duplicates."""
    users = list(_supervisors())
    if request.assignee and request.assignee.is_active:
        users.insert(0, request.assignee)
    escalation = [(a, settings.LANGUAGE_CODE) for a in settings.DSAR_ESCALATION_EMAILS]
    return _unique(_with_language(users) + escalation)


def staff_link(pk) -> str:
    """The absolute address of the staff page of request ``pk`` (for emails)."""
    return settings.DSAR_PUBLIC_BASE_URL + reverse("staff:request", args=[pk])


def sweep(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Send the due-soon and breach emails that are due; return how many of each were sent.

    Only rows whose indexed ``sla_next_check_at`` has passed are read, in batches until none
    is left, so the cost follows the requests crossing a threshold, not the open requests.
    Safe to run twice or twice at once: each email goes out once (see :func:`_handle`).
    """
    now = now or timezone.now()
    sent = {NoticeKind.WARNING.value: 0, NoticeKind.BREACH.value: 0}
    seen: set = set()
    while True:
        due = list(
            RightsRequest.objects.filter(sla_next_check_at__lte=now)
            .order_by("sla_next_check_at")
            .values_list("pk", flat=True)[:batch]
        )
        for pk in due:
            kind = _handle(pk, now=now)
            if kind:
                sent[kind] += 1
        # Handled rows leave the selection; stop when it runs dry or only repeats itself.
        if len(due) < batch or seen.issuperset(due):
            if any(sent.values()):
                log.info("SLA sweep sent %(warning)s warnings, %(breach)s breaches", sent)
            return sent
        seen.update(due)


def _crossed(request: RightsRequest, *, now: dt.datetime) -> str | None:
    """The threshold a running clock has crossed at ``now``: breach wins over warning."""
    if not request.is_open or request.paused_at is not None or request.due_at is None:
        return None
    if request.due_at <= now:
        return NoticeKind.BREACH
    if clock.warn_at(request.due_at) <= now:
        return NoticeKind.WARNING
    return None


def _handle(pk, *, now: dt.datetime) -> str | None:
    """Advance one request's next check and, if it crossed a threshold, notify once.

    Two claims, both compare-and-swap: the pointer moves only if it still holds the value
    read (a racing sweep, or a transition or extension in between, makes this one back off),
    and the notice row is inserted only if no other sweep inserted it (unique constraint).
    """
    with transaction.atomic():
        request = RightsRequest.objects.select_related("assignee__staff_profile").get(pk=pk)
        seen = request.sla_next_check_at
        if seen is None or seen > now:
            return None  # handled, closed, paused or moved since it was listed
        kind = _crossed(request, now=now)
        # After a breach nothing is due until the deadline moves (an extension re-arms it).
        following = None if kind == NoticeKind.BREACH else clock.next_check_at(request, now=now)
        won = RightsRequest.objects.filter(pk=pk, sla_next_check_at=seen).update(
            sla_next_check_at=following
        )
        if not won or kind is None or not _claim(request, kind):
            return None
        _notify_staff(request, kind)
    return kind


def _claim(request: RightsRequest, kind: str) -> bool:
    """Insert the notice; False when another sweep already did (the unique constraint)."""
    try:
        with transaction.atomic():
            SlaNotice.objects.create(
                request=request,
                kind=kind,
                after_extension=request.extended_at is not None,
                due_at=request.due_at,
            )
    except IntegrityError:
        return False
    return True


def _notify_staff(request: RightsRequest, kind: str) -> None:
    context = {
        "reference": request.reference,
        "due_at": request.due_at,
        "link": staff_link(request.pk),
        "kind": kind,
    }
    for address, language in staff_recipients(request):
        queue_email(
            to=address,
            template=f"sla_{kind}",
            context=context,
            language=language,
            request_id=request.pk,
        )
    record_event(
        action=f"sla.{kind}",
        actor=Actor.system("sla-sweep"),
        request_id=request.pk,
        payload={"due_at": request.due_at.isoformat()},
    )


def send_daily_digest(*, now: dt.datetime | None = None) -> int | None:
    """Email supervisors the list of every open breached request, once per local day.

    Returns how many requests were listed, or None when today's digest was already sent.
    """
    now = now or timezone.now()
    today = now.astimezone(clock.local_tz()).date()
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = DigestRun.objects.create(date=today)
        except IntegrityError:
            return None
        rows = list(open_breached(now=now).order_by("due_at").values("pk", "reference", "due_at"))
        run.count = len(rows)
        run.save(update_fields=["count"])
        recipients = staff_recipients_for_digest()
        if rows and recipients:
            items = [{**row, "link": staff_link(row["pk"])} for row in rows]
            for address, language in recipients:
                queue_email(
                    to=address,
                    template="sla_digest",
                    context={"items": items, "date": today},
                    language=language,
                )
        record_event(
            action="sla.digest", actor=Actor.system("sla-sweep"), payload={"count": len(rows)}
        )
    return len(rows)


def staff_recipients_for_digest() -> list[tuple[str, str]]:
    escalation = [(a, settings.LANGUAGE_CODE) for a in settings.DSAR_ESCALATION_EMAILS]
    return _unique(_with_language(_supervisors()) + escalation)
