import threading

import pytest
from django.db import connection

from dsar.audit.models import AuditEvent
from dsar.staff import services
from dsar.staff.services import AlreadyClaimed
from dsar.workflow.models import RightsRequest, Status


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_at_once_one_wins(make_request, staff_user):
    request = make_request(status=Status.IN_REVIEW)
    agents = [staff_user("agent", "ana"), staff_user("agent", "bo")]
    barrier = threading.Barrier(2)
    outcomes = {}

    def claim(agent):
        try:
            barrier.wait()
            services.claim(request=RightsRequest.objects.get(pk=request.pk), user=agent)
            outcomes[agent.username] = "won"
        except AlreadyClaimed as exc:
            outcomes[agent.username] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    winners = [name for name, result in outcomes.items() if result == "won"]
    assert len(winners) == 1
    loser = next(name for name in outcomes if name not in winners)
    assert f"already claimed by {winners[0]}" in outcomes[loser]
    assert RightsRequest.objects.get(pk=request.pk).assignee.username == winners[0]
    assert AuditEvent.objects.filter(action="request.claimed").count() == 1


@pytest.mark.django_db
def test_the_loser_is_told_through_the_api(make_request, api_as):
    request = make_request(status=Status.IN_REVIEW)
    assert api_as("agent").post(f"/api/v1/staff/requests/{request.pk}/claim/").status_code == 200
    response = api_as("supervisor").post(f"/api/v1/staff/requests/{request.pk}/claim/")
    assert response.status_code == 409
    assert "already claimed by agent-user" in response.json()["error"]["message"]
