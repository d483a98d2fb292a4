"""Codes and links: hashed, expiring, locked after too many tries, resends limited."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from dsar.verification import services
from dsar.verification.models import Challenge
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import (
    code_from_outbox,
    latest_email,
    link_from_outbox,
    wrong_code,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def filed(api):
    body = api.post(
        "/api/v1/requests/", {"type": "access", "email": "han.mei@example.com"}, format="json"
    ).json()
    return body


def verify(api, request_id, code):
    return api.post(f"/api/v1/requests/{request_id}/verify/", {"code": code}, format="json")


def resend(api, request_id, ip="127.0.0.1"):
    return api.post(f"/api/v1/requests/{request_id}/resend/", REMOTE_ADDR=ip)


def status_of(request_id):
    return RightsRequest.objects.get(pk=request_id).status


def test_code_is_stored_only_as_a_keyed_hash(api, filed, settings):
    code = code_from_outbox(filed["id"])
    [row] = Challenge.objects.filter(request_id=filed["id"]).values()
    assert not [field for field, value in row.items() if isinstance(value, str) and code in value]
    # Without DSAR_HASH_KEY the stored value matches no code, the right one included ...
    key, settings.DSAR_HASH_KEY = settings.DSAR_HASH_KEY, "a-key-the-attacker-guessed"
    refused = verify(api, filed["id"], code)
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["code"] == [
        "That code is not right. Check it and try again."
    ]
    # ... and with it, the right code is what the stored value verifies.
    settings.DSAR_HASH_KEY = key
    assert verify(api, filed["id"], code).status_code == 200
    assert status_of(filed["id"]) == Status.IN_REVIEW


def test_wrong_code_answers_400_with_a_field_message(api, filed):
    answer = verify(api, filed["id"], wrong_code(code_from_outbox(filed["id"])))
    assert answer.status_code == 400
    assert answer.json()["error"]["fields"]["code"] == [
        "That code is not right. Check it and try again."
    ]
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION


def test_five_wrong_codes_lock_even_the_right_one(api, filed):
    code = code_from_outbox(filed["id"])
    for _ in range(5):
        assert verify(api, filed["id"], wrong_code(code)).status_code == 400
    answer = verify(api, filed["id"], code)
    assert answer.status_code == 400
    assert "Too many wrong tries" in answer.json()["error"]["fields"]["code"][0]
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION


def test_expired_code_fails(api):
    with time_machine.travel(START, tick=False) as clock:
        body = api.post(
            "/api/v1/requests/", {"type": "access", "email": "a@example.com"}, format="json"
        ).json()
        clock.shift(dt.timedelta(minutes=15))
        answer = verify(api, body["id"], code_from_outbox(body["id"]))
    assert answer.status_code == 400
    assert "expired" in answer.json()["error"]["fields"]["code"][0]
    assert status_of(body["id"]) == Status.PENDING_VERIFICATION


def test_code_still_works_just_before_expiry(api):
    with time_machine.travel(START, tick=False) as clock:
        body = api.post(
            "/api/v1/requests/", {"type": "access", "email": "a@example.com"}, format="json"
        ).json()
        clock.shift(dt.timedelta(minutes=14, seconds=59))
        assert verify(api, body["id"], code_from_outbox(body["id"])).status_code == 200


def test_fresh_code_works_after_a_lock(api, filed):
    old = code_from_outbox(filed["id"])
    for _ in range(5):
        verify(api, filed["id"], wrong_code(old))
    assert resend(api, filed["id"]).status_code == 202
    new = code_from_outbox(filed["id"])
    assert verify(api, filed["id"], new).status_code == 200
    assert status_of(filed["id"]) == Status.IN_REVIEW


def test_resend_makes_the_previous_code_useless(api, filed):
    old = code_from_outbox(filed["id"])
    resend(api, filed["id"])
    new = code_from_outbox(filed["id"])
    if old != new:  # one in a million they coincide
        assert verify(api, filed["id"], old).status_code == 400


def test_resends_per_request_are_limited_with_retry_after(api, filed):
    with time_machine.travel(START, tick=False):
        answers = [resend(api, filed["id"]) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert int(answers[-1]["Retry-After"]) == 3600
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert Challenge.objects.filter(request_id=filed["id"]).count() == 4  # intake + 3


def test_resend_limit_reopens_after_the_window(api, filed):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):
            resend(api, filed["id"])
        assert resend(api, filed["id"]).status_code == 429
        clock.shift(dt.timedelta(hours=1))
        assert resend(api, filed["id"]).status_code == 202


def test_messages_per_address_are_limited_across_requests(api, settings):
    settings.DSAR_CODE_RATE_ADDRESS = "4/hour"  # two intakes, then two resends
    ids = [
        api.post(
            "/api/v1/requests/", {"type": t, "email": "same@example.com"}, format="json"
        ).json()["id"]
        for t in ("access", "deletion")
    ]
    codes = [resend(api, ids[0]).status_code, resend(api, ids[1]).status_code]
    assert codes == [202, 202]
    assert resend(api, ids[0]).status_code == 429


def test_resends_per_ip_are_limited_across_requests(api, settings):
    settings.DSAR_RESEND_RATE_IP = "1/hour"
    ids = [
        api.post(
            "/api/v1/requests/", {"type": "access", "email": f"s{n}@example.com"}, format="json"
        ).json()["id"]
        for n in range(2)
    ]
    assert resend(api, ids[0], ip="10.0.0.1").status_code == 202
    assert resend(api, ids[1], ip="10.0.0.1").status_code == 429
    assert resend(api, ids[1], ip="10.0.0.2").status_code == 202


def test_resend_goes_to_the_address_given_at_intake_only(api, filed):
    api.post(
        f"/api/v1/requests/{filed['id']}/resend/",
        {"email": "attacker@example.net"},
        format="json",
    )
    assert latest_email(filed["id"], "code").to == "han.mei@example.com"


def test_resend_after_verification_answers_409(api, filed):
    verify(api, filed["id"], code_from_outbox(filed["id"]))
    assert resend(api, filed["id"]).status_code == 409


def test_link_shows_a_button_and_verifies_only_when_pressed(client, filed):
    path, secret = link_from_outbox(filed["id"]).split("#k=")
    page = client.get(path)  # the fragment stays in the browser
    assert page.status_code == 200
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION  # scanners do not verify
    answer = client.post(path, {"k": secret})
    assert answer.status_code == 302
    assert status_of(filed["id"]) == Status.IN_REVIEW
    assert RightsRequest.objects.get(pk=filed["id"]).verifications.get().method == "link"


def test_link_with_a_wrong_secret_does_not_verify(client, filed):
    path = link_from_outbox(filed["id"]).split("#")[0]
    answer = client.post(path, {"k": "not-the-secret"})
    assert answer.status_code == 400
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION


def test_link_of_a_superseded_code_does_not_verify(api, client, filed):
    path, secret = link_from_outbox(filed["id"]).split("#k=")
    resend(api, filed["id"])
    assert client.post(path, {"k": secret}).status_code == 400
    assert status_of(filed["id"]) == Status.PENDING_VERIFICATION


def test_code_with_spaces_and_full_width_digits_is_accepted(filed):
    code = code_from_outbox(filed["id"])
    typed = " ".join(chr(ord("０") + int(d)) for d in code)  # "１ ２ ３ …"
    request = RightsRequest.objects.get(pk=filed["id"])
    services.verify_code(request=request, code=typed)
    assert status_of(filed["id"]) == Status.IN_REVIEW
