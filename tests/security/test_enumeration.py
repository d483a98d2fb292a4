"""No enumeration: a known subject (earlier requests, a customer of a downstream system)
and an address nobody has seen get the same answers, the same emails and, within a generous
tolerance, the same response times from intake, resend and verify."""

import datetime as dt
import json
import re
import statistics
import time
from itertools import count

import pytest
import time_machine
from django.core import mail

from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import RequestType, Status
from tests.security.conftest import VICTIM, file_request, resend, verify

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC)
VARYING = {"id", "reference", "status_token"}
SAMPLES = 25
UNKNOWN = (f"nobody{n}@example.com" for n in count())


@pytest.fixture
def known_subject(make_request, shop_dsn):
    """Li Lei: a shop customer with a verified request in review and a completed one."""
    # Approved before the shop exists: with nothing to fan out to, it completes at once.
    done = make_request(email=VICTIM["email"], status=Status.PROCESSING)
    done.refresh_from_db()
    assert done.status == Status.COMPLETED
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check", "delete"],
        config=json.dumps({"dsn": shop_dsn, "statements": {
            "check": "SELECT email FROM customers WHERE email = %(email)s",
            "delete": "DELETE FROM orders WHERE email = %(email)s",
        }}),
    )  # fmt: skip
    make_request(email=VICTIM["email"], type=RequestType.ACCESS, status=Status.IN_REVIEW)
    mail.outbox.clear()
    return VICTIM["email"]


@pytest.fixture
def no_limits(settings):
    """Timing needs many samples; the limits themselves are tested in test_flooding."""
    for name in ("INTAKE_RATE_IP", "CODE_RATE_ADDRESS", "RESEND_RATE_REQUEST",
                 "RESEND_RATE_IP"):  # fmt: skip
        setattr(settings, f"DSAR_{name}", "100000/hour")


def shape(answer) -> tuple:
    body = answer.json()
    headers = sorted(h for h in answer.headers if h.lower() not in {"content-length", "date"})
    fixed = {k: v for k, v in body.items() if k not in VARYING}
    return answer.status_code, sorted(body), fixed, headers, len(answer.content)


def redacted(message) -> str:
    """An email's subject and text without the reference, code, link and times."""
    text = f"{message.subject}\n{message.body}"
    for pattern in (r"DSAR-\d{4}-\d{6}", r"https?://\S+", r"\d{4}-\d\d-\d\d[ T][\d:]+", r"\d+"):
        text = re.sub(pattern, "#", text)
    return text


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def assert_same_speed(known: list[float], unknown: list[float]) -> None:
    """Medians within a factor of two, or within 15 ms: loose enough for a busy 2-core box,
    tight enough to catch a lookup, a downstream call or an extra email for known subjects."""
    a, b = statistics.median(known), statistics.median(unknown)
    assert 0.5 <= a / b <= 2.0 or abs(a - b) < 0.015, (a, b)


def interleaved(known_call, unknown_call) -> tuple[list[float], list[float]]:
    known, unknown = [], []
    for n in range(SAMPLES + 2):  # the first two rounds warm caches and are dropped
        pair = [(known, known_call), (unknown, unknown_call)]
        for samples, call in pair if n % 2 else reversed(pair):
            samples.append(timed(call))
    return known[2:], unknown[2:]


def test_intake_answers_and_emails_match_for_known_and_unknown(api, known_subject):
    known = file_request(api, type="deletion", email=known_subject)
    unknown = file_request(api, type="deletion", email=next(UNKNOWN))
    assert known.status_code == 201 and shape(known) == shape(unknown)
    to_known = sorted(redacted(m) for m in mail.outbox if known_subject in m.to)
    to_unknown = sorted(redacted(m) for m in mail.outbox if known_subject not in m.to)
    assert to_known == to_unknown and len(to_known) == 2  # a receipt and a code, each


def test_resend_and_wrong_code_answers_match_for_known_and_unknown(api, known_subject):
    ids = [
        file_request(api, type="access", email=e).json()["id"]
        for e in (known_subject, next(UNKNOWN))
    ]
    assert shape(resend(api, ids[0])) == shape(resend(api, ids[1]))
    answers = [verify(api, i, "000000") for i in ids]
    assert answers[0].status_code == 400 and answers[0].json() == answers[1].json()


def test_throttled_answers_match_for_known_and_unknown(api, known_subject):
    """Past the address's messages, intake still files (code_sent false) and resend says
    when to come back: the same answers, whether the subject is known or not."""
    filed, refused = {}, {}
    with time_machine.travel(START, tick=False):  # "try again in N seconds" is the same N
        for address in (known_subject, next(UNKNOWN)):
            for n in range(6):  # DSAR_CODE_RATE_ADDRESS is 5/hour
                filed[address] = file_request(api, type="access", email=address, ip=f"192.0.2.{n}")
            refused[address] = resend(api, filed[address].json()["id"], ip="192.0.2.99")
    known, unknown = filed.values()
    assert known.json()["code_sent"] is False and shape(known) == shape(unknown)
    known, unknown = refused.values()
    assert known.status_code == 429 and known.json() == unknown.json()
    assert known["Retry-After"] == unknown["Retry-After"]


def test_intake_takes_as_long_for_known_and_unknown_subjects(api, known_subject, no_limits):
    known, unknown = interleaved(
        lambda: file_request(api, type="deletion", email=known_subject),
        lambda: file_request(api, type="deletion", email=next(UNKNOWN)),
    )
    assert_same_speed(known, unknown)


def test_resend_takes_as_long_for_known_and_unknown_subjects(api, known_subject, no_limits):
    ids = [
        file_request(api, type="deletion", email=e).json()["id"]
        for e in (known_subject, next(UNKNOWN))
    ]
    known, unknown = interleaved(lambda: resend(api, ids[0]), lambda: resend(api, ids[1]))
    assert_same_speed(known, unknown)
