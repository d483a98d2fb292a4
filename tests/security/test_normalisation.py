"""Normalisation: intake takes exactly one address, in one spelling, and uses that spelling for
everything after. A comment naming the victim must not route the code to the attacker; a
display name, an invisible character or a second address must not make a new identity that
escapes the per-address limits; CR/LF, lists and trailing dots must not reach the mailer."""

import pytest

from dsar.corrections.models import Correction
from dsar.notifications.models import OutboundEmail
from dsar.workflow import identity
from dsar.workflow.models import RequestType, RightsRequest, Status
from tests.security.conftest import ATTACKER_EMAIL, VICTIM, file_request

pytestmark = pytest.mark.django_db

NOT_ONE_ADDRESS = {
    "comment naming the victim": f"{ATTACKER_EMAIL} ({VICTIM['email']})",
    "display name and angle brackets": f"x<{VICTIM['email']}>",
    "quoted display name": f'"Li Lei" <{VICTIM["email"]}>',
    "two addresses with a comma": f"{VICTIM['email']},{ATTACKER_EMAIL}",
    "two addresses with a semicolon": f"{VICTIM['email']};{ATTACKER_EMAIL}",
    "a group": f"friends: {VICTIM['email']};",
    "trailing dot": f"{VICTIM['email']}.",
    "CRLF and a header": f"{VICTIM['email']}\r\nBcc: {ATTACKER_EMAIL}",
    "LF at the end": f"{VICTIM['email']}\n",
    "space inside": "li.lei @example.com",
    "quoted local part": '"li lei"@example.com',
    "address literal": "li.lei@[192.0.2.1]",
    "two at signs": f"li.lei@{ATTACKER_EMAIL}",
    "NUL": "li.lei@example.com\x00",  # refused before us, by the framework
}
INVISIBLE = {
    "zero-width space": "li.lei\u200b@example.com",
    "zero-width non-joiner": "li.lei@exa\u200cmple.com",
    "zero-width joiner": "li\u200d.lei@example.com",
    "word joiner": "li.lei@example.com\u2060",
    "byte-order mark": "\ufeffli.lei@example.com",
    "soft hyphen": "li.lei@exam\u00adple.com",
    "right-to-left override": "li.lei@\u202eexample.com",
    "tab": "li.lei@example.com\t",
}
SAME_ADDRESS = [
    "LI.LEI@EXAMPLE.COM",
    " li.lei@example.com ",
    "ｌｉ．ｌｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ",
]


def recipients() -> set[str]:
    """Everyone an email was queued for (delivery itself happens after commit)."""
    return set(OutboundEmail.objects.values_list("to", flat=True))


def refused_with_a_field_message(answer) -> str:
    assert answer.status_code == 400, answer.content
    [message] = answer.json()["error"]["fields"]["email"]
    assert RightsRequest.objects.count() == 0 and recipients() == set()
    return message


@pytest.mark.parametrize("typed", NOT_ONE_ADDRESS.values(), ids=NOT_ONE_ADDRESS.keys())
def test_intake_refuses_anything_but_one_address(api, typed):
    assert refused_with_a_field_message(file_request(api, type="access", email=typed))


@pytest.mark.parametrize("typed", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_intake_refuses_invisible_and_control_characters(api, typed):
    message = refused_with_a_field_message(file_request(api, type="access", email=typed))
    assert message == str(identity.INVISIBLE)


def test_comment_naming_the_victim_sends_the_attacker_nothing(api):
    file_request(api, type="access", email=f"{ATTACKER_EMAIL} ({VICTIM['email']})")
    file_request(api, type="access", email=f"{ATTACKER_EMAIL}(victim)")
    assert ATTACKER_EMAIL not in recipients() and RightsRequest.objects.count() == 0


@pytest.mark.parametrize("typed", [*NOT_ONE_ADDRESS.values(), *INVISIBLE.values()])
def test_web_form_refuses_what_the_api_refuses(client, typed):
    answer = client.post("/request/access/", {"email": typed}, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400
    assert RightsRequest.objects.count() == 0 and recipients() == set()


@pytest.mark.parametrize("typed", SAME_ADDRESS)
def test_spellings_of_one_address_are_stored_hashed_and_mailed_as_one(api, typed):
    filed = file_request(api, type="access", email=typed)
    assert filed.status_code == 201
    request = RightsRequest.objects.get(pk=filed.json()["id"])
    assert request.email == VICTIM["email"]
    assert request.email_hash == identity.email_hash(VICTIM["email"])
    assert recipients() == {VICTIM["email"]}


def test_international_domain_is_one_identity_in_its_ascii_form(api):
    unicode_form = file_request(api, type="access", email="Wang@例子.中国", ip="192.0.2.1")
    ascii_form = file_request(api, type="access", email="wang@XN--FSQU00A.xn--fiqs8s")
    ids = [unicode_form.json()["id"], ascii_form.json()["id"]]
    stored = RightsRequest.objects.filter(pk__in=ids)
    assert {r.email for r in stored} == {"wang@xn--fsqu00a.xn--fiqs8s"}
    assert len({r.email_hash for r in stored}) == 1
    assert recipients() == {"wang@xn--fsqu00a.xn--fiqs8s"}


@pytest.mark.parametrize(
    "typed",
    ["13912345678 (attacker)", "139\u200b12345678", "13912345678 ext. 9", "tel:13912345678",
     "139-1234-5678;ext=1", "1391234567８+1", "+86 139 1234 5678\r\n"],
)  # fmt: skip
def test_phone_junk_is_refused(api, typed):
    answer = file_request(api, type="access", phone=typed)
    assert answer.status_code == 400 and "phone" in answer.json()["error"]["fields"]
    assert RightsRequest.objects.count() == 0


@pytest.mark.parametrize("typed", ["13912345678", "+86 139 1234 5678", "１３９-１２３４-５６７８"])
def test_phone_spellings_are_one_number_in_e164(api, typed):
    filed = file_request(api, type="access", phone=typed)
    assert filed.status_code == 201
    assert RightsRequest.objects.get(pk=filed.json()["id"]).phone == "+8613912345678"


@pytest.fixture
def email_correction(make_request):
    request = make_request(type=RequestType.CORRECTION, email=VICTIM["email"],
                           status=Status.IN_REVIEW)  # fmt: skip
    return Correction.objects.create(
        request=request, position=1, field="email", proposed_value=VICTIM["email"]
    )


def decide(api_as, correction, value):
    return api_as("supervisor").post(
        f"/api/v1/staff/requests/{correction.request_id}/decide-correction/",
        {"correction": str(correction.pk), "accept": True, "target_field": "email",
         "value": value},
        format="json",
    )  # fmt: skip


def test_a_corrected_email_that_is_not_one_address_is_refused(api_as, email_correction):
    answer = decide(api_as, email_correction, f"{ATTACKER_EMAIL} ({VICTIM['email']})")
    assert answer.status_code == 400 and "value" in answer.json()["error"]["fields"]
    email_correction.refresh_from_db()
    assert email_correction.decision == "" and email_correction.final_value == ""


def test_a_corrected_email_goes_downstream_normalised(api_as, email_correction):
    assert decide(api_as, email_correction, " New.Li@例子.中国 ").status_code == 200
    email_correction.refresh_from_db()
    assert email_correction.final_value == "new.li@xn--fsqu00a.xn--fiqs8s"
