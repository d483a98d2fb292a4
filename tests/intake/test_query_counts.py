"""Database queries of the three calls of a subject's first minutes and staff's approval
(issue 21 item 6): one intake, one verification by code, one approval, each through the API.

The counts include the savepoints of the test's own transaction (production has BEGIN/COMMIT
there instead) and those of the blocks nested in it; the tasks they publish after commit are
not run here. The bounds are today's counts, so a change that adds a query per call fails;
``bench/intake.py`` prints the same counts under committed transactions next to the goal of
the issue (≤ 15).
"""

import pytest
from rest_framework.test import APIClient

from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import code_from_outbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

# intake: the request and its audit event (the receipt and code are the messages worker's).
# verification: +1, whether a deceased subject's relative waits for legal (then no dry run
# is asked for yet): one read of who filed the request.
INTAKE, VERIFY, APPROVE = 3, 19, 22


@pytest.fixture
def messages_worker_after_answers():
    """Counted here: the web process's queries only. The receipt and code the messages worker
    sends after an intake (``dsar.verification.receipts``) are sent when a test reads them."""


@pytest.fixture
def subject():
    api = APIClient()
    # Warm the per-process caches (content types, the chain head row) as a running server has.
    api.post("/api/v1/requests/", {"type": "access", "email": "warm@example.com"}, format="json")
    return api


def file(api) -> str:
    body = {"type": "deletion", "email": "li.lei@example.com", "full_name": "李雷"}
    response = api.post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201
    return response.json()["id"]


def verify(api, pk, code) -> None:
    response = api.post(f"/api/v1/requests/{pk}/verify/", {"code": code}, format="json")
    assert response.status_code == 200


def advisories(pk) -> list[str]:
    """The ids of the deletion's advisory findings, which staff acknowledge on approval."""
    from dsar.legal.models import Finding, Severity

    findings = Finding.objects.filter(request_id=pk, severity=Severity.ADVISORY)
    return [str(f) for f in findings.values_list("pk", flat=True)]


def test_intake_queries(subject, django_assert_max_num_queries):
    with django_assert_max_num_queries(INTAKE):
        file(subject)


def test_verification_queries(subject, django_assert_max_num_queries):
    pk = file(subject)
    code = code_from_outbox(pk)
    with django_assert_max_num_queries(VERIFY):
        verify(subject, pk, code)
    assert RightsRequest.objects.get(pk=pk).status == Status.IN_REVIEW


def test_approval_queries(subject, staff_user, django_assert_max_num_queries):
    pk = file(subject)
    verify(subject, pk, code_from_outbox(pk))
    staff = APIClient()
    staff.force_authenticate(staff_user("supervisor"))
    body = {"acknowledged": advisories(pk)}
    with django_assert_max_num_queries(APPROVE):
        response = staff.post(f"/api/v1/staff/requests/{pk}/approve/", body, format="json")
    assert response.status_code == 200
    assert RightsRequest.objects.get(pk=pk).status == Status.PROCESSING


def test_the_repeated_request_check_reads_verifications_once_whatever_the_history(
    subject, django_assert_num_queries
):
    """The legal checks' cost does not grow with the subject's earlier requests: their
    verifications are read in one query, not one per request."""
    from dsar.legal.engine import _collect

    earlier = []
    for _ in range(4):
        pk = file(subject)
        verify(subject, pk, code_from_outbox(pk))
        earlier.append(pk)
    request = RightsRequest.objects.get(pk=earlier[-1])
    # who filed (a relative: the holds are the deceased's), hold, reports, own verification,
    # candidates, theirs
    with django_assert_num_queries(6):
        _collect(request)


def test_verifying_an_unknown_request_is_a_404_that_writes_nothing(subject):
    """The verify call reads its request once, under the lock: an unknown id still answers
    404 (as an id nobody filed always has) and records nothing."""
    from dsar.audit.models import AuditEvent

    events = AuditEvent.objects.count()
    missing = "00000000-0000-4000-8000-000000000000"
    response = subject.post(
        f"/api/v1/requests/{missing}/verify/", {"code": "123456"}, format="json"
    )
    assert response.status_code == 404
    assert AuditEvent.objects.count() == events
