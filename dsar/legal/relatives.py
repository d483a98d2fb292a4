"""Requests by a close relative of a deceased subject (PIPL Art. 49; issue 22).

A near relative (PRC Civil Code Art. 1045) may, for their own lawful interest, access, copy,
correct or delete a deceased person's data, unless the deceased arranged otherwise. The
relative files on the public form or API: the request's contact is the relative's own (codes,
notices and the export go there, never to the deceased's addresses), and the deceased is
known by the identifiers kept on the request's ``Representation``, with the death certificate
and the proof of the relationship in ``STORAGES["evidence"]``.

After the relative verified their own channel the request is in review, but the guard
``refuse_until_approved`` (run by the guard of ``representation``) keeps it from all work
(no dry run, no fan-out, no export) until the legal role approved the evidence and recorded
the lawful interest. Legal may instead refuse, with a named basis: the request is denied and
the relative told how to complain. An arrangement the platform holds for the deceased
(``DeceasedArrangement``) is shown in the review, and approval refuses what it forbids. The
SLA clock runs from the relative's verification, review included: the review is our work,
not the relative's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.crypto.keys import keyed_hash
from dsar.legal import decisions, sources
from dsar.legal.errors import LegalInputError
from dsar.legal.models import (
    ArrangementScope,
    DeceasedArrangement,
    DocumentKind,
    LegalReview,
    Relationship,
    Representation,
    RepresentationDocument,
    RepresentationKind,
)
from dsar.verification import notices, storage
from dsar.verification.evidence import EvidenceTooLarge, checked_upload
from dsar.verification.proof import ProvenKeys
from dsar.workflow import facts, identity
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import OPEN_STATUSES, TransitionError

# PIPL Art. 49: access, copy, correct, delete.
RELATIVE_TYPES = frozenset({RequestType.ACCESS, RequestType.CORRECTION, RequestType.DELETION})
MAX_TEXT = 2000
MAX_NAME = 200
DOCUMENTS = {
    "death_certificate": DocumentKind.DEATH_CERTIFICATE,
    "relationship_proof": DocumentKind.RELATIONSHIP_PROOF,
}
# Run once legal approved, inside the approval's transaction (``dsar.effects`` registers
# the dry runs downstream here: this part may not import the fan-out).
_ON_APPROVAL: list[Callable] = []


def when_approved(run: Callable) -> None:
    """``run(request)`` once legal approved a relative's request."""
    _ON_APPROVAL.append(run)


def account_hash(value: str) -> str:
    value = (value or "").strip()
    return keyed_hash("account:" + value) if value else ""


@dataclass(frozen=True)
class RelativeClaim:
    """What a relative gives on the form: the relationship, the interest they claim, the
    deceased's identifiers as the platform knows them, and the two documents (uploads)."""

    relationship: str = ""
    lawful_interest: str = ""
    deceased_name: str = ""
    deceased_email: str = ""
    deceased_phone: str = ""
    deceased_account_id: str = ""
    death_certificate: object = None
    relationship_proof: object = None


@dataclass(frozen=True)
class CheckedClaim:
    claim: RelativeClaim
    email: str
    phone: str
    files: dict  # kind -> (bytes, content type)


def _text(errors: dict, field: str, value: str, *, required: str, limit: int) -> str:
    value = (value or "").strip()
    if not value and required:
        errors[field] = [required]
    elif len(value) > limit:
        errors[field] = [_("Keep this under %(max)d characters.") % {"max": limit}]
    return value


def upload_errors(errors: dict, field: str, upload, *, required: bool):
    """The checked content of ``upload`` (as identity evidence is checked), or None with a
    message for ``field`` in ``errors``."""
    if upload is None:
        if required:
            errors[field] = [_("Upload this document (JPEG, PNG or PDF).")]
        return None
    try:
        return checked_upload(upload)
    except EvidenceTooLarge as exc:
        errors[field] = [str(exc)]
    except ValidationError as exc:
        errors[field] = exc.message_dict.get("file", exc.messages)
    return None


def check_claim(*, type: str, claim: RelativeClaim) -> CheckedClaim:
    """Validate a relative's claim for a request of ``type``; ``ValidationError`` with every
    field message, before anything is written."""
    errors: dict = {}
    if type not in RELATIVE_TYPES:
        errors["filed_as"] = [
            _(
                "A close relative of a deceased person may ask to access, copy, correct or "
                "delete their data (PIPL Art. 49); choose one of those requests."
            )
        ]
    if claim.relationship not in Relationship.values:
        errors["relationship"] = [_("Choose your relationship to the deceased from the list.")]
    _text(
        errors, "lawful_interest", claim.lawful_interest, limit=MAX_TEXT,
        required=_("Say which lawful interest of yours the request serves."),
    )  # fmt: skip
    _text(errors, "deceased_name", claim.deceased_name, limit=MAX_NAME, required="")
    email = phone = ""
    if not (claim.deceased_email or claim.deceased_phone or claim.deceased_account_id.strip()):
        errors["deceased_email"] = [
            _("Give the deceased's email address, mobile number or account as we know it.")
        ]
    try:
        email = identity.normalise_email(claim.deceased_email) if claim.deceased_email else ""
    except identity.InvalidIdentity as exc:
        errors["deceased_email"] = [str(exc)]
    try:
        phone = identity.normalise_phone(claim.deceased_phone) if claim.deceased_phone else ""
    except identity.InvalidIdentity as exc:
        errors["deceased_phone"] = [str(exc)]
    if len(claim.deceased_account_id.strip()) > MAX_NAME:
        errors["deceased_account_id"] = [_("Keep this under %(max)d characters.") % {"max": 200}]
    files = {}
    for field, kind in DOCUMENTS.items():
        checked = upload_errors(errors, field, getattr(claim, field), required=True)
        if checked is not None:
            files[kind] = checked
    if errors:
        raise ValidationError(errors)
    return CheckedClaim(claim=claim, email=email, phone=phone, files=files)


def record_relative(*, request: RightsRequest, checked: CheckedClaim) -> Representation:
    """Inside the intake's transaction: record that a close relative filed ``request`` for a
    deceased subject, with their documents. The request waits for legal review."""
    claim = checked.claim
    representation = Representation.objects.create(
        request=request,
        kind=RepresentationKind.RELATIVE,
        representative_name=request.full_name,
        authority="",
        recorded_at=timezone.now(),
        relationship=claim.relationship,
        lawful_interest=claim.lawful_interest.strip(),
        deceased_name=claim.deceased_name.strip(),
        deceased_email=checked.email,
        deceased_phone=checked.phone,
        deceased_account_id=claim.deceased_account_id.strip(),
        deceased_email_hash=identity.email_hash(checked.email),
        deceased_phone_hash=identity.phone_hash(checked.phone),
        deceased_account_hash=account_hash(claim.deceased_account_id),
        legal_review=LegalReview.PENDING,
    )
    seal_documents(representation, checked.files)
    record_event(
        action="representation.recorded",
        actor=Actor.subject(),
        request_id=request.pk,
        payload={
            "representation_id": str(representation.pk),
            "kind": RepresentationKind.RELATIVE,
            "documents": len(checked.files),
        },
    )
    return representation


def seal_documents(representation: Representation, files: dict) -> None:
    """Seal each checked file (kind -> (bytes, type)) in the evidence storage and name it in
    a row, inside the caller's transaction; the files are deleted again if it rolls back."""
    names = []
    try:
        for kind, (data, content_type) in files.items():
            document_id = uuid.uuid4()
            name = storage.seal(storage.name_for(representation.request_id, document_id), data)
            names.append(name)
            RepresentationDocument.objects.create(
                id=document_id,
                representation=representation,
                kind=kind,
                file=name,
                content_type=content_type,
                size=len(data),
                uploaded_at=timezone.now(),
            )
    except BaseException:
        storage.delete(names)  # no row will name them
        raise


def relative_of(request: RightsRequest) -> Representation | None:
    """The deceased subject's close relative who files ``request``, if one does."""
    found = who_filed(request)
    return found if found is not None and found.kind == RepresentationKind.RELATIVE else None


def who_filed(request: RightsRequest) -> Representation | None:
    """Who files ``request`` for its subject, if anyone (read once inside ``facts.once``)."""
    return sources.who_filed(request)


def awaits_review(request: RightsRequest) -> bool:
    found = who_filed(request)
    return (
        found is not None
        and found.kind == RepresentationKind.RELATIVE
        and found.legal_review == LegalReview.PENDING
    )


def awaiting_review_q() -> Q:
    """Open requests (a ``RightsRequest`` queryset filter) whose relative waits for legal."""
    return Q(
        representation__kind=RepresentationKind.RELATIVE,
        representation__legal_review=LegalReview.PENDING,
        status__in=OPEN_STATUSES,
    )


def holds_back_work(representation: Representation | None) -> bool:
    """Whether who filed a request (``who_filed``) keeps it from doing any work: a relative
    whose evidence legal has not approved. Staff are not offered the approval then."""
    return (
        representation is not None
        and representation.kind == RepresentationKind.RELATIVE
        and representation.legal_review != LegalReview.APPROVED
    )


def refuse_until_approved(request: RightsRequest, *, representation: Representation) -> None:
    """Guard (through ``representation.refuse_until_confirmed``, which reads who filed): a
    relative's request does no work before legal approved the evidence."""
    if holds_back_work(representation):
        raise TransitionError(
            f"Request {request.reference} was filed by a relative of a deceased subject: "
            "nothing is disclosed, corrected or deleted until legal approves the evidence.",
            current=request.status,
        )


def arrangement_for(representation: Representation) -> DeceasedArrangement | None:
    """The deceased's own arrangement the platform holds, matched on their identifiers."""
    match = Q()
    for field in ("email_hash", "phone_hash", "account_hash"):
        value = getattr(representation, f"deceased_{field}")
        if value:
            match |= Q(**{field: value})
    if not match:
        return None
    return DeceasedArrangement.objects.filter(match, active=True).order_by("-created_at").first()


def forbids(arrangement: DeceasedArrangement | None, type: str) -> bool:
    """Whether ``arrangement`` forbids a relative's request of ``type``: "nothing" forbids
    every one, "no disclosure" forbids access (a copy) and leaves correction and deletion."""
    if arrangement is None:
        return False
    if arrangement.scope == ArrangementScope.NOTHING:
        return True
    return arrangement.scope == ArrangementScope.NO_DISCLOSURE and type == RequestType.ACCESS


def _pending(locked: RightsRequest) -> Representation:
    representation = (
        Representation.objects.select_for_update()
        .filter(request=locked, kind=RepresentationKind.RELATIVE)
        .first()
    )
    if representation is None or representation.legal_review != LegalReview.PENDING:
        raise TransitionError(
            f"Request {locked.reference} has no relative's evidence waiting for legal review.",
            current=locked.status,
        )
    if locked.status != Status.IN_REVIEW:
        raise TransitionError(
            f"Legal reviews a relative's evidence once the relative verified their contact "
            f"and while the request is in review; {locked.reference} is {locked.status}.",
            current=locked.status,
        )
    return representation


def approve(*, request: RightsRequest, user, lawful_interest: str) -> Representation:
    """Legal approves a relative's evidence and records the lawful interest it accepts; the
    request may then be approved for the work, which acts on the deceased's identifiers.
    Raises ``PermissionDenied``, ``LegalInputError`` (``lawful_interest``; ``arrangement``
    when the deceased's arrangement forbids the request) or ``TransitionError``."""
    permissions.require(user, "review_relative")
    errors: dict = {}
    note = _text(
        errors, "lawful_interest", lawful_interest, limit=MAX_TEXT,
        required=_("Record the lawful interest of the relative that you accept."),
    )  # fmt: skip
    if errors:
        raise LegalInputError(errors)
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        representation = _pending(locked)
        if forbids(arrangement_for(representation), locked.type):
            raise LegalInputError.on(
                "arrangement",
                _(
                    "The deceased arranged otherwise for their data; this request cannot be "
                    "approved. Refuse it, naming the arrangement."
                ),
            )
        _decide(representation, user=user, review=LegalReview.APPROVED, note=note)
        record_event(
            action="relative.approved",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={"representation_id": str(representation.pk)},
        )
        for run in _ON_APPROVAL:
            run(locked)
    return representation


def refuse(
    *, request: RightsRequest, user, basis: str, explanation: str, basis_detail: str = ""
) -> Representation:
    """Legal refuses a relative's request on a named ``basis``: the request is denied and the
    relative told the basis, the explanation and the complaint route. Raises
    ``PermissionDenied``, ``LegalInputError`` or ``TransitionError``; nothing changes then."""
    permissions.require(user, "review_relative")
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        representation = _pending(locked)
        decisions.deny_request(
            request=locked,
            user=user,
            basis=basis,
            explanation=explanation,
            basis_detail=basis_detail,
        )
        _decide(representation, user=user, review=LegalReview.REFUSED, note=explanation.strip())
        representation.review_basis = basis
        representation.save(update_fields=["review_basis"])
        record_event(
            action="relative.refused",
            actor=Actor.staff(user),
            request_id=locked.pk,
            payload={"representation_id": str(representation.pk), "basis": basis},
        )
    return representation


def _decide(representation: Representation, *, user, review: str, note: str) -> None:
    representation.legal_review = review
    representation.reviewed_by = user
    representation.reviewed_at = timezone.now()
    representation.review_note = note
    representation.save(update_fields=["legal_review", "reviewed_by", "reviewed_at", "review_note"])
    purge_documents(representation.request)


def deceased_keys(request: RightsRequest) -> ProvenKeys | None:
    """The identifiers the fan-out acts on for a relative's request: the deceased's, as legal
    approved them (nothing before approval); None for any other request."""
    representation = relative_of(request)
    if representation is None:
        return None
    if representation.legal_review != LegalReview.APPROVED:
        return ProvenKeys()
    return ProvenKeys(
        email=representation.deceased_email,
        phone=representation.deceased_phone,
        account_id=representation.deceased_account_id,
    )


def documents_for(request: RightsRequest) -> list[RepresentationDocument]:
    return list(
        RepresentationDocument.objects.filter(
            representation__request=request, purged_at__isnull=True
        )
    )


def open_document(*, request: RightsRequest, user, document_id) -> RepresentationDocument:
    """A kept document of ``request`` for a reviewer (legal for a relative's evidence, the
    roles that record agents for a signed permission), its opening audited; the decrypted
    content is read with ``document_content``. ``PermissionDenied`` or ``DoesNotExist``."""
    document = RepresentationDocument.objects.select_related("representation").get(
        pk=document_id, representation__request=request, purged_at__isnull=True
    )
    relative = document.representation.kind == RepresentationKind.RELATIVE
    permissions.require(user, "review_relative" if relative else "record_agent")
    record_event(
        action="representation.document_opened",
        actor=Actor.staff(user),
        request_id=request.pk,
        payload={"document_id": str(document.pk), "kind": document.kind},
    )
    return document


def document_content(document: RepresentationDocument) -> bytes:
    return storage.unseal(document.file)


def purge_documents(request: RightsRequest) -> int:
    """Delete the kept documents of ``request`` from the evidence storage once the rows no
    longer naming them commit (after legal decided, or when the request closed)."""
    if facts.active(request) and who_filed(request) is None:
        return 0  # the documents are who filed's; the call has read that nobody did
    kept = list(
        RepresentationDocument.objects.filter(
            representation__request=request, purged_at__isnull=True
        ).values_list("pk", "file")
    )
    if not kept:
        return 0
    RepresentationDocument.objects.filter(pk__in=[pk for pk, _ in kept]).update(
        file="", purged_at=timezone.now()
    )
    names = [name for _, name in kept]
    transaction.on_commit(lambda: storage.delete(names))
    record_event(
        action="representation.documents_purged",
        actor=Actor.system("legal"),
        request_id=request.pk,
        payload={"count": len(kept)},
    )
    return len(kept)


def tell_relative_approved(request: RightsRequest) -> None:
    """Tell the relative (the request's own contact) that legal approved their evidence."""
    notices.notify(request, "relative_approved")


def anonymise(request, *, now) -> None:
    """Record retention: the deceased's identifiers, the claimed interest and the review's
    note go, and any document left; the kind, relationship and decision stay for metrics."""
    names = list(
        RepresentationDocument.objects.filter(representation__request=request)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    RepresentationDocument.objects.filter(representation__request=request).delete()
    if names:
        transaction.on_commit(lambda: storage.delete(names))
    Representation.objects.filter(request=request).update(
        lawful_interest="", deceased_name="", deceased_email="", deceased_phone="",
        deceased_account_id="", deceased_email_hash="", deceased_phone_hash="",
        deceased_account_hash="", review_note="",
    )  # fmt: skip
