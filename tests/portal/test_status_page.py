"""What the status page tells the subject in each state: the question, the decision, the
download, the end of cooling-off, and withdrawal only while it can still happen."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dsar.crypto.keys import fernet
from dsar.exports.models import Package
from dsar.legal import decisions
from dsar.portal.models import SubjectReply
from dsar.staff import services as staff_services
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import open_pages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def page_of(client, request) -> str:
    return open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()


def asked(make_request, staff_user, question="Please send a photo of the receipt."):
    request = make_request(status=Status.IN_REVIEW)
    staff_services.request_info(request=request, user=staff_user("agent"), reason=question)
    return RightsRequest.objects.get(pk=request.pk)


def test_waiting_page_shows_the_question(en, make_request, staff_user):
    request = asked(make_request, staff_user)
    html = page_of(en, request)
    assert "Please send a photo of the receipt." in html
    assert "Send reply" in html


def test_reply_can_carry_a_photo_stored_encrypted(en, make_request, staff_user):
    request = asked(make_request, staff_user)
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/reply/",
        {"message": "Here it is.", "file": SimpleUploadedFile("receipt.png", PNG)},
    )
    assert answer.status_code == 302
    reply = SubjectReply.objects.get(request=request)
    assert reply.attachment_type == "image/png"
    assert bytes(reply.attachment) != PNG and fernet().decrypt(bytes(reply.attachment)) == PNG
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW


def test_reply_with_a_file_of_the_wrong_type_is_400_and_keeps_waiting(en, make_request, staff_user):
    request = asked(make_request, staff_user)
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/reply/",
        {"message": "Here.", "file": SimpleUploadedFile("x.png", b"MZ not an image")},
    )
    assert answer.status_code == 400
    assert "Upload a JPEG or PNG image or a PDF document." in answer.content.decode()
    assert not SubjectReply.objects.exists()
    assert RightsRequest.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT


def test_reply_with_an_oversized_file_is_413(en, make_request, staff_user, settings):
    settings.DSAR_EVIDENCE_MAX_BYTES = 32
    request = asked(make_request, staff_user)
    answer = open_pages(en, request).post(
        f"/requests/{request.pk}/reply/",
        {"message": "Here.", "file": SimpleUploadedFile("r.png", PNG)},
    )
    assert answer.status_code == 413
    assert not SubjectReply.objects.exists()


def test_staff_download_the_reply_attachment(client, make_request, staff_user):
    request = asked(make_request, staff_user)
    open_pages(client, request).post(
        f"/requests/{request.pk}/reply/",
        {"message": "", "file": SimpleUploadedFile("receipt.png", PNG)},
    )
    reply = SubjectReply.objects.get(request=request)
    client.force_login(staff_user("agent", "reader"))
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    url = f"/staff/requests/{request.pk}/replies/{reply.pk}/file/"
    assert url in page
    answer = client.get(url)
    assert answer.status_code == 200 and answer.content == PNG
    assert answer["Content-Disposition"].startswith("attachment;")


def test_denied_page_shows_the_basis_explanation_and_complaint_route(en, make_request, staff_user):
    request = make_request(status=Status.IN_REVIEW)
    decisions.deny_request(
        request=request, user=staff_user("legal"), basis="legal_obligation",
        explanation="Tax law requires us to keep these invoices.",
    )  # fmt: skip
    html = page_of(en, request)
    assert "Tax law requires us to keep these invoices." in html
    assert "Required to fulfil a legal obligation" in html
    assert "people&#x27;s court" in html or "people's court" in html
    assert "Withdraw" not in html


def test_completed_access_page_links_to_the_download(en, make_request):
    request = make_request(type="access", status=Status.COMPLETED)
    package = Package.objects.get(request=request)
    html = page_of(en, request)
    assert 'action="/exports/"' in html and "Download your data" in html
    assert f"{package.downloads_left} downloads left" in html
    assert timezone.localtime(package.expires_at).strftime("%Y-%m-%d") in html
    assert "Withdraw" not in html


def test_used_up_download_says_so_on_the_status_page(en, make_request):
    request = make_request(type="access", status=Status.COMPLETED)
    Package.objects.filter(request=request).update(downloads_left=0)
    html = page_of(en, request)
    assert "Download your data" not in html
    assert "expired or has been used up" in html


def test_cooling_off_page_shows_when_the_account_closes(en, make_request):
    with time_machine.travel(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC), tick=False):
        request = make_request(type="cancellation", status=Status.COOLING_OFF)
        html = page_of(en, request)
    assert "2026-12-08" in html
    assert "Withdraw" in html


def test_chinese_status_page_of_a_denial(client, make_request, staff_user):
    request = make_request(status=Status.IN_REVIEW)
    decisions.deny_request(
        request=request, user=staff_user("legal"), basis="legal_obligation",
        explanation="依法须保留发票。",
    )  # fmt: skip
    html = page_of(client, request)
    assert "依法须保留发票。" in html and "撤回" not in html
