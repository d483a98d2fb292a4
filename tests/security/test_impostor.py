"""An impostor who knows only the victim's email, name, phone and account id.

Whatever they file, the code goes to the victim's own channel; the impostor's answers carry
nothing that proves or unlocks anything, and their unverified request never gets in the way
of the victim's real one.
"""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from dsar.fanout.models import FanoutTask
from dsar.legal.models import Finding
from dsar.verification.models import Verification
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import (
    VICTIM,
    VICTIM_PHONE_E164,
    file_request,
    mailbox,
    sms_inbox,
    verify,
)
from tests.support.subject import code_from_outbox, wrong_code

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_impostor_knowing_email_name_phone_gets_no_code(api, sms_dir):
    answer = file_request(api, type="deletion", **VICTIM)
    assert answer.status_code == 201
    code = code_from_outbox(answer.json()["id"])
    assert code not in answer.content.decode()
    assert {address for m in mail.outbox for address in m.to} == {VICTIM["email"]}
    assert any(code in m.body for m in mailbox(VICTIM["email"]))
    assert sms_inbox(sms_dir) == []  # the email channel was used; nothing went anywhere else


def test_impostor_knowing_only_the_phone_cannot_receive_the_sms(api, sms_dir):
    answer = file_request(api, type="access", phone=VICTIM["phone"], full_name="Li Lei")
    assert answer.status_code == 201
    messages = sms_inbox(sms_dir)  # the receipt and the code, both to the victim's phone
    assert len(messages) == 2 and {m["to"] for m in messages} == {VICTIM_PHONE_E164}
    assert all(m["text"] not in answer.content.decode() for m in messages)
    assert mail.outbox == []


def test_impostor_guessing_codes_never_verifies_or_moves_data(api, make_request):
    answer = file_request(api, type="deletion", **VICTIM).json()
    code = code_from_outbox(answer["id"])
    for guess in ("000000", "123456", wrong_code(code)):
        assert verify(api, answer["id"], guess).status_code == 400
    request = RightsRequest.objects.get(pk=answer["id"])
    assert request.status == Status.PENDING_VERIFICATION and request.verified_at is None
    assert not Verification.objects.filter(request=request).exists()
    assert not FanoutTask.objects.filter(request=request).exists()


def test_impostor_status_page_reveals_no_personal_data(api):
    answer = file_request(api, type="access", **VICTIM).json()
    status = api.get(
        f"/api/v1/requests/{answer['id']}/", HTTP_X_STATUS_TOKEN=answer["status_token"]
    )
    assert status.status_code == 200
    assert status.json()["status"] == Status.PENDING_VERIFICATION
    body = status.content.decode().lower()
    for fact in ("li.lei", "li lei", "13912345678", "acct-1"):
        assert fact not in body


def test_impostor_requests_do_not_count_against_the_victim(api):
    """SPEC §5: only verified requests count toward repeat limits and duplicate detection."""
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(3):  # more than DSAR_REPEAT_LIMIT (2), all unverified
            assert file_request(api, type="deletion", **VICTIM).status_code == 201
        clock.shift(dt.timedelta(hours=1))  # the intake limit for the address reopens
        mine = file_request(api, type="deletion", ip="198.51.100.7", **VICTIM).json()
        assert verify(api, mine["id"], code_from_outbox(mine["id"])).status_code == 200
    request = RightsRequest.objects.get(pk=mine["id"])
    assert request.status == Status.IN_REVIEW
    assert not Finding.objects.filter(request=request, check_name="repeated_requests").exists()
    assert RightsRequest.objects.filter(status=Status.PENDING_VERIFICATION).count() == 3
