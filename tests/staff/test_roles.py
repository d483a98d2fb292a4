"""Each role against each staff action through the API: allowed, or 403 and nothing changed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.access.permissions import ACTIONS
from dsar.audit.models import AuditEvent
from dsar.verification import evidence
from dsar.workflow.models import RightsRequest, Status


def upload(request) -> str:
    """An identity document the subject uploaded, for staff to review (its id)."""
    document = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n")
    return str(evidence.submit_evidence(request=request, upload=document).pk)


# action → (status the request is in, API path suffix, body or a function of the request)
CASES = {
    "claim": (Status.IN_REVIEW, "claim/", {}),
    "assign": (Status.IN_REVIEW, "assign/", {"assignee": None}),
    "approve": (Status.IN_REVIEW, "approve/", {}),
    "request_info": (Status.IN_REVIEW, "request-info/", {"reason": "Which account?"}),
    "resume": (Status.AWAITING_SUBJECT, "resume/", {}),
    "note": (Status.IN_REVIEW, "note/", {"body": "Called the shop."}),
    "reveal": (Status.IN_REVIEW, "reveal/", {}),
    "verify": (Status.PENDING_VERIFICATION, "verify/", lambda r: {"evidence_id": upload(r)}),
    "extend": (Status.IN_REVIEW, "extend/", {"days": 5, "reason": "Two systems"}),
    "message": (Status.IN_REVIEW, "message/", {"body": "Which order number?"}),
    "deny": (Status.IN_REVIEW, "deny/", {"basis": "trade_secret", "explanation": "Model."}),
    "hold": (
        Status.IN_REVIEW,
        "hold/",
        {"kind": "litigation", "reference": "C-1", "reason": "Suit"},
    ),
}
ROLES = ["agent", "legal", "supervisor", "admin", "none"]


# action → what it does when the role may take it: the request's status afterwards and the
# audit events it writes, in order (approving with no downstream system stays "processing"
# until the commit, which this test's transaction never reaches).
EFFECTS = {
    "claim": (Status.IN_REVIEW, ["request.claimed"]),
    "assign": (Status.IN_REVIEW, ["request.assigned"]),
    "approve": (Status.PROCESSING, ["request.transition", "fanout.started"]),
    "request_info": (Status.AWAITING_SUBJECT, ["request.transition", "message.sent"]),
    "resume": (Status.IN_REVIEW, ["request.transition"]),
    "note": (Status.IN_REVIEW, ["note.added"]),
    "reveal": (Status.IN_REVIEW, ["identity.revealed"]),
    "verify": (Status.IN_REVIEW, ["request.transition", "evidence.purged"]),
    "extend": (Status.IN_REVIEW, ["sla.extended"]),
    "message": (Status.IN_REVIEW, ["message.sent"]),
    "deny": (Status.DENIED, ["request.transition"]),
    "hold": (Status.IN_REVIEW, ["legal.hold_placed", "legal.checks_run"]),
}


def snapshot(request):
    row = RightsRequest.objects.get(pk=request.pk)
    return row.status, row.assignee_id, row.due_at, AuditEvent.objects.count()


def events_after(event_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(id__gt=event_id).in_order().values_list("action", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(CASES))
def test_role_table_decides_every_api_action(make_request, api_as, role, action):
    status, suffix, body = CASES[action]
    request = make_request(status=status)
    body = body(request) if callable(body) else body
    before = snapshot(request)
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = api_as(role).post(
        f"/api/v1/staff/requests/{request.pk}/{suffix}", body, format="json"
    )
    if role in ACTIONS[action]:
        assert response.status_code in (200, 201), response.content
        status_after, events = EFFECTS[action]
        row = RightsRequest.objects.get(pk=request.pk)
        assert row.status == status_after
        assert events_after(last_event) == events
        if action == "claim":
            assert row.assignee.username == f"{role}-user"  # the one api_as logged in
        if action == "extend":
            assert row.due_at > before[2]
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert snapshot(request) == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_queue_is_for_staff_only(make_request, api_as, role):
    make_request(status=Status.IN_REVIEW)
    response = api_as(role).get("/api/v1/staff/requests/")
    assert response.status_code == (403 if role == "none" else 200)


@pytest.mark.django_db
def test_anonymous_gets_401_or_403_and_no_data(client, make_request):
    make_request(status=Status.IN_REVIEW)
    response = client.get("/api/v1/staff/requests/")
    assert response.status_code in (401, 403)
    assert "results" not in response.json()


@pytest.mark.django_db
def test_integrations_use_a_token_with_the_same_roles(client, staff_user, make_request):
    from rest_framework.authtoken.models import Token

    make_request(status=Status.IN_REVIEW)
    token = Token.objects.create(user=staff_user("supervisor"))
    ok = client.get("/api/v1/staff/requests/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert ok.status_code == 200 and ok.json()["count"] == 1
    no_role = Token.objects.create(user=staff_user("none"))
    refused = client.get("/api/v1/staff/requests/", HTTP_AUTHORIZATION=f"Token {no_role.key}")
    assert refused.status_code == 403
    forged = client.get("/api/v1/staff/requests/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert forged.status_code == 401
    assert set(forged.json()["error"]) >= {"code", "message"}
