"""Requests, verifications and downstream reports for the legal tests, all through the
product's own services and storage."""

import pytest
from django.utils import timezone

from dsar.legal.reports import record_downstream_check
from dsar.verification.models import Channel, Method, Strength, Verification
from dsar.workflow.identity import email_hash
from dsar.workflow.models import RequestType, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.legal.support import walk


@pytest.fixture
def verified(db):
    """verified(type=..., email=..., status=...) → a request verified by a code sent to its
    email (a real Verification row), moved on to ``status``."""

    def make(
        *,
        type=RequestType.DELETION,
        email="subject@example.com",
        status=Status.IN_REVIEW,
        phone="",
        language="en",
    ):
        request = create_request(type=type, email=email, phone=phone, language=language)
        Verification.objects.create(
            request=request,
            method=Method.CODE,
            channel=Channel.EMAIL,
            strength=Strength.CONTACT,
            identity_hash=request.email_hash,
            created_at=timezone.now(),
        )
        transition(request, to=Status.IN_REVIEW, actor=TEST_STAFF)
        return walk(request, status)

    return make


@pytest.fixture
def report():
    """report(request, system=..., obligations=..., holds=[emails], categories=...)."""

    def make(request, *, system="shop-db", obligations=(), holds=(), categories=()):
        return record_downstream_check(
            request=request,
            system=system,
            obligations=[{"kind": kind} for kind in obligations],
            identity_hashes=[email_hash(address) for address in holds],
            categories=list(categories),
        )

    return make


@pytest.fixture
def legal(staff_user):
    return staff_user("legal")


@pytest.fixture
def agent(staff_user):
    return staff_user("agent")
