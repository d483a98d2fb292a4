"""The request page's "Extend" control: the API's one extension, with its reason and roles."""

import datetime as dt

import pytest
import time_machine

from dsar.audit.models import AuditEvent
from dsar.workflow.models import RightsRequest, Status

VERIFIED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # due at the end of 17 March, Beijing


@pytest.fixture
def verified(make_request):
    with time_machine.travel(VERIFIED, tick=False):
        return make_request(status=Status.IN_REVIEW)


@pytest.mark.django_db
def test_an_agent_extends_from_the_page_with_a_reason(client, staff_user, verified):
    client.force_login(staff_user("agent"))
    url = f"/staff/requests/{verified.pk}/"
    with time_machine.travel(VERIFIED + dt.timedelta(days=3), tick=False):
        page = client.get(url).content.decode()
        assert f'action="{url}extend/"' in page and 'name="days"' in page
        answer = client.post(f"{url}extend/", {"days": "30", "reason": "Two systems"}, follow=True)
    assert "截止日期已延长" in answer.content.decode()
    fresh = RightsRequest.objects.get(pk=verified.pk)
    assert fresh.due_at == dt.datetime(2026, 4, 16, 16, tzinfo=dt.UTC)
    assert fresh.extension_reason == "Two systems"
    assert AuditEvent.objects.filter(action="sla.extended", request_id=verified.pk).count() == 1
    with time_machine.travel(VERIFIED + dt.timedelta(days=4), tick=False):
        page = client.get(url).content.decode()
    assert f'action="{url}extend/"' not in page  # once only


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [({"days": "0", "reason": "x"}, "1"), ({"days": "10", "reason": ""}, "必填")],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client, staff_user, verified, data, message
):
    client.force_login(staff_user("agent"))
    with time_machine.travel(VERIFIED + dt.timedelta(days=3), tick=False):
        answer = client.post(f"/staff/requests/{verified.pk}/extend/", data, follow=True)
    assert answer.status_code == 200
    assert 'class="error"' in answer.content.decode() and message in answer.content.decode()
    fresh = RightsRequest.objects.get(pk=verified.pk)
    assert fresh.extended_at is None and fresh.due_at == verified.due_at


@pytest.mark.django_db
def test_a_role_the_table_does_not_allow_is_not_offered_it_and_cannot_post_it(
    client, staff_user, verified
):
    client.force_login(staff_user("admin"))  # admin: not in ACTIONS["extend"]
    url = f"/staff/requests/{verified.pk}/"
    with time_machine.travel(VERIFIED + dt.timedelta(days=3), tick=False):
        assert f"{url}extend/" not in client.get(url).content.decode()
        client.post(f"{url}extend/", {"days": "10", "reason": "r"})
    assert RightsRequest.objects.get(pk=verified.pk).extended_at is None
