"""Secrets never travel in an address a server logs: a real gunicorn with its access log on
(request line and Referer, the format proxies use), and the product's own log beside it.

The subject and a partner follow the links in the emails the product queued, the way a
browser does: the fragment (``#t=…``) stays in the browser, and the page's script hands the
secret over in a POST body. Afterwards no status token, link secret, download token,
confirmation token or page cookie may appear in either log, in a request line, in a
``Location`` the server answered, or in a ``Referer`` sent anywhere.
"""

import json
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import requests as http

from dsar.audit.services import Actor
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import TEST_STAFF
from tests.support.servers import live_database_url

pytestmark = pytest.mark.django_db(transaction=True)
EMAIL_BASE = "http://127.0.0.1:8000"  # DSAR_PUBLIC_BASE_URL under test


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory) -> Path:
    """Where the module's server keeps its access log and exports (one server per module)."""
    return tmp_path_factory.mktemp("url-secrets")


@pytest.fixture
def server(server_process, server_dir, settings):
    """gunicorn on the test database, writing an access log; yields (base URL, logs)."""
    settings.DSAR_EXPORT_DIR = str(server_dir / "exports")  # shared with the server
    access = server_dir / "access.log"
    running = server_process(
        {
            "DATABASE_URL": live_database_url(),
            "SECURE_COOKIES": "0",
            "DSAR_EXPORT_DIR": settings.DSAR_EXPORT_DIR,
            "GUNICORN_CMD_ARGS": f"--access-logfile={access}",
        }
    )
    logged = [access, running.log]
    before = {path: path.stat().st_size if path.exists() else 0 for path in logged}

    def logs() -> str:
        """Everything the server wrote during this test: the access log and its own
        (Django's) log."""
        return "".join(path.read_bytes()[before[path] :].decode() for path in logged)

    return running.url, logs


class Forms(HTMLParser):
    """The forms of a page: action, attributes and named fields with their values."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": attrs, "fields": {}})
        elif tag in ("input", "textarea") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def secret_form(html: str) -> dict:
    [form] = [f for f in Forms(html).forms if "data-link-secret" in f["attrs"]]
    return form


def follow(session: http.Session, base: str, link: str) -> http.Response:
    """Open an emailed link as a browser with the page's script does: the fragment is never
    sent; the script moves its secret into the page's form; submitting the form (the script
    does it, or the person presses the button) POSTs it."""
    url = link.replace(EMAIL_BASE, base)
    page = session.get(url, allow_redirects=True)  # requests, like browsers, drops #fragment
    assert page.status_code == 200, page.text[:500]
    form = secret_form(page.text)
    name = form["attrs"]["data-link-secret"]
    fields = dict(form["fields"])
    fields[name] = parse_qs(urlsplit(url).fragment)[name][0]
    address = page.url.split("#")[0]  # what the address bar shows once the script ran
    action = urljoin(address, form["attrs"].get("action") or "")
    return session.post(action, data=fields, headers={"Referer": address})


def bodies(**filters) -> list[str]:
    return [e.body for e in OutboundEmail.objects.filter(**filters).order_by("created_at")]


def links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def secrets_of(link: str) -> list[str]:
    """The secrets a link carries, wherever it carries them."""
    parts = urlsplit(link)
    found = [v for values in parse_qs(parts.fragment).values() for v in values]
    found += [v for values in parse_qs(parts.query).values() for v in values]
    return found or [p for p in parts.path.split("/") if len(p) > 40]  # a signed path token


def assert_in_fragment_only(link: str) -> None:
    parts = urlsplit(link)
    assert parts.query == "", f"a secret in the query of {link}"
    assert secrets_of(link), f"no secret found in {link}"
    for secret in secrets_of(link):
        assert secret not in parts.path, f"a secret in the path of {link}"


def assert_nowhere(secrets: list[str], logs: str, responses: list[http.Response]) -> None:
    assert re.search(r'"(GET|POST) /\S* HTTP/1\.1" \d{3} ', logs)  # the access log is on
    for secret in secrets:
        assert secret not in logs and quote(secret, safe="") not in logs
        for answer in responses:
            for hop in [*answer.history, answer]:
                assert secret not in hop.headers.get("Location", "")
                assert secret not in hop.url.split("#")[0]


def browser() -> http.Session:
    session = http.Session()
    session.headers["Accept-Language"] = "en"
    return session


def csrf(session: http.Session, url: str) -> str:
    return Forms(session.get(url).text).forms[-1]["fields"]["csrfmiddlewaretoken"]


def test_subject_follows_status_and_one_click_links_without_a_secret_in_any_log(server):
    base, logs = server
    filer = browser()
    form = f"{base}/request/deletion/"
    filed = filer.post(
        form,
        data={"email": "zhang.wei@example.com", "csrfmiddlewaretoken": csrf(filer, form)},
        headers={"Referer": form},
    )
    assert filed.status_code == 200 and "/verify/" in filed.url
    request = RightsRequest.objects.get()
    [receipt] = bodies(request_id=request.pk, template="receipt")
    [code_email] = bodies(request_id=request.pk, template="code")
    [status_link] = [u for u in links(receipt) if "/requests/" in u]
    [confirm_link] = links(code_email)
    for link in (status_link, confirm_link):
        assert_in_fragment_only(link)

    phone = browser()  # the subject opens the receipt on another device
    opened = follow(phone, base, status_link)
    assert opened.status_code == 200 and request.reference in opened.text
    assert opened.url.rstrip("/").endswith(str(request.pk))  # a clean address
    cookie = phone.cookies.get("dsar_request", path=f"/requests/{request.pk}/")
    assert cookie, "the page key is a cookie scoped to the request's pages"

    confirmed = follow(browser(), base, confirm_link)
    assert confirmed.status_code == 200 and "/requests/" in confirmed.url
    request.refresh_from_db()
    assert request.status == Status.IN_REVIEW

    secrets = [*secrets_of(status_link), *secrets_of(confirm_link), cookie]
    assert_nowhere(secrets, logs(), [filed, opened, confirmed])
    for answer in (filed, opened, confirmed):
        assert answer.headers["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_downloads_and_dead_download_tokens_stay_out_of_every_log(server, settings):
    base, logs = server
    settings.DSAR_EXPORT_MAX_DOWNLOADS = 1
    request = create_request(type="access", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)  # no systems: completes
    [email] = bodies(request_id=request.pk, template="export_ready")
    [link] = links(email)
    assert_in_fragment_only(link)

    session = browser()
    download = follow(session, base, link)
    assert download.status_code == 200 and download.content.startswith(b"PK")
    assert download.headers["Referrer-Policy"] == "no-referrer"
    replay = follow(session, base, link)  # used up: the dead token reaches the server again
    assert replay.status_code == 410 and not replay.content.startswith(b"PK")
    forged = follow(session, base, link[:-4] + "AAAA")
    assert forged.status_code == 404
    assert "Gone: /exports/" in logs()  # the product logs the dead link, without its token
    assert_nowhere(secrets_of(link), logs(), [download, replay, forged])


def test_partner_confirms_without_the_token_in_any_log(server):
    base, logs = server
    DownstreamSystem.objects.create(
        name="partner", kind="notify", actions=["delete"],
        config=json.dumps({"recipient": "privacy@partner.example", "language": "en"}),
    )  # fmt: skip
    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    [email] = bodies(template="fanout_notify")
    [link] = links(email)
    assert_in_fragment_only(link)
    confirmed = follow(browser(), base, link)
    assert confirmed.status_code == 200 and "Thank you" in confirmed.text
    assert FanoutTask.objects.get().status == TaskStatus.DONE
    assert_nowhere(secrets_of(link), logs(), [confirmed])


def test_api_takes_the_status_token_in_a_header_and_refuses_it_in_the_address(server):
    base, logs = server
    created = http.post(
        f"{base}/api/v1/requests/", json={"type": "access", "email": "li.lei@example.com"}
    ).json()
    url = f"{base}/api/v1/requests/{created['id']}/"
    token = created["status_token"]
    assert http.get(url, headers={"X-Status-Token": token}).json()["status"] == (
        "pending_verification"
    )
    refused = http.get(url, params={"token": token})
    assert refused.status_code == 400
    assert "X-Status-Token" in refused.json()["error"]["fields"]["token"][0]
    # The refused request line itself is logged (the client sent it); nothing else is.
    others = [line for line in logs().splitlines() if "token=" not in line]
    assert others and not [line for line in others if quote(token, safe="") in line]
    assert token not in logs()


def test_old_links_move_their_secret_to_the_fragment_and_do_nothing(caplog, settings, tmp_path):
    """Links mailed before the fix still work, once more through a logged request line (the
    subject already holds them, and has no other way back): the answer only moves the secret
    into a fragment, sets no page key, verifies and downloads nothing, and logs nothing."""
    from django.test import Client

    from dsar.exports.services import download_token
    from dsar.verification.tokens import make_status_token

    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    request = create_request(type="access", email="li.lei@example.com")
    challenge = uuid.uuid4()
    token, partner = make_status_token(request), "eyJ0YXNrIjoiMSJ9:1xY:f0rged"
    base = f"/requests/{request.pk}/"
    old = {
        f"{base}?t={token}": f"{base}#t={token}",
        f"{base}verify/?t={token}": f"{base}verify/#t={token}",
        f"{base}confirm/{challenge}/?k=s3cret": f"{base}confirm/{challenge}/#k=s3cret",
        f"/fanout/confirm/{partner}/": f"/fanout/confirm/#t={partner}",
    }
    client = Client()
    for link, moved in old.items():
        answer = client.get(link)
        assert (answer.status_code, answer["Location"]) == (302, moved)
        assert not answer.cookies
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=TEST_STAFF)
    package = request.export_packages.get()
    answer = client.get(f"/exports/{download_token(package)}/")
    assert answer["Location"] == f"/exports/#t={download_token(package)}"
    package.refresh_from_db()
    assert package.downloads_left == settings.DSAR_EXPORT_MAX_DOWNLOADS
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (token, "s3cret", partner, download_token(package)):
        assert secret not in logged
