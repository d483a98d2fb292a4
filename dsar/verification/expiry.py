"""Expiry of requests whose subject never proved who they are."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsar.audit.services import Actor
from dsar.verification import notices
from dsar.verification.allowance import address_may_hear_of
from dsar.verification.evidence import purge_pending
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import TransitionError, transition


def expire_unverified(*, batch: int = 500) -> int:
    """Expire requests still unverified ``DSAR_VERIFY_EXPIRY_DAYS`` after intake; tell the
    subject. Safe to run twice or beside a verification: each move is one locked transition."""
    cutoff = timezone.now() - dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS)
    ids = list(
        RightsRequest.objects.filter(
            status=Status.PENDING_VERIFICATION, received_at__lt=cutoff
        ).values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for pk in ids:
        with transaction.atomic():
            request = RightsRequest.objects.get(pk=pk)
            try:
                transition(request, to=Status.EXPIRED, actor=Actor.system("verification-expiry"))
            except TransitionError:  # verified or withdrawn meanwhile
                continue
            purge_pending(request=request)
            if address_may_hear_of(request):
                notices.notify(request, "expired")
            expired += 1
    return expired
