"""Releasing a reviewed access package: recorded, then built without what staff withheld and
its link sent. Apart from ``review`` because building (``services``) asks ``review`` first."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.exports import services
from dsar.exports.models import Redaction, Review
from dsar.exports.review import AlreadyReleased


def release(*, request, user):
    """Release the reviewed export: build the package, without what was withheld, and send
    the subject its link. Raises ``PermissionDenied`` or ``AlreadyReleased``."""
    require(user, "review_export")
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(request=request).first()
        if review is None or review.released_at is not None:
            raise AlreadyReleased(_("This export is not waiting for review."))
        review.released_at, review.released_by = timezone.now(), user
        review.save(update_fields=["released_at", "released_by"])
        withheld = Redaction.objects.filter(request=request).count()
        record_event(
            action="export.released",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={"redactions": withheld},
        )
        return services.build_package(request)
