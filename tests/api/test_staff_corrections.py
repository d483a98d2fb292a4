"""A correction request decided through the staff API alone: the request's detail lists the
proposed changes with the ids that ``decide-correction`` takes, and their decisions."""

import pytest

from dsar.audit.services import Actor
from dsar.portal.services import ProposedCorrection, file_request
from dsar.workflow.models import Status
from dsar.workflow.transitions import transition

pytestmark = pytest.mark.django_db


def correction_in_review():
    request = file_request(
        type="correction", email="li.lei@example.com",
        corrections=[
            ProposedCorrection(field="name", current_value="Li", proposed_value="Li Lei"),
            ProposedCorrection(field="VIP level", current_value="", proposed_value="gold"),
        ],
    )  # fmt: skip
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    return request


def test_an_api_client_sees_the_proposed_changes_decides_each_and_approves(api_as):
    request = correction_in_review()
    agent = api_as("agent")
    url = f"/api/v1/staff/requests/{request.pk}/"
    detail = agent.get(url).json()
    assert "decide_correction" in detail["allowed_actions"]
    name, vip = detail["corrections"]
    assert (name["position"], name["field"], name["current_value"], name["proposed_value"]) == (
        1, "name", "Li", "Li Lei",
    )  # fmt: skip
    assert (vip["field"], vip["decision"], vip["decided_by"]) == ("VIP level", "", None)
    assert agent.post(f"{url}approve/").status_code == 409  # every change needs a decision

    accepted = agent.post(
        f"{url}decide-correction/",
        {"correction": name["id"], "accept": True, "target_field": "name"},
        format="json",
    )
    assert accepted.json() == {"correction": name["id"], "decision": "accepted"}
    refused = agent.post(
        f"{url}decide-correction/",
        {"correction": vip["id"], "accept": False, "reason": "Levels follow purchases."},
        format="json",
    )
    assert refused.status_code == 200

    decided = agent.get(url).json()["corrections"]
    assert [
        (c["decision"], c["target_field"], c["final_value"], c["reason"], c["decided_by"])
        for c in decided
    ] == [
        ("accepted", "name", "Li Lei", "", "agent-user"),
        ("refused", "", "", "Levels follow purchases.", "agent-user"),
    ]
    assert all(c["decided_at"] for c in decided)
    approved = agent.post(f"{url}approve/")
    assert approved.status_code == 200 and approved.json()["status"] == Status.PROCESSING
    assert "decide_correction" not in approved.json()["allowed_actions"]


def test_a_role_that_may_not_decide_is_not_offered_it(api_as):
    request = correction_in_review()
    detail = api_as("legal").get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert len(detail["corrections"]) == 2  # shown to every staff role, as on the page
    assert "decide_correction" not in detail["allowed_actions"]


def test_other_request_types_have_no_corrections(api_as, make_request):
    request = make_request(status=Status.IN_REVIEW)
    detail = api_as("agent").get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert detail["corrections"] == []
    assert "decide_correction" not in detail["allowed_actions"]
