"""Requests filed on someone else's behalf (CCPA §7063; issue 22): an authorised agent.

Staff record who files for whom (the agent's name and the authority they claim), or the agent
says so on the public form (with a signed permission, if they have one), where the contact
they give is the subject's own. The subject
is then asked, through the one notifier and the channel the request holds for them (never an
address the agent gives), to confirm on their status page; refusing is withdrawing the
request there. Until the subject confirms, the guard ``refuse_until_confirmed`` keeps the
request from the work: nothing is disclosed or deleted, and nothing goes to the agent.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.legal.errors import LegalInputError
from dsar.legal.models import DocumentKind, Representation, RepresentationKind
from dsar.legal.relatives import refuse_until_approved, seal_documents, who_filed
from dsar.verification import notices
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError

# Before any work: a representation recorded later could no longer hold anything back.
RECORDABLE = frozenset({Status.PENDING_VERIFICATION, Status.IN_REVIEW, Status.AWAITING_SUBJECT})
MAX_TEXT = 2000


def representation_for(request: RightsRequest) -> Representation | None:
    """Who files ``request`` for its subject, if anyone (``relatives.who_filed``)."""
    return who_filed(request)


def check_agent(*, name: str, authority: str) -> tuple[str, str]:
    """The agent's name and claimed authority, trimmed; ``LegalInputError`` (``name``,
    ``authority``) when one is missing or too long. The staff record and the public form
    both ask this, so they accept the same."""
    name, authority = (name or "").strip(), (authority or "").strip()
    errors = {}
    if not name:
        errors["name"] = [_("Give the agent's name (a person or an organisation).")]
    elif len(name) > 200:
        errors["name"] = [_("Keep the name under 200 characters.")]
    if not authority:
        errors["authority"] = [_("Say how the agent is authorised (e.g. a signed permission).")]
    elif len(authority) > MAX_TEXT:
        errors["authority"] = [_("Keep this under %(max)d characters.") % {"max": MAX_TEXT}]
    if errors:
        raise LegalInputError(errors)
    return name, authority


def record_agent(*, request: RightsRequest, user, name: str, authority: str) -> Representation:
    """Record that an authorised agent files ``request`` for its subject, and ask the subject
    to confirm. Raises ``PermissionDenied``, ``LegalInputError`` (``name``, ``authority``,
    ``request``) or ``TransitionError`` once the work has started; nothing is written then."""
    permissions.require(user, "record_agent")
    errors = {}
    try:
        name, authority = check_agent(name=name, authority=authority)
    except LegalInputError as error:
        errors.update(error.message_dict)
    if not (request.email or request.phone):
        errors["request"] = [_("The request holds no channel of the subject to confirm on.")]
    if errors:
        raise LegalInputError(errors)
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status not in RECORDABLE:
            raise TransitionError(
                f"Request {locked.reference} is {locked.status}; an agent is recorded before "
                "any work starts.",
                current=locked.status,
            )
        if Representation.objects.filter(request=locked).exists():
            raise LegalInputError.on("request", _("This request already names who filed it."))
        representation = _record(locked, name, authority, user=user, actor=Actor.staff(user))
        notices.notify(locked, "agent_confirm", agent_name=name)
    return representation


def agent_from_form(
    *, request: RightsRequest, name: str, authority: str, permission=None, notify: bool = True
) -> Representation:
    """Inside the intake's transaction: record that an agent filed ``request`` on the public
    form (already checked with ``check_agent``; ``permission`` the checked signed permission,
    ``(bytes, type)``, or None), and ask the subject to confirm on the channel the form gave
    for them, as for an agent staff record (``notify`` False when the address's allowance of
    messages is spent: the subject then confirms from a later message)."""
    representation = _record(request, name, authority, user=None, actor=Actor.subject())
    if permission is not None:
        seal_documents(representation, {DocumentKind.AGENT_PERMISSION: permission})
    if notify:
        notices.notify(request, "agent_confirm", agent_name=name)
    return representation


def _record(locked, name: str, authority: str, *, user, actor) -> Representation:
    representation = Representation.objects.create(
        request=locked,
        kind=RepresentationKind.AGENT,
        representative_name=name,
        authority=authority,
        recorded_by=user,
        recorded_at=timezone.now(),
    )
    record_event(
        action="representation.recorded",
        actor=actor,
        request_id=locked.pk,
        payload={"representation_id": str(representation.pk), "kind": "agent"},
    )
    return representation


def confirm_by_subject(*, request: RightsRequest) -> Representation:
    """The subject confirms, on their status page, that the agent acts for them."""
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        representation = Representation.objects.filter(
            request=locked, kind=RepresentationKind.AGENT, subject_confirmed_at__isnull=True
        ).first()
        if representation is None or locked.status not in RECORDABLE:
            raise TransitionError(
                _("Request %(reference)s has nothing waiting for your confirmation.")
                % {"reference": locked.reference},
                current=locked.status,
            )
        representation.subject_confirmed_at = timezone.now()
        representation.save(update_fields=["subject_confirmed_at"])
        record_event(
            action="representation.confirmed",
            actor=Actor.subject(),
            request_id=locked.pk,
            payload={"representation_id": str(representation.pk)},
        )
    return representation


def refuse_until_confirmed(request: RightsRequest) -> None:
    """Guard: a request filed on someone else's behalf does no work before it is cleared: an
    agent's until its subject confirmed it, a deceased subject's relative's until legal
    approved the evidence (``relatives.refuse_until_approved``). One read of who filed."""
    found = representation_for(request)
    if found is None:
        return
    if found.kind == RepresentationKind.AGENT and found.subject_confirmed_at is None:
        raise TransitionError(
            f"Request {request.reference} was filed by an agent: nothing is disclosed or "
            "deleted until the subject confirms it through the channel on file.",
            current=request.status,
        )
    refuse_until_approved(request, representation=found)


def anonymise(request, *, now) -> None:
    """Record retention: the agent's name and claimed authority go; the kind stays."""
    Representation.objects.filter(request=request).update(representative_name="", authority="")
