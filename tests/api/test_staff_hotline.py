"""The staff API files a request for a caller; the code goes only to a contact on file."""

import pytest

from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest
from tests.support.hotline import ON_FILE_PHONE, register_shop, shop_with_phones

pytestmark = pytest.mark.usefixtures("fresh_limits")
URL = "/api/v1/staff/requests/"


@pytest.fixture
def shop(shop_dsn):
    shop_with_phones(shop_dsn)
    register_shop(shop_dsn)


def test_agent_files_a_hotline_request_and_picks_a_masked_contact(shop, api_as):
    agent = api_as("agent")
    answer = agent.post(
        URL,
        {"type": "access", "channel": "hotline", "caller_said": "Wants a copy of their data.",
         "account_id": "acct-1", "phone": "13912345678"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["route"] == "choose" and body["request"]["status"] == "pending_verification"
    assert {c["contact"] for c in body["choices"]} == {"138****5678", "l***@example.com"}
    assert ON_FILE_PHONE not in answer.content.decode() and "13800135678" not in str(body)
    assert not OutboundEmail.objects.exists()
    pk = body["request"]["id"]
    listed = agent.get(f"{URL}{pk}/on-file/").json()["choices"]
    assert listed == body["choices"]

    phone = next(c["choice"] for c in listed if c["contact"].startswith("138"))
    sent = agent.post(f"{URL}{pk}/send-on-file-code/", {"choice": phone}, format="json")
    assert sent.status_code == 202 and sent.json() == {"sent_to": "138****5678"}
    assert set(OutboundEmail.objects.values_list("to", flat=True)) == {ON_FILE_PHONE}
    bad = agent.post(f"{URL}{pk}/send-on-file-code/", {"choice": "x" * 64}, format="json")
    assert bad.status_code == 400 and "choice" in bad.json()["error"]["fields"]


def test_bad_input_is_400_with_field_messages_and_writes_nothing(shop, api_as):
    answer = api_as("supervisor").post(
        URL, {"type": "access", "channel": "fax", "caller_said": "", "email": "nope"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 400
    assert {"channel", "caller_said", "email"} <= set(answer.json()["error"]["fields"])
    assert not RightsRequest.objects.exists()


def test_legal_may_not_file(shop, api_as):
    answer = api_as("legal").post(
        URL, {"type": "access", "channel": "hotline", "caller_said": "x", "account_id": "acct-1"},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 403
    assert not RightsRequest.objects.exists()


def test_on_file_of_a_web_request_is_400_not_500(shop, api_as, make_request):
    web = make_request()
    answer = api_as("agent").get(f"{URL}{web.pk}/on-file/")
    assert answer.status_code == 400 and "request" in answer.json()["error"]["fields"]
