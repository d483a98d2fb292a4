"""Flooding a victim with verification messages is capped: an attacker rotating IP
addresses, request types and spellings of the address still gets only a handful of
messages an hour into the victim's mailbox or phone. The cap is on messages to the address
(DSAR_CODE_RATE_ADDRESS), shared by intakes and resends; requests themselves are accepted
(test_lockout.py: the real subject must never be locked out by an attacker's requests)."""

import datetime as dt
from itertools import count, cycle

import pytest
import time_machine
from django.core import mail

from dsar.verification.services import expire_unverified
from tests.security.conftest import VICTIM, VICTIM_PHONE_E164, file_request, resend, sms_inbox

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
# One address, spelled the ways a form lets through; normalised, they are one identity.
SPELLINGS = [
    "li.lei@example.com", "LI.LEI@EXAMPLE.COM", " Li.Lei@example.com ", "ｌｉ.ｌｅｉ@example.com",
]  # fmt: skip
MESSAGES_PER_HOUR = 5  # DSAR_CODE_RATE_ADDRESS
RESENDS_EACH = 5


def ips():
    return (f"198.51.100.{n % 250 + 1}" for n in count())


def flood(api, **contact) -> list[int]:
    """File 20 requests and ask 5 resends for each accepted one; the answers' statuses."""
    addresses, statuses, ids = ips(), [], []
    types = cycle(["access", "deletion", "correction", "cancellation"])
    for _ in range(20):
        kind = next(types)
        extra = {"corrections": [{"field": "name", "proposed_value": "x"}]}
        answer = file_request(
            api, type=kind, ip=next(addresses), **contact, **(extra if kind == "correction" else {})
        )
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            ids.append(answer.json()["id"])
    for request_id in ids:
        statuses += [
            resend(api, request_id, ip=next(addresses)).status_code for _ in range(RESENDS_EACH)
        ]
    return statuses


def test_email_flood_of_one_victim_is_capped_per_hour(api):
    with time_machine.travel(START, tick=False) as clock:
        addresses = cycle(SPELLINGS)
        statuses = []
        for _ in range(4):
            statuses += flood(api, email=next(addresses))
        first_hour = len(mail.outbox)
        clock.shift(dt.timedelta(hours=1))
        statuses += flood(api, email=VICTIM["email"])
    codes = [m for m in mail.outbox if m.subject and "code" in m.subject.lower()]
    assert {a for m in mail.outbox for a in m.to} == {VICTIM["email"]}
    assert len(codes) == 2 * MESSAGES_PER_HOUR  # two hours
    assert first_hour == 2 * MESSAGES_PER_HOUR  # each intake message: a receipt and a code
    assert statuses.count(201) == 5 * 20  # requests are filed; only messages are capped
    assert set(statuses) == {201, 429} and statuses.count(429) == 5 * 20 * RESENDS_EACH


def test_sms_flood_of_one_victims_phone_is_capped_per_hour(api, sms_dir):
    with time_machine.travel(START, tick=False):
        statuses = flood(api, phone=VICTIM["phone"])
        statuses += flood(api, phone=VICTIM_PHONE_E164)  # another spelling, same number
    # Each intake message is two texts, a receipt and a code, as by email.
    assert len(sms_inbox(sms_dir, VICTIM_PHONE_E164)) == 2 * MESSAGES_PER_HOUR
    assert len(sms_inbox(sms_dir)) == 2 * MESSAGES_PER_HOUR
    assert sum("/confirm/" in m["text"] for m in sms_inbox(sms_dir)) == MESSAGES_PER_HOUR
    assert statuses.count(429) == 2 * 20 * RESENDS_EACH


def test_resends_and_intakes_share_the_messages_of_an_address(api):
    with time_machine.travel(START, tick=False):
        first = file_request(api, type="access", email=VICTIM["email"], ip="192.0.2.1")
        answers = [resend(api, first.json()["id"], ip="192.0.2.2") for _ in range(3)]
        later = [
            file_request(api, type="deletion", email=VICTIM["email"], ip=f"192.0.2.{n}")
            for n in (3, 4)
        ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["code_sent"] for a in later] == [True, False]
    assert len(mail.outbox) == 2 + 3 + 2  # receipt and code, 3 codes, receipt and code


def test_flood_answers_say_when_to_come_back_and_send_nothing(api):
    with time_machine.travel(START + dt.timedelta(minutes=45), tick=False):
        for _ in range(MESSAGES_PER_HOUR):
            file_request(api, type="access", email=VICTIM["email"])
        sent = len(mail.outbox)
        filed = file_request(api, type="access", email=VICTIM["email"], ip="192.0.2.77")
        refused = resend(api, filed.json()["id"], ip="192.0.2.78")
    assert filed.status_code == 201 and filed.json()["code_sent"] is False
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 15 * 60  # the fixed window ends on the hour
    assert refused.json()["error"]["code"] == "throttled"
    assert len(mail.outbox) == sent


def test_filing_and_withdrawing_or_letting_expire_mails_no_more(api, settings):
    """Requests past the address's messages were never announced; their withdrawal or
    expiry is not announced either."""
    ips = (f"198.51.100.{n}" for n in count(1))
    with time_machine.travel(START, tick=False) as clock:
        filed = [
            file_request(api, type="access", email=VICTIM["email"], ip=next(ips)) for _ in range(12)
        ]
        for answer in filed[:6]:
            body = answer.json()
            api.post(f"/api/v1/requests/{body['id']}/withdraw/", {"token": body["status_token"]},
                     format="json")  # fmt: skip
        clock.shift(dt.timedelta(days=settings.DSAR_VERIFY_EXPIRY_DAYS + 1))
        assert expire_unverified() == 6
    # Receipt and code for the first five, then a withdrawal notice for each of those five.
    assert len(mail.outbox) == 3 * MESSAGES_PER_HOUR
