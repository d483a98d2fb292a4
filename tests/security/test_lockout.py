"""Lock-out: strangers filing unverified requests for the victim's address must not keep the
victim from filing and verifying their own. Only messages to the address are capped
(DSAR_CODE_RATE_ADDRESS), never intake for it; when the cap held the victim's message back,
the link of any recent message that reached their mailbox lets them confirm their request,
and a new code can be asked for once the window reopens."""

import datetime as dt
import re
from itertools import count

import pytest
import time_machine
from django.core import mail

from dsar.verification.models import Verification
from dsar.verification.tokens import make_status_token
from dsar.workflow import identity
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import ATTACKER_EMAIL, VICTIM, file_request, mailbox, resend, verify
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
VICTIM_IP = "203.0.113.50"
MESSAGES_PER_HOUR = 5  # DSAR_CODE_RATE_ADDRESS


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(START, tick=False) as clock:
        yield clock


def attack(api, email: str, requests: int) -> list[str]:
    """File ``requests`` unverified requests for ``email`` from rotating addresses."""
    ips = (f"198.51.100.{n}" for n in count(1))
    return [
        file_request(api, type="deletion", email=email, ip=next(ips)).json()["id"]
        for _ in range(requests)
    ]


def newest_link(address: str) -> tuple[str, str]:
    """The confirm path and its secret from the newest message delivered to ``address``."""
    body = mailbox(address)[-1].body
    path, secret = re.search(r"https?://[^/\s]+(/requests/\S+/confirm/\S+)", body)[1].split("#k=")
    return path, secret


def status_of(request_id) -> str:
    return RightsRequest.objects.get(pk=request_id).status


def test_three_unverified_requests_by_a_stranger_do_not_lock_the_subject_out(api):
    for _ in range(3):
        file_request(api, type="access", email=VICTIM["email"], ip="198.51.100.7")
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP)
    assert mine.status_code == 201 and mine.json()["code_sent"] is True
    answer = verify(api, mine.json()["id"], code_from_outbox(mine.json()["id"]), ip=VICTIM_IP)
    assert answer.status_code == 200
    assert status_of(mine.json()["id"]) == Status.IN_REVIEW


def test_subject_confirms_with_a_recent_link_when_the_address_had_its_messages(api, client):
    theirs = attack(api, VICTIM["email"], MESSAGES_PER_HOUR + 3)
    delivered = len(mail.outbox)
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    assert mine["code_sent"] is False and len(mail.outbox) == delivered  # nothing sent
    client.post(f"/requests/{mine['id']}/open/", {"t": mine["status_token"]})
    page = client.get(f"/requests/{mine['id']}/verify/", HTTP_ACCEPT_LANGUAGE="en")
    assert "sent none for this request" in page.content.decode()

    path, secret = newest_link(VICTIM["email"])  # sent for one of the stranger's requests
    choices = client.post(path, {"k": secret}).content.decode()
    assert mine["reference"] in choices
    answer = client.post(path, {"k": secret, "for": mine["id"]})
    assert answer.status_code == 302 and mine["id"] in answer["Location"]
    assert status_of(mine["id"]) == Status.IN_REVIEW
    proof = Verification.objects.get(request_id=mine["id"])
    assert proof.method == "link" and proof.identity_hash == identity.email_hash(VICTIM["email"])
    assert all(status_of(i) == Status.PENDING_VERIFICATION for i in theirs)


def test_subject_gets_a_new_code_once_the_window_reopens(api, frozen):
    attack(api, VICTIM["email"], MESSAGES_PER_HOUR)
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    assert resend(api, mine["id"], ip=VICTIM_IP).status_code == 429
    frozen.shift(dt.timedelta(hours=1))
    assert resend(api, mine["id"], ip=VICTIM_IP).status_code == 202
    assert verify(api, mine["id"], code_from_outbox(mine["id"]), ip=VICTIM_IP).status_code == 200


def test_a_link_confirms_no_request_for_another_address(api, client):
    attack(api, VICTIM["email"], MESSAGES_PER_HOUR)
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    file_request(api, type="access", email=ATTACKER_EMAIL, ip="198.51.100.99")
    path, secret = newest_link(ATTACKER_EMAIL)
    assert mine["reference"] not in client.post(path, {"k": secret}).content.decode()
    assert client.post(path, {"k": secret, "for": mine["id"]}).status_code == 400
    assert status_of(mine["id"]) == Status.PENDING_VERIFICATION


def test_without_the_right_secret_the_confirm_page_lists_no_requests(api, client):
    attack(api, VICTIM["email"], MESSAGES_PER_HOUR)
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    path, secret = newest_link(VICTIM["email"])
    page = client.post(path, {"k": secret[:-1] + ("A" if secret[-1] != "A" else "B")})
    assert mine["reference"] not in page.content.decode()
    assert client.post(path, {"k": "guess", "for": mine["id"]}).status_code == 400
    assert status_of(mine["id"]) == Status.PENDING_VERIFICATION


def test_codes_do_not_travel_between_requests(api):
    """Six digits can be guessed: a code shared between requests would multiply guesses."""
    [theirs] = attack(api, VICTIM["email"], 1)
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    assert verify(api, mine["id"], code_from_outbox(theirs), ip=VICTIM_IP).status_code == 400
    assert status_of(mine["id"]) == Status.PENDING_VERIFICATION


def test_a_link_still_proves_the_address_after_its_request_was_withdrawn(api, client):
    """Withdrawing their requests does not let a stranger take back the links they caused."""
    [theirs] = attack(api, VICTIM["email"], 1)
    path, secret = newest_link(VICTIM["email"])
    token = make_status_token(RightsRequest.objects.get(pk=theirs))
    api.post(f"/api/v1/requests/{theirs}/withdraw/", {"token": token}, format="json")
    mine = file_request(api, type="access", email=VICTIM["email"], ip=VICTIM_IP).json()
    assert mine["reference"] in client.post(path, {"k": secret}).content.decode()
    assert client.post(path, {"k": secret, "for": mine["id"]}).status_code == 302
    assert status_of(mine["id"]) == Status.IN_REVIEW
    assert status_of(theirs) == Status.WITHDRAWN
