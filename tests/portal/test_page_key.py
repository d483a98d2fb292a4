"""The page key: the cookie a browser gets for a request's pages by showing its status token
in a POST body (or by filing it, or by confirming its one-click link)."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from dsar.verification.notices import status_url
from dsar.verification.tokens import COOKIE, make_status_token
from dsar.workflow.models import RightsRequest, Status
from tests.support.subject import open_pages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def en():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def shows_status(answer) -> bool:
    return answer.status_code == 200 and "portal/status.html" in [t.name for t in answer.templates]


def same_page(html: str, request_id: str) -> str:
    """The page with what differs between any two answers (the CSRF token, the CSP nonce, the
    id) blanked."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'nonce="[^"]+"', "", html)
    return html.replace(request_id, "<id>")


def test_without_a_page_key_every_id_gets_the_same_page_asking_for_the_link(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    known = en.get(f"/requests/{request.pk}/").content.decode()
    unknown = en.get(f"/requests/{UNKNOWN}/").content.decode()
    assert "The link from our message" in known and request.reference not in known
    assert same_page(known, str(request.pk)) == same_page(unknown, UNKNOWN)


def test_the_page_key_is_scoped_to_the_request_httponly_and_strict(en, make_request, settings):
    settings.SESSION_COOKIE_SECURE = True
    request = make_request(status=Status.IN_REVIEW)
    answer = en.post(f"/requests/{request.pk}/open/", {"t": make_status_token(request)})
    assert answer.status_code == 302 and answer["Location"] == f"/requests/{request.pk}/"
    cookie = answer.cookies[COOKIE]
    assert cookie["path"] == f"/requests/{request.pk}/"
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["max-age"] == settings.DSAR_STATUS_COOKIE_MINUTES * 60
    assert make_status_token(request) not in cookie.value  # not the emailed token itself


def test_a_pasted_link_opens_the_pages_without_javascript(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    pasted = f"  {status_url(request)}\n"  # the whole link, as copied from the message
    answer = en.post(f"/requests/{request.pk}/open/", {"t": pasted}, follow=True)
    assert shows_status(answer) and request.reference in answer.content.decode()


def test_a_wrong_link_is_404_with_a_message_and_opens_nothing(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = en.post(f"/requests/{request.pk}/open/", {"t": "https://example.com/#t=nope"})
    assert answer.status_code == 404 and COOKIE not in answer.cookies
    assert "This link does not open a request." in answer.content.decode()


def test_one_requests_page_key_does_not_open_another(en, make_request):
    mine, other = make_request(status=Status.IN_REVIEW), make_request(status=Status.IN_REVIEW)
    open_pages(en, mine)  # the test client sends it everywhere, whatever its path; browsers not
    assert shows_status(en.get(f"/requests/{mine.pk}/"))
    page = en.get(f"/requests/{other.pk}/")
    assert not shows_status(page) and other.reference not in page.content.decode()


def test_the_page_key_goes_stale_and_each_page_moves_it_on(en, make_request, settings):
    settings.DSAR_STATUS_COOKIE_MINUTES = 30
    request = make_request(status=Status.IN_REVIEW)
    start = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        open_pages(en, request)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert shows_status(en.get(f"/requests/{request.pk}/"))  # and a fresh key
    with time_machine.travel(start + dt.timedelta(minutes=58), tick=False):
        assert shows_status(en.get(f"/requests/{request.pk}/"))
    with time_machine.travel(start + dt.timedelta(minutes=89), tick=False):
        assert not shows_status(en.get(f"/requests/{request.pk}/"))


def test_an_action_without_a_page_key_asks_for_the_link_and_changes_nothing(en, make_request):
    request = make_request(status=Status.IN_REVIEW)
    answer = en.post(f"/requests/{request.pk}/withdraw/", {"confirm": "on"})
    assert answer.status_code == 403 and "The link from our message" in answer.content.decode()
    assert RightsRequest.objects.get(pk=request.pk).status == Status.IN_REVIEW


def test_a_form_rendered_before_page_keys_still_acts_with_its_token(en, make_request):
    """A status page left open across the upgrade posts its hidden ``t``: a body, not logged."""
    request = make_request(status=Status.IN_REVIEW)
    forged = en.post(f"/requests/{request.pk}/withdraw/", {"t": "forged", "confirm": "on"})
    assert forged.status_code == 404
    token = make_status_token(request)
    answer = en.post(f"/requests/{request.pk}/withdraw/", {"t": token, "confirm": "on"})
    assert answer.status_code == 302
    assert RightsRequest.objects.get(pk=request.pk).status == Status.WITHDRAWN
