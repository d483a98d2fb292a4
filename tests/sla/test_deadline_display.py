"""Every deadline is shown one way, with its time zone, in both languages (issue 19): the staff
queue and request page, the subject's status page, the API. A deadline is stored as local
midnight after its last day; it is never shown as "00:00" of the next day."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from dsar.audit.services import Actor
from dsar.sla import clock
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.subject import open_pages

# Verified at 10:00 on 2 Dec 2026 in Beijing: due at the end of Thu 17 Dec, which is stored as
# 2026-12-17 16:00 UTC, i.e. 2026-12-18 00:00 in Beijing.
VERIFIED = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
DUE = dt.datetime(2026, 12, 17, 16, 0, tzinfo=dt.UTC)
SHOWN = {
    "en": "17 Dec 2026, end of day (China Standard Time, UTC+8)",
    "zh-hans": "2026年12月17日 24:00（北京时间，UTC+8）",
}
NOT_SHOWN = ("2026-12-18", "2026-12-17 24:00", "18 Dec", "12月18日")
LANGUAGES = list(SHOWN)


def shown(language, due_at):
    with translation.override(language):
        return clock.format_deadline(due_at)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_deadline_reads_as_the_end_of_its_last_day_with_the_zone(language):
    assert shown(language, DUE) == SHOWN[language]


@pytest.mark.parametrize(
    "language, text",
    [
        ("en", "18 Dec 2026, 00:01 (China Standard Time, UTC+8)"),
        ("zh-hans", "2026年12月18日 00:01（北京时间，UTC+8）"),
    ],
)
def test_a_deadline_moved_by_exact_time_before_this_rule_shows_its_time(language, text):
    assert shown(language, DUE + dt.timedelta(minutes=1)) == text


def test_another_time_zone_is_named_by_its_identifier_and_offset(settings):
    settings.TIME_ZONE = "America/New_York"
    due = dt.datetime(2026, 12, 18, 5, 0, tzinfo=dt.UTC)  # 00:00 on 18 Dec in New York
    assert shown("en", due) == "17 Dec 2026, end of day (America/New_York, UTC-5)"


@pytest.fixture
def verified(make_request):
    with time_machine.travel(VERIFIED, tick=False):
        request = make_request(status=Status.IN_REVIEW)
    assert request.due_at == DUE
    return request


@pytest.fixture
def paused_a_minute(verified):
    """The case of issue 19: a pause of about a minute."""
    paused = VERIFIED + dt.timedelta(days=3)
    with time_machine.travel(paused, tick=False):
        transition(verified, to=Status.AWAITING_SUBJECT, actor=TEST_STAFF)
    with time_machine.travel(paused + dt.timedelta(minutes=1, seconds=5), tick=False):
        transition(verified, to=Status.IN_REVIEW, actor=Actor.subject())
    verified.refresh_from_db()
    return verified


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_limits")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_subject_sees_the_same_deadline_after_a_one_minute_pause(paused_a_minute, language):
    with time_machine.travel(VERIFIED + dt.timedelta(days=4), tick=False):
        client = open_pages(Client(HTTP_ACCEPT_LANGUAGE=language), paused_a_minute)
        page = client.get(f"/requests/{paused_a_minute.pk}/").content.decode()
    assert SHOWN[language] in page
    assert not any(other in page for other in NOT_SHOWN)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_staff_queue_and_request_page_show_the_deadline_one_way(
    client, staff_user, verified, language
):
    client.force_login(staff_user("agent"))
    with time_machine.travel(VERIFIED + dt.timedelta(days=4), tick=False):
        for path in ("/staff/", f"/staff/requests/{verified.pk}/"):
            page = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert SHOWN[language] in page, path
            assert not any(other in page for other in NOT_SHOWN), path


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_api_gives_the_deadline_as_pages_show_it(api_as, verified, language):
    staff = api_as("agent")
    listed = staff.get("/api/v1/staff/requests/", HTTP_ACCEPT_LANGUAGE=language).json()
    [row] = [r for r in listed["results"] if r["id"] == str(verified.pk)]
    assert row["due_display"] == SHOWN[language]
    public = APIClient().get(
        f"/api/v1/requests/{verified.pk}/",
        HTTP_X_STATUS_TOKEN=make_status_token(verified),
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert public.json()["due_display"] == SHOWN[language]
    assert RightsRequest.objects.get(pk=verified.pk).due_at == DUE
