"""A used-up or expired download link: a translated page, and once a fresh link to the
verified channel."""

import pytest

from dsar.exports import services
from dsar.exports.models import Package
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import Status

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")


@pytest.fixture
def used_up(make_request):
    request = make_request(type="access", status=Status.COMPLETED)
    package = Package.objects.get(request=request)
    Package.objects.filter(pk=package.pk).update(downloads_left=0)
    return request, services.download_token(package)


def links_sent(request):
    return OutboundEmail.objects.filter(request_id=request.pk, template="export_ready")


def test_used_up_link_answers_a_translated_page_offering_a_fresh_link(client, used_up):
    _, token = used_up
    answer = client.post("/exports/", {"t": token})
    assert answer.status_code == 410
    html = answer.content.decode()
    assert '<html lang="zh-hans">' in html and "已过期" in html
    assert 'action="/exports/renew/"' in html


def test_fresh_link_is_sent_once_to_the_verified_channel(client, used_up):
    request, token = used_up
    assert links_sent(request).count() == 1
    client.cookies["django_language"] = "en"
    answer = client.post("/exports/renew/", {"t": token})
    assert answer.status_code == 200
    assert "We have sent a new link" in answer.content.decode()
    assert links_sent(request).count() == 2
    fresh = Package.objects.filter(request=request).latest("created_at")
    assert fresh.renewed_from_id is not None and services.is_usable(fresh)

    Package.objects.filter(pk=fresh.pk).update(downloads_left=0)  # the fresh one used up too
    again = client.post("/exports/renew/", {"t": services.download_token(fresh)})
    assert again.status_code == 409
    assert "already sent you a new link" in again.content.decode()
    assert links_sent(request).count() == 2


def test_a_link_that_still_works_is_not_renewed(client, make_request):
    request = make_request(type="access", status=Status.COMPLETED)
    token = services.download_token(Package.objects.get(request=request))
    answer = client.post("/exports/renew/", {"t": token})
    assert answer.status_code == 409
    assert Package.objects.filter(request=request).count() == 1


def test_forged_link_cannot_ask_for_a_fresh_one(client):
    assert client.post("/exports/renew/", {"t": "forged"}).status_code == 404


def test_fresh_links_are_rate_limited(client, used_up, settings):
    settings.DSAR_LOOKUP_RATE_IP = "1/hour"
    _, token = used_up
    assert client.post("/exports/renew/", {"t": token}).status_code == 200
    answer = client.post("/exports/renew/", {"t": token})
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
