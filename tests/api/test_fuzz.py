"""Schemathesis against the live OpenAPI schema of a real gunicorn (PostgreSQL, Redis).

Every public and staff operation gets generated valid and invalid input; an answer fails the
test if it is a 5xx or contradicts what the schema promises for that status code. The staff
token belongs to a user holding every role an action needs (supervisor and legal), so the
fuzzer reaches the services rather than stopping at 403. Requests, a correction and a hold are
seeded, and the fuzzer is told their ids and status tokens, so it exercises real rows and not
only 404s.

The run is bounded three ways: examples per operation, a per-request timeout, and the test's
own timeout; on failure the test shows schemathesis' report and the server log.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests as http
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from dsar.legal.holds import place_hold_for_request
from dsar.portal import services as portal
from dsar.verification.tokens import make_status_token
from dsar.workflow.models import RequestType, Status
from tests.factories import RightsRequestFactory
from tests.support.servers import live_database_url

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,response_schema_conformance"
MAX_EXAMPLES = 25
REQUEST_TIMEOUT_SECONDS = 20  # under gunicorn's 30 s worker timeout: a stuck answer fails here
# About a minute alone on this machine; 240 s was overrun once beside the other xdist worker
# while other suites loaded the machine too (its coverage phase alone took 155 s).
RUN_TIMEOUT = 480
# The limits stay on (a 429 is a correct answer), just high enough that intake and resend are
# fuzzed past the first few cases instead of answering 429 to the rest of the run.
GENEROUS_RATES = {
    name: "100000/hour"
    for name in (
        "DSAR_INTAKE_RATE_IP",
        "DSAR_CODE_RATE_ADDRESS",
        "DSAR_RESEND_RATE_IP",
        "DSAR_RESEND_RATE_REQUEST",
    )
}


def _staff_token() -> str:
    """A DRF token of a user whose roles together allow every staff action."""
    user = User.objects.create_user(username="fuzz-staff", password="x")
    for role in ("supervisor", "legal"):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return Token.objects.create(user=user).key


def _seed(user) -> tuple[list[str], list[str]]:
    """Requests in the states staff and subjects act on, a correction and a hold.

    Returns the ids (requests and the hold) and the status tokens the fuzzer should reuse.
    """
    requests = [
        RightsRequestFactory.create(status=status)
        for status in (
            Status.PENDING_VERIFICATION,
            Status.IN_REVIEW,
            Status.AWAITING_SUBJECT,
            Status.PROCESSING,  # with no downstream system it completes on commit
            Status.DENIED,
        )
    ]
    requests.append(
        portal.file_request(
            type=RequestType.CORRECTION,
            email="fuzz-correction@example.com",
            corrections=[portal.ProposedCorrection(field="name", proposed_value="New Name")],
            ip="127.0.0.2",
        )
    )
    hold = place_hold_for_request(
        request=requests[1], user=user, kind="litigation", reference="FUZZ-1", reason="Seed."
    )
    ids = [str(r.pk) for r in requests] + [str(hold.pk)]
    return ids, [make_status_token(r) for r in requests]


def _config(ids: list[str], tokens: list[str]) -> str:
    """schemathesis.toml: real ids and tokens most of the time, generated ones otherwise."""

    def toml_list(values):
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    return f"""
[cache]
enabled = false

[dictionaries.ids]
values = {toml_list(ids)}

[dictionaries.tokens]
values = {toml_list(tokens)}

[parameters]
"path.id" = {{ dictionary = "ids", probability = 0.7 }}
"header.X-Status-Token" = {{ dictionary = "tokens", probability = 0.7 }}
"body.token" = {{ dictionary = "tokens", probability = 0.7 }}
"""


def _server_env() -> dict:
    return {"DATABASE_URL": live_database_url(), "DSAR_TEST_EAGER": "1", **GENEROUS_RATES}


@pytest.mark.timeout(540)
def test_every_operation_answers_without_5xx_and_as_the_schema_says(
    transactional_db, server_process, tmp_path
):
    # The server runs in other processes, so what it must see is committed (transactional_db).
    token = _staff_token()
    ids, tokens = _seed(User.objects.get(username="fuzz-staff"))
    cache.clear()  # rate-limit windows of earlier tests must not turn the run into 429s
    server = server_process(_server_env(), workers=2)
    base = server.url
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(ids, tokens))
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base}/api/v1/schema/",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        str(REQUEST_TIMEOUT_SECONDS),
        # One thread: with two, hypothesis parses source with `ast` in both, and Python 3.11's
        # AST constructor then fails now and then ("AST constructor recursion depth mismatch",
        # CPython gh-106905), which schemathesis reports as a runtime error of its own.
        "--workers",
        "1",
        "--generation-database",
        "none",  # nothing written outside tmp_path; every run starts from fresh examples
    ]
    started = time.monotonic()
    try:
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or b""  # bytes even in text mode, per subprocess' docs
        partial = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        errors = _server_errors(server.log)
        pytest.fail(f"schemathesis ran over {RUN_TIMEOUT} s:\n{partial[-20000:]}\n{errors}")
    finally:
        cache.clear()
    report = run.stdout + run.stderr
    print(report)  # pytest shows it with -s, or on failure
    print(f"schemathesis took {time.monotonic() - started:.0f} s")
    if run.returncode != 0:
        pytest.fail(f"schemathesis failed:\n{report[-20000:]}\n{_server_errors(server.log)}")
    # A clean exit proves nothing if nothing ran: every operation of the live schema was
    # tested, with generated cases, and every case passed.
    tested = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert tested and cases, report[-5000:]
    operations = _operations(base)
    assert [int(n) for n in tested.groups()] == [operations] * 3, report[-5000:]
    generated, passed = (int(n) for n in cases.groups())
    assert generated == passed >= operations, report[-5000:]


def _operations(base: str) -> int:
    """How many operations the live OpenAPI schema declares."""
    schema = http.get(f"{base}/api/v1/schema/?format=json", timeout=30).json()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(len(methods & set(item)) for item in schema["paths"].values())


def _server_errors(log: Path) -> str:
    """The server log from its first error on: the tracebacks behind any 5xx."""
    text = log.read_text()
    first = text.find(" ERROR ")
    return "--- server log ---\n" + (text[first : first + 15000] if first >= 0 else "no errors")
