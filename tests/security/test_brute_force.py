"""Codes cannot be brute-forced: an attacker who rotates IP addresses, asks for new codes
and files new requests still gets a few dozen guesses an hour at a one-in-a-million code."""

import datetime as dt
from itertools import count

import pytest
import time_machine
from django.conf import settings
from django.db.models import Sum

from dsar.verification.models import Challenge
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import VICTIM, file_request, resend, verify
from tests.support.subject import code_from_outbox, wrong_code

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # all limits counted in one window


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(START, tick=False):
        yield


def ips():
    return (f"198.51.100.{n % 250 + 1}" for n in count())


def guesses_avoiding(code: str):
    """Wrong guesses in order; the test knows the real code so a lucky hit cannot happen."""
    return (f"{n:06d}" for n in count() if f"{n:06d}" != code)


def test_five_wrong_guesses_from_five_addresses_lock_even_the_right_code(api):
    filed = file_request(api, type="deletion", email=VICTIM["email"]).json()
    code = code_from_outbox(filed["id"])
    for ip, guess in zip(ips(), [wrong_code(code)] * 5, strict=False):
        assert verify(api, filed["id"], guess, ip=ip).status_code == 400
    answer = verify(api, filed["id"], code, ip="192.0.2.1")
    assert answer.status_code == 400
    assert "Too many wrong tries" in answer.json()["error"]["fields"]["code"][0]
    assert RightsRequest.objects.get(pk=filed["id"]).status == Status.PENDING_VERIFICATION


def test_guessing_with_resends_gets_at_most_twenty_tries_an_hour(api):
    """One code at intake plus three resends (DSAR_RESEND_RATE_REQUEST), five tries each."""
    filed = file_request(api, type="deletion", email=VICTIM["email"]).json()
    addresses, checked = ips(), 0
    while True:
        wrong = guesses_avoiding(code_from_outbox(filed["id"]))
        for _ in range(10):  # keeps guessing past the lock
            answer = verify(api, filed["id"], next(wrong), ip=next(addresses))
            checked += "not right" in answer.json()["error"]["fields"]["code"][0]
        if resend(api, filed["id"], ip=next(addresses)).status_code == 429:
            break
    assert checked == 4 * settings.DSAR_VERIFY_MAX_TRIES == 20
    assert Challenge.objects.filter(request_id=filed["id"]).aggregate(t=Sum("tries"))["t"] == 20
    assert RightsRequest.objects.get(pk=filed["id"]).status == Status.PENDING_VERIFICATION


def test_filing_more_requests_for_more_guesses_is_capped_too(api):
    """New requests for the same address are filed, but messages to the address (intakes and
    resends alike, DSAR_CODE_RATE_ADDRESS 5/hour) bound the codes, and so the guesses."""
    addresses, ids = ips(), []
    for _ in range(10):
        answer = file_request(api, type="deletion", ip=next(addresses), **VICTIM)
        ids.append(answer.json()["id"])
    for request_id in ids * 5:
        resend(api, request_id, ip=next(addresses))
    challenges = Challenge.objects.filter(request_id__in=ids)
    assert challenges.count() == 5
    with_codes = {str(c.request_id) for c in challenges}
    for request_id in ids:
        wrong = guesses_avoiding(code_from_outbox(request_id) if request_id in with_codes else "")
        for _ in range(10):
            verify(api, request_id, next(wrong), ip=next(addresses))
    tries = challenges.aggregate(t=Sum("tries"))["t"]
    assert tries <= challenges.count() * settings.DSAR_VERIFY_MAX_TRIES
    assert not RightsRequest.objects.exclude(status=Status.PENDING_VERIFICATION).exists()


def test_guessed_link_secrets_do_not_verify(api, client):
    filed = file_request(api, type="deletion", email=VICTIM["email"]).json()
    challenge = Challenge.objects.get(request_id=filed["id"])
    path = f"/requests/{filed['id']}/confirm/{challenge.pk}/"
    for secret in ("", "a", "0" * 43, code_from_outbox(filed["id"])):
        assert client.post(path, {"k": secret}).status_code == 400
    assert RightsRequest.objects.get(pk=filed["id"]).status == Status.PENDING_VERIFICATION
