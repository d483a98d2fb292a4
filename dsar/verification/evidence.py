"""Identity evidence uploaded by the subject for staff review.

Only JPEG, PNG and PDF are accepted, recognised by their content (not their name or declared
type), up to ``DSAR_EVIDENCE_MAX_BYTES``. The content is encrypted and kept in
``STORAGES["evidence"]`` (``storage.py``), and deleted from there as soon as staff decide, or
when the request stops waiting for verification.
"""

import uuid

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.verification import storage
from dsar.verification.models import Evidence, EvidenceStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError

ACCEPTED_TYPES = {"image/jpeg", "image/png", "application/pdf"}
MAX_PENDING = 5


class EvidenceTooLarge(Exception):
    """An upload over the size limit (HTTP 413)."""

    def __init__(self):
        limit_mb = settings.DSAR_EVIDENCE_MAX_BYTES / (1024 * 1024)
        super().__init__(_("The file is too large; the limit is %(mb)g MB.") % {"mb": limit_mb})


def sniff(head: bytes) -> str | None:
    """The accepted content type of a file starting with ``head``, or None."""
    kind = filetype.guess(head)
    return kind.mime if kind and kind.mime in ACCEPTED_TYPES else None


def checked_upload(upload) -> tuple[bytes, str]:
    """The content and type of a file the subject uploads (evidence, or a photo with a
    reply): ``EvidenceTooLarge`` over ``DSAR_EVIDENCE_MAX_BYTES``, ``ValidationError`` (field
    ``file``) unless its content is a JPEG or PNG image or a PDF document."""
    if upload.size > settings.DSAR_EVIDENCE_MAX_BYTES:
        raise EvidenceTooLarge()
    data = upload.read(settings.DSAR_EVIDENCE_MAX_BYTES + 1)
    if len(data) > settings.DSAR_EVIDENCE_MAX_BYTES:
        raise EvidenceTooLarge()
    content_type = sniff(data[:8192])
    if content_type is None:
        raise ValidationError({"file": [_("Upload a JPEG or PNG image or a PDF document.")]})
    return data, content_type


def submit_evidence(*, request: RightsRequest, upload) -> Evidence:
    """Store an uploaded document, encrypted, for staff review of ``request``.

    ``upload`` is a Django ``UploadedFile``. Raises ``EvidenceTooLarge``, ``ValidationError``
    (field ``file``) for a type that is not an image or PDF, or ``TransitionError`` when the
    request is not waiting for verification. Nothing is written on any error.
    """
    data, content_type = checked_upload(upload)
    with transaction.atomic():
        locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != Status.PENDING_VERIFICATION:
            raise TransitionError(
                _("Evidence is only needed while the request waits for identity verification."),
                current=locked.status,
            )
        pending = Evidence.objects.filter(request=locked, status=EvidenceStatus.PENDING)
        if pending.count() >= MAX_PENDING:
            raise ValidationError(
                {
                    "file": [
                        _("At most %(n)d files can wait for review at once.") % {"n": MAX_PENDING}
                    ]
                }
            )
        evidence_id = uuid.uuid4()
        name = storage.seal(storage.name_for(locked.pk, evidence_id), data)
        try:
            evidence = Evidence.objects.create(
                id=evidence_id,
                request=locked,
                file=name,
                content_type=content_type,
                size=len(data),
                uploaded_at=timezone.now(),
            )
            record_event(
                action="evidence.uploaded",
                actor=Actor.subject(),
                request_id=locked.pk,
                payload={"evidence_id": str(evidence.pk), "content_type": content_type},
            )
        except BaseException:
            storage.delete([name])  # no row will name it
            raise
    return evidence


def evidence_content(evidence: Evidence) -> bytes:
    """The decrypted document, for a reviewer; empty once purged."""
    return storage.unseal(evidence.file)


def take_for_decision(*, request: RightsRequest, evidence_id: uuid.UUID, user) -> Evidence:
    """Mark a pending upload of ``request`` accepted by ``user``; called inside verification."""
    evidence = (
        Evidence.objects.select_for_update()
        .filter(pk=evidence_id, request=request, status=EvidenceStatus.PENDING)
        .first()
    )
    if evidence is None:
        raise ValidationError({"evidence_id": [_("No upload of this request waits for review.")]})
    evidence.status = EvidenceStatus.ACCEPTED
    evidence.reviewer = user
    evidence.decided_at = timezone.now()
    evidence.save(update_fields=["status", "reviewer", "decided_at"])
    return evidence


def reject_evidence(*, request: RightsRequest, user, evidence_id: uuid.UUID, reason: str) -> None:
    """Record that an upload does not prove the subject's identity, and purge it."""

    require(user, "verify")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the evidence is not sufficient.")]})
    with transaction.atomic():
        evidence = take_for_decision(request=request, evidence_id=evidence_id, user=user)
        evidence.status = EvidenceStatus.REJECTED
        name, evidence.file, evidence.purged_at = evidence.file, "", timezone.now()
        evidence.save(update_fields=["status", "file", "purged_at"])
        _delete_after_commit([name])
        record_event(
            action="evidence.rejected",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"evidence_id": str(evidence.pk), "reason": reason},
        )


def purge_pending(*, request: RightsRequest) -> int:
    """Delete every upload of ``request`` still kept; pending ones are closed unreviewed (the
    request was verified another way, withdrawn or expired). One read when there is none."""
    kept = list(
        Evidence.objects.filter(request=request, purged_at__isnull=True).values_list(
            "pk", "status", "file"
        )
    )
    if not kept:
        return 0
    now = timezone.now()
    pending = [pk for pk, status, _ in kept if status == EvidenceStatus.PENDING]
    if pending:
        Evidence.objects.filter(pk__in=pending).update(
            status=EvidenceStatus.UNREVIEWED, decided_at=now
        )
    purged = Evidence.objects.filter(pk__in=[pk for pk, _, _ in kept]).update(
        file="", purged_at=now
    )
    _delete_after_commit([name for _, _, name in kept])
    record_event(
        action="evidence.purged",
        actor=Actor.system("verification"),
        request_id=request.pk,
        payload={"count": purged},
    )
    return purged


def _delete_after_commit(names: list[str]) -> None:
    """Delete the files once the rows no longer naming them are committed: a rollback keeps
    both (a crash in between leaves an encrypted file no row names)."""
    transaction.on_commit(lambda: storage.delete(names))
