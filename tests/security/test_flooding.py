"""Flooding a victim with verification messages is capped: an attacker rotating IP
addresses, request types and spellings of the address still gets only a handful of
messages an hour into the victim's mailbox or phone."""

import datetime as dt
from itertools import count, cycle

import pytest
import time_machine
from django.core import mail

from tests.security.conftest import VICTIM, VICTIM_PHONE_E164, file_request, resend, sms_inbox

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
# One address, spelled the ways a form lets through; normalised, they are one identity.
SPELLINGS = [
    "li.lei@example.com", "LI.LEI@EXAMPLE.COM", " Li.Lei@example.com ", "ｌｉ.ｌｅｉ@example.com",
]  # fmt: skip
INTAKES_PER_HOUR, RESENDS_PER_HOUR = 3, 5  # DSAR_INTAKE_RATE_IDENTITY, DSAR_RESEND_RATE_IDENTITY


def ips():
    return (f"198.51.100.{n % 250 + 1}" for n in count())


def flood(api, **contact) -> list[int]:
    """File 20 requests and ask 20 resends for each accepted one; the answers' statuses."""
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
        statuses += [resend(api, request_id, ip=next(addresses)).status_code for _ in range(20)]
    return statuses


def test_email_flood_of_one_victim_is_capped_per_hour(api):
    with time_machine.travel(START, tick=False):
        addresses = cycle(SPELLINGS)
        statuses = []
        for _ in range(4):
            statuses += flood(api, email=next(addresses))
    codes = [m for m in mail.outbox if m.subject and "code" in m.subject.lower()]
    assert {a for m in mail.outbox for a in m.to} == {VICTIM["email"]}
    assert len(codes) == INTAKES_PER_HOUR + RESENDS_PER_HOUR
    assert len(mail.outbox) == 2 * INTAKES_PER_HOUR + RESENDS_PER_HOUR  # + one receipt each
    assert statuses.count(201) == INTAKES_PER_HOUR and statuses.count(202) == RESENDS_PER_HOUR
    assert set(statuses) == {201, 202, 429}


def test_sms_flood_of_one_victims_phone_is_capped_per_hour(api, sms_dir):
    with time_machine.travel(START, tick=False):
        statuses = flood(api, phone=VICTIM["phone"])
        statuses += flood(api, phone=VICTIM_PHONE_E164)  # another spelling, same number
    assert len(sms_inbox(sms_dir, VICTIM_PHONE_E164)) == INTAKES_PER_HOUR + RESENDS_PER_HOUR
    assert len(sms_inbox(sms_dir)) == INTAKES_PER_HOUR + RESENDS_PER_HOUR
    assert statuses.count(429) == len(statuses) - INTAKES_PER_HOUR - RESENDS_PER_HOUR


def test_flood_answers_say_when_to_come_back_and_send_nothing(api):
    with time_machine.travel(START + dt.timedelta(minutes=45), tick=False):
        for _ in range(INTAKES_PER_HOUR):
            file_request(api, type="access", email=VICTIM["email"])
        sent = len(mail.outbox)
        refused = file_request(api, type="access", email=VICTIM["email"], ip="192.0.2.77")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 15 * 60  # the fixed window ends on the hour
    assert refused.json()["error"]["code"] == "throttled"
    assert len(mail.outbox) == sent
