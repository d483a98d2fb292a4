"""The public pages: both languages, the form, verification, status, reply, withdraw."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import code_from_outbox, open_pages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

XSS = "<script>alert('x')</script>"


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def file_through_form(client, type_="deletion", **fields):
    data = {"email": "zhang.wei@example.com", "full_name": "张伟", **fields}
    return client.post(f"/request/{type_}/", data)


def status_page(client, request):
    return open_pages(client, request).get(f"/requests/{request.pk}/")


def test_home_is_in_simplified_chinese_by_default(client):
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "您对个人信息享有的权利" in html and "删除我的数据" in html


def test_home_in_english(en):
    html = en.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Your rights over your personal information" in html and "Delete my data" in html


def test_language_switch_without_javascript(client):
    assert '<html lang="zh-hans">' in client.get("/").content.decode()
    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Your rights over your personal information" in html and "Delete my data" in html
    assert "您对个人信息享有的权利" not in html and "删除我的数据" not in html


# The access form in each language: every label and the button, none left in the other.
FORM_WORDS = {
    "zh-hans": [
        "电子邮箱",
        "手机号码（+86）",
        "您的姓名",
        "账户标识（选填）",
        "其他说明",
        "提交请求",
    ],
    "en": [
        "Email address",
        "Mobile number (+86)",
        "Your name",
        "Account identifier (optional)",
        "Anything we should know",
        "Send request",
    ],
}


@pytest.mark.parametrize(("language", "other"), [("zh-hans", "en"), ("en", "zh-hans")])
def test_form_labels_are_translated(client, language, other):
    client.cookies["django_language"] = language
    html = client.get("/request/access/").content.decode()
    assert f'<html lang="{language}">' in html
    assert [word for word in FORM_WORDS[language] if word not in html] == []
    assert [word for word in FORM_WORDS[other] if word in html] == []


def test_only_the_correction_form_lists_corrections(en):
    assert "corrections-TOTAL_FORMS" in en.get("/request/correction/").content.decode()
    assert "corrections-TOTAL_FORMS" not in en.get("/request/deletion/").content.decode()


def test_unknown_request_type_is_404(client):
    assert client.get("/request/everything/").status_code == 404


def test_filing_shows_the_reference_and_asks_for_the_code(en):
    answer = file_through_form(en)
    assert answer.status_code == 302
    page = en.get(answer["Location"])
    request = RightsRequest.objects.get()
    assert request.reference in page.content.decode()
    assert "Verification code" in page.content.decode()


def test_code_entered_on_the_page_verifies_and_shows_status(en):
    verify_url = file_through_form(en)["Location"]  # filing opened the request's pages
    request = RightsRequest.objects.get()
    answer = en.post(verify_url, {"code": code_from_outbox(request.pk)})
    assert answer.status_code == 302
    page = en.get(answer["Location"]).content.decode()
    assert "In review" in page and "We will answer by" in page
    assert RightsRequest.objects.get().status == Status.IN_REVIEW


def test_wrong_code_on_the_page_shows_the_message(en):
    file_through_form(en)
    request = RightsRequest.objects.get()
    answer = en.post(f"/requests/{request.pk}/verify/", {"code": "abc"})
    assert answer.status_code == 400
    assert "That code is not right" in answer.content.decode()


def test_status_page_in_chinese(client, make_request):
    request = make_request(status=Status.IN_REVIEW)
    html = status_page(client, request).content.decode()
    assert "审核中" in html and "答复期限" in html


def test_honeypot_keeps_nothing(client):
    answer = file_through_form(client, website="http://spam.example")
    assert answer.status_code == 200
    assert RightsRequest.objects.count() == 0


def test_bad_email_on_the_form_is_400_and_writes_nothing(en):
    answer = file_through_form(en, email="not-an-address")
    assert answer.status_code == 400
    assert "Enter a valid email address." in answer.content.decode()
    assert RightsRequest.objects.count() == 0


def test_oversized_description_on_the_form_is_400(en):
    answer = file_through_form(en, description="x" * 5001)
    assert answer.status_code == 400
    assert RightsRequest.objects.count() == 0


def test_half_filled_correction_row_is_400(en):
    data = {
        "corrections-TOTAL_FORMS": "1",
        "corrections-INITIAL_FORMS": "0",
        "corrections-0-field": "name",
    }
    answer = file_through_form(en, "correction", **data)
    assert answer.status_code == 400
    assert "Fill in which data and what it should say." in answer.content.decode()
    assert RightsRequest.objects.count() == 0


def test_too_many_correction_rows_is_400(en):
    data = {"corrections-TOTAL_FORMS": "1000", "corrections-INITIAL_FORMS": "0"}
    for n in range(1000):
        data[f"corrections-{n}-field"] = "name"
        data[f"corrections-{n}-proposed_value"] = "Li"
    answer = file_through_form(en, "correction", **data)
    assert answer.status_code == 400
    assert RightsRequest.objects.count() == 0


def test_form_rate_limit_answers_429_with_retry_after(en, settings):
    settings.DSAR_INTAKE_RATE_IP = "1/hour"
    assert file_through_form(en).status_code == 302
    answer = file_through_form(en, email="other@example.com")
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert RightsRequest.objects.count() == 1


def test_script_in_the_description_is_escaped_on_every_page(en):
    corrections = {
        "corrections-TOTAL_FORMS": "1",
        "corrections-INITIAL_FORMS": "0",
        "corrections-0-field": XSS,
        "corrections-0-proposed_value": XSS,
    }
    verify_url = file_through_form(en, "correction", description=XSS, **corrections)["Location"]
    request = RightsRequest.objects.get()
    pages = [en.get(verify_url), status_page(en, request)]
    bad = file_through_form(en, "correction", email="bad", description=XSS, **corrections)
    for page in [*pages, bad]:
        html = page.content.decode()
        assert XSS not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in pages[1].content.decode()


def test_withdraw_needs_the_confirmation_box(en, make_request):
    request = make_request()
    answer = open_pages(en, request).post(f"/requests/{request.pk}/withdraw/")
    assert answer.status_code == 400
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PENDING_VERIFICATION


def test_withdraw_from_the_status_page(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = open_pages(en, request).post(f"/requests/{request.pk}/withdraw/", {"confirm": "on"})
    assert answer.status_code == 302
    page = en.get(answer["Location"]).content.decode()
    assert "Your request has been withdrawn." in page and request.reference in page
    assert f"/requests/{request.pk}/withdraw/" not in page  # nothing left to withdraw
    assert RightsRequest.objects.get(pk=request.pk).status == Status.WITHDRAWN


def test_reply_form_shows_only_while_awaiting_the_subject(en, make_request):
    waiting, reviewing = (
        make_request(status=Status.AWAITING_SUBJECT),
        make_request(status=Status.IN_REVIEW),
    )
    assert "Send reply" in status_page(en, waiting).content.decode()
    assert "Send reply" not in status_page(en, reviewing).content.decode()


def test_reply_from_the_status_page_resumes_review(en, make_request):
    request = make_request(status=Status.AWAITING_SUBJECT)
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/reply/", {"message": "Here is my order number."}
    )
    assert answer.status_code == 302
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW


def test_upload_of_the_wrong_type_on_the_page_is_400(en, make_request):
    request = make_request()
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/evidence/",
        {"file": SimpleUploadedFile("id.png", b"not an image")},
    )
    assert answer.status_code == 400
    assert "Upload a JPEG or PNG image or a PDF document." in answer.content.decode()
    assert request.evidence.count() == 0


def test_oversized_upload_on_the_page_is_413(en, make_request, settings):
    settings.DSAR_EVIDENCE_MAX_BYTES = 100
    request = make_request()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/evidence/", {"file": SimpleUploadedFile("id.png", png)}
    )
    assert answer.status_code == 413
    assert request.evidence.count() == 0
