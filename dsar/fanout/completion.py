"""Moving a request in processing on once its tasks settle: the next stage opens, or the
request completes (``partial`` when a task was excluded, the legal part kept data, or a
proposed correction was not made)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef

from dsar.audit.services import Actor, appended_together
from dsar.fanout import backups
from dsar.fanout.models import Action, FanoutTask
from dsar.fanout.plan import SETTLED, open_stage
from dsar.fanout.publishing import publish
from dsar.fanout.routing import settle_corrections
from dsar.legal.selectors import completes_partially
from dsar.verification import notices
from dsar.workflow import facts
from dsar.workflow.models import Outcome, RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError, lock, transition

log = logging.getLogger(__name__)

# How long a running task without a lease may sit untouched before the reconciler acts on it.
STUCK_AFTER = dt.timedelta(minutes=10)
# A request whose work has settled is moved on by its last outcome's worker at once; the
# reconciler moves on one left behind (its worker died between the two commits) after this.
COMPLETION_GRACE = dt.timedelta(seconds=30)
# The completion's work rows (``plan.Stage``), a fact of the call for its reactions.
STAGE = "fanout_stage"


def complete_if_done(request_id) -> str | None:
    """Move a request in processing on: open its next stage, or complete it once every
    task is settled (done, excluded, or a backup waiting for its rotation: ``plan.settled``);
    return the completion outcome, or None if it did not complete.

    A failed task keeps the request in processing, flagged for staff, who can retry the
    system. The outcome is ``partial`` when a task was excluded, the legal part kept data, or
    a correction was refused or held by no system.
    """
    # No savepoint of its own: a caller inside a transaction that goes on after a failure
    # (``move_on``) takes one.
    with transaction.atomic(savepoint=False):
        request = RightsRequest(pk=request_id)
        # The row is locked and read once (with who filed it); the completion's own
        # transition and its reactions trust that read (``facts``).
        with facts.once(request):
            try:
                lock(request, annotate={"legal_partial": completes_partially()})
            except RightsRequest.DoesNotExist:
                return None
            if request.status != Status.PROCESSING:
                return None
            stage = open_stage(request)
            if not stage.settled:
                transaction.on_commit(lambda: publish(stage.created))
                return None
            facts.known(request, STAGE, stage)  # for the subject's notice (tell_subject)
            partial = request.legal_partial or stage.excluded
            outcome = Outcome.PARTIAL if partial else Outcome.FULL
            if request.type == RequestType.CORRECTION and not settle_corrections(request):
                outcome = Outcome.PARTIAL  # a change refused, or held by no system
            try:
                # A refusal gives the whole transaction up (it wrote nothing else that must
                # stay), so the move needs no savepoint of its own.
                transition(
                    request, to=Status.COMPLETED, actor=Actor.system("fanout"), outcome=outcome,
                    savepoint=False,
                )  # fmt: skip
            except TransitionError:  # a guard refused it: the request stays for staff
                return None
    return outcome


def move_on(request_id: str) -> None:
    """After a task's outcome that may settle its request (committed just before, or in the
    caller's transaction): open the request's next stage or complete it, if nothing of it is
    open any more.

    Race-free: the request's row lock orders two batches of the same request, and the one to
    take it last sees both their outcomes (each batch commits its outcome before, or with,
    its own look). If this step fails or its worker dies first, the outcomes are still
    recorded; the reconciler (``complete_settled``) moves the request on after
    ``COMPLETION_GRACE``.
    """
    try:
        with transaction.atomic(), appended_together():
            complete_if_done(request_id)
    except Exception:
        log.exception("could not move request %s on; the reconciler will", request_id)


def complete_settled(*, now: dt.datetime) -> int:
    """Requests left in processing although all their tasks are settled (their completion
    step was lost with a worker) are moved on: the next stage opens or the request completes.
    Requests with a failed task wait for staff. Returns how many were moved on."""
    open_work = FanoutTask.objects.filter(request=OuterRef("pk")).exclude(action=Action.CHECK)
    settled = list(
        RightsRequest.objects.filter(
            status=Status.PROCESSING, updated_at__lt=now - COMPLETION_GRACE
        )
        .filter(Exists(open_work))
        .exclude(Exists(open_work.exclude(status__in=SETTLED).exclude(backups.backup_waiting())))
        .values_list("pk", flat=True)[:500]
    )
    for request_id in settled:
        complete_if_done(str(request_id))
    return len(settled)


def tell_subject(request: RightsRequest) -> None:
    """A deletion or cancellation done in full: the subject is told, with the date by which
    the backups that still hold their data will have rotated out, when any do (the ledger is
    read only when the completion's work rows show a backup waiting)."""
    stage = facts.read(request, STAGE, lambda: None)
    waiting = stage is None or stage.backups_waiting
    until = backups.backups_rotate_by(request) if waiting else None
    notices.notify(request, "deletion_done", backups_until=until)
