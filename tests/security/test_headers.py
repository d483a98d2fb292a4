"""Response headers, read off a real gunicorn: a Content-Security-Policy on every answer that
allows no inline script, HSTS when the environment asks for it, answers with personal data
kept out of every cache, and uploaded evidence that can never run in the staff's browser."""

import re

import pytest
import requests as http
from django.core.files.uploadedfile import SimpleUploadedFile

from dsar.verification import evidence
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from tests.factories import RightsRequestFactory
from tests.support.servers import live_database_url

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HSTS = {
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


@pytest.fixture
def server(server_process):
    def start(**env) -> str:
        return server_process(
            {"DATABASE_URL": live_database_url(), "SECURE_COOKIES": "0", **env}
        ).url

    return start


@pytest.fixture
def agent_session(staff_user):
    """log_in(base) → a requests session of an agent logged in through the staff form."""
    agent = staff_user("agent", "ana")
    agent.set_password(PASSWORD)
    agent.save()

    def log_in(base: str) -> http.Session:
        session = http.Session()
        form = session.get(f"{base}/staff/login/", timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        done = session.post(
            f"{base}/staff/login/",
            data={"username": "ana", "password": PASSWORD, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=30,
        )
        assert done.status_code == 302
        return session

    return log_in


def policy(answer) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = answer.headers.get("Content-Security-Policy", "")
    parts = [p.split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def opened_status_page(base: str, request) -> http.Response:
    """The status page as the subject's browser gets it: the emailed link's token POSTed to
    the page that asks for it, a page key cookie, then the page itself."""
    session = http.Session()
    asking = session.get(f"{base}/requests/{request.pk}/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', asking.text)[1]
    data = {"t": make_status_token(request), "csrfmiddlewaretoken": csrf}
    answer = session.post(f"{base}/requests/{request.pk}/open/", data=data, timeout=30)
    assert answer.status_code == 200 and answer.url.endswith(f"/requests/{request.pk}/")
    return answer


def status_api(base: str, request) -> http.Response:
    headers = {"X-Status-Token": make_status_token(request)}
    return http.get(f"{base}/api/v1/requests/{request.pk}/", headers=headers, timeout=30)


def test_every_kind_of_answer_carries_a_policy_without_inline_script(server):
    base = server()
    request = RightsRequestFactory.create(status=Status.IN_REVIEW)
    paths = [
        "/",
        "/request/deletion/",
        f"/requests/{request.pk}/",  # without a page key: the page that asks for the link
        "/staff/login/",
        "/admin/login/",
        "/api/v1/docs/",
        "/healthz",
        "/no-such-page/",
    ]
    answers = {path: http.get(f"{base}{path}", timeout=30) for path in paths}
    answers["status page"] = opened_status_page(base, request)
    answers["status API"] = status_api(base, request)
    for path, answer in answers.items():
        rules = policy(answer)
        assert rules, f"{path} has no Content-Security-Policy"
        scripts = rules.get("script-src", rules.get("default-src"))
        assert scripts and "'unsafe-inline'" not in scripts, path
        assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
        assert rules["base-uri"] == ["'none'"]


def test_the_portals_inline_style_is_allowed_by_a_fresh_nonce_only(server):
    base = server()
    answers = [http.get(f"{base}/", timeout=30) for _ in range(2)]
    nonces = []
    for answer in answers:
        nonce = re.search(r'<style nonce="([^"]+)">', answer.text).group(1)
        assert f"'nonce-{nonce}'" in policy(answer)["style-src"]
        assert "'unsafe-inline'" not in policy(answer)["style-src"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_hsts_is_sent_over_https_when_the_environment_sets_it(server):
    base = server(**HSTS)
    over_https = http.get(f"{base}/", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert over_https.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    # Browsers ignore HSTS over plain HTTP; Django sends it only where it counts.
    assert "Strict-Transport-Security" not in http.get(f"{base}/", timeout=30).headers


def test_pages_and_answers_with_personal_data_are_never_stored(server, agent_session):
    base = server()
    request = create_request(type="deletion", email="li.lei@example.com", full_name="Li Lei")
    staff = agent_session(base)
    answers = {
        "queue": staff.get(f"{base}/staff/", timeout=30),
        "request page": staff.get(f"{base}/staff/requests/{request.pk}/", timeout=30),
        "dashboard": staff.get(f"{base}/staff/dashboard/", timeout=30),
        "staff API": staff.get(f"{base}/api/v1/staff/requests/", timeout=30),
        "status page": opened_status_page(base, request),
        "status API": status_api(base, request),
    }
    for name, answer in answers.items():
        assert answer.status_code in (200, 403), name  # the dashboard is for supervisors
        assert "no-store" in answer.headers.get("Cache-Control", ""), name


def test_uploaded_evidence_is_sandboxed_and_downloaded_never_rendered(server, agent_session):
    base = server()
    request = create_request(type="deletion", email="li.lei@example.com")
    upload = SimpleUploadedFile("id.png", PNG, content_type="image/png")
    doc = evidence.submit_evidence(request=request, upload=upload)
    staff = agent_session(base)
    answer = staff.get(f"{base}/staff/requests/{request.pk}/evidence/{doc.pk}/", timeout=30)
    assert answer.status_code == 200 and answer.content == PNG
    assert "sandbox" in policy(answer)
    assert policy(answer)["default-src"] == ["'none'"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in answer.headers["Cache-Control"]
