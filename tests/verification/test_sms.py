"""The SMS channel: +86 mobiles only, the code written by the file backend after commit."""

import json
import re

import pytest
from rest_framework.test import APIClient

from dsar.verification.models import Challenge
from dsar.verification.sms import normalise_cn_mobile
from dsar.workflow.identity import InvalidIdentity
from dsar.workflow.models import RightsRequest, Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_limits")]


@pytest.fixture
def sms_dir(settings, tmp_path):
    settings.DSAR_SMS_DIR = str(tmp_path / "sms")
    return tmp_path / "sms"


def messages(folder) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_mobile_numbers_are_folded_to_e164():
    assert normalise_cn_mobile("138 0013 8000") == "+8613800138000"
    assert normalise_cn_mobile("＋８６ １３８００１３８０００") == "+8613800138000"


@pytest.mark.parametrize("number", ["+1 202 555 0143", "010 6552 9988", "12345", "abc"])
def test_other_numbers_are_refused(number):
    with pytest.raises(InvalidIdentity):
        normalise_cn_mobile(number)


def test_phone_only_request_gets_its_code_by_sms_and_verifies(sms_dir):
    api = APIClient()
    body = api.post(
        "/api/v1/requests/", {"type": "access", "phone": "13800138000"}, format="json"
    ).json()
    receipt, sent = messages(sms_dir)  # the receipt, then the code
    assert receipt["to"] == sent["to"] == "+8613800138000"
    assert body["reference"] in sent["text"] and "/confirm/" in sent["text"]
    code = re.search(r"\b\d{6}\b(?!-)", sent["text"].split(body["reference"])[1]).group()
    answer = api.post(f"/api/v1/requests/{body['id']}/verify/", {"code": code}, format="json")
    assert answer.status_code == 200
    request = RightsRequest.objects.get(pk=body["id"])
    assert request.status == Status.IN_REVIEW
    assert request.verifications.get().channel == "phone"
    assert Challenge.objects.get(request=request).channel == "phone"


def test_nothing_is_sent_when_intake_fails(sms_dir):
    APIClient().post(
        "/api/v1/requests/", {"type": "access", "phone": "+1 202 555 0143"}, format="json"
    )
    assert not sms_dir.exists() or messages(sms_dir) == []
