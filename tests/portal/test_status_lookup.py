"""Status lookup: the reference and the address the request was filed with re-send its status
link to that address; the answer is the same whether or not they match."""

import re

import pytest

from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Status

# What differs between any two pages: the form's CSRF token and the style's CSP nonce.
PER_RESPONSE = re.compile(r'(name="csrfmiddlewaretoken" value|nonce)="[^"]*"')
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def look_up(client, reference, contact):
    return client.post("/requests/lookup/", {"reference": reference, "contact": contact})


def status_links_sent(request):
    return OutboundEmail.objects.filter(request_id=request.pk, template="status_link")


def test_matching_reference_and_email_resend_the_status_link(en, make_request):
    request = make_request(status=Status.IN_REVIEW, email="li.lei@example.com")
    answer = look_up(en, request.reference.lower(), " Li.Lei@Example.com ")
    assert answer.status_code == 200
    [sent] = status_links_sent(request)
    assert sent.channel == "email" and f"/requests/{request.pk}/#t=" in sent.body


def test_the_answer_is_the_same_whether_or_not_they_match(en, make_request):
    request = make_request(status=Status.IN_REVIEW, email="li.lei@example.com")
    hit = look_up(en, request.reference, "li.lei@example.com")
    wrong_address = look_up(en, request.reference, "someone@example.com")
    no_such = look_up(en, "DSAR-2026-999999", "li.lei@example.com")
    assert {r.status_code for r in (hit, wrong_address, no_such)} == {200}
    bodies = {PER_RESPONSE.sub("", r.content.decode()) for r in (hit, wrong_address, no_such)}
    assert len(bodies) == 1
    assert "If this reference and address match a request" in bodies.pop()
    assert status_links_sent(request).count() == 1


def test_phone_only_request_gets_its_link_by_sms(en, make_request):
    request = make_request(status=Status.IN_REVIEW, email="", phone="+8613800138000")
    look_up(en, request.reference, "138 0013 8000")
    [sent] = status_links_sent(request)
    assert sent.channel == "sms" and f"/requests/{request.pk}/#t=" in sent.body


def test_lookup_is_rate_limited_per_sender(en, make_request, settings):
    settings.DSAR_LOOKUP_RATE_IP = "2/hour"
    request = make_request(status=Status.IN_REVIEW, email="li.lei@example.com")
    assert look_up(en, request.reference, "x@example.com").status_code == 200
    assert look_up(en, request.reference, "y@example.com").status_code == 200
    answer = look_up(en, request.reference, "li.lei@example.com")
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert status_links_sent(request).count() == 0


def test_bad_input_is_400_with_field_messages(en):
    answer = look_up(en, "", "")
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Enter the reference" in html and "Enter the email address or mobile number" in html


def test_lookup_page_is_translated(client):
    html = client.get("/requests/lookup/").content.decode()
    assert "查找您的请求" in html


def test_bad_status_token_page_offers_the_lookup(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = en.post(f"/requests/{request.pk}/open/", {"t": "forged"})
    assert answer.status_code == 404
    assert 'href="/requests/lookup/"' in answer.content.decode()


def test_an_action_with_a_forged_token_answers_the_translated_page(client, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = client.post(f"/requests/{request.pk}/withdraw/", {"t": "forged", "confirm": "on"})
    assert answer.status_code == 404
    html = answer.content.decode()
    assert "查找您的请求" in html and 'href="/requests/lookup/"' in html
