"""No personal data in any log line of a full run: one subject files, verifies, is served
by staff and two downstream systems, downloads their data, deletes it, and meets every
failure on the way (wrong codes, forged callbacks, a peer's 400 echoing the address, a
broken SMS gateway, a down mail server, replays, throttling). Every record any logger
emits, at DEBUG, formatted as the project's handler would write it, is then searched."""

import datetime as dt
import json
import logging
import re
from urllib.parse import quote

import psycopg
import pytest
import time_machine
from django.core import mail

from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.notifications.models import OutboundEmail
from dsar.workflow.models import RightsRequest, Status
from tests.security.conftest import file_request, resend, verify
from tests.support.signing import SECRET, signed_headers
from tests.support.subject import code_from_outbox, link_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
TYPED = {
    "email": "Zhao.Xiaoming@Example.com",
    "phone": "139 8765 4321",
    "full_name": "赵小明 Zhao Xiaoming",
    "account_id": "acct-zx-4471",
}
PERSONAL = [
    "Zhao.Xiaoming@Example.com", "zhao.xiaoming@example.com", "zhao.xiaoming", "13987654321",
    "+8613987654321", "139 8765 4321", "赵小明", "Zhao Xiaoming", "acct-zx-4471",
]  # fmt: skip


class Everything(logging.Handler):
    """Keeps every record, from every logger, including those that do not propagate."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def logs():
    handler = Everything()
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        if lg is logging.getLogger() or not lg.propagate:
            lg.addHandler(handler)
    yield handler
    for lg, level in saved:
        lg.setLevel(level)
        lg.removeHandler(handler)


@pytest.fixture
def platform(shop_dsn, downstream):
    """The subject is a shop customer; the CRM first accepts (202), then refuses a delete
    with an error that quotes the address, then succeeds on staff's retry."""
    with psycopg.connect(shop_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO customers (email, account, name) VALUES (%s, %s, %s)",
            ("zhao.xiaoming@example.com", "acct-zx-4471", "赵小明 Zhao Xiaoming"),
        )
    statements = {
        "export": "SELECT name, account FROM customers WHERE email = %(email)s",
        "delete": "DELETE FROM customers WHERE email = %(email)s",
    }
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export", "delete"],
        config=json.dumps({"dsn": shop_dsn, "statements": statements}),
    )  # fmt: skip
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["export", "delete"], timeout_seconds=2,
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip
    downstream.answers = [
        (202, {}),
        (400, {"error": "no customer zhao.xiaoming@example.com / +8613987654321"}),
        (200, {"deleted": 1}),
    ]


def callback(client, task, secret=SECRET):
    raw = json.dumps({"idempotency_key": str(task.idempotency_key), "status": "done"})
    return client.post(
        f"/api/v1/callbacks/{task.pk}/", raw, content_type="application/json",
        headers=signed_headers(raw, secret=secret),
    )  # fmt: skip


def access_journey(api, staff, client, secrets) -> None:
    filed = file_request(api, type="access", ip="127.0.0.1", **TYPED).json()
    secrets += [filed["status_token"], code_from_outbox(filed["id"])]
    assert (
        api.get(f"/api/v1/requests/{filed['id']}/", HTTP_X_STATUS_TOKEN="forged").status_code == 404
    )
    assert verify(api, filed["id"], "000000").status_code == 400
    assert resend(api, filed["id"]).status_code == 202
    code = code_from_outbox(filed["id"])
    secrets.append(code)
    assert verify(api, filed["id"], code).status_code == 200
    assert staff.post(f"/api/v1/staff/requests/{filed['id']}/claim/").status_code == 200
    assert staff.post(f"/api/v1/staff/requests/{filed['id']}/approve/").status_code == 200
    task = FanoutTask.objects.get(request_id=filed["id"], status=TaskStatus.WAITING)
    assert callback(client, task, secret="guessed").status_code == 401
    assert callback(client, task).status_code == 200
    assert callback(client, task).status_code == 409
    [message] = [m for m in mail.outbox if "/exports/" in m.body]
    # The token rides in the link's fragment and the POST body: not logged, not even once dead.
    token = re.search(r"/exports/#t=(\S+)", message.body).group(1)
    secrets.append(token)
    assert [client.post("/exports/", {"t": token}).status_code for _ in range(2)] == [200, 410]


def deletion_journey(api, staff, client, secrets) -> None:
    filed = file_request(api, type="deletion", ip="127.0.0.1", **TYPED).json()
    link = link_from_outbox(filed["id"])
    path, secret = link.split("#k=")
    secrets += [filed["status_token"], secret, code_from_outbox(filed["id"])]
    assert client.post(path, {"k": "guessed"}).status_code == 400
    assert client.post(path, {"k": secret}).status_code == 302
    findings = staff.get(f"/api/v1/staff/requests/{filed['id']}/").json()["findings"]
    advisories = [f["id"] for f in findings if f["severity"] == "advisory"]
    approve = f"/api/v1/staff/requests/{filed['id']}/approve/"
    assert staff.post(approve, {"acknowledged": advisories}, format="json").status_code == 200
    failed = FanoutTask.objects.get(request_id=filed["id"], status=TaskStatus.FAILED)
    answer = staff.post(
        f"/api/v1/staff/requests/{filed['id']}/retry/", {"system": failed.system_id}
    )
    assert answer.status_code == 200
    assert RightsRequest.objects.get(pk=filed["id"]).status == Status.COMPLETED


def failing_channels_journey(api, settings, tmp_path, secrets) -> None:
    (tmp_path / "not-a-dir").write_text("")
    settings.DSAR_SMS_DIR = str(tmp_path / "not-a-dir" / "sms")  # the gateway fails
    filed = file_request(api, type="access", ip="127.0.0.2", phone=TYPED["phone"]).json()
    secrets.append(filed["status_token"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.DSAR_CODE_RATE_ADDRESS = "1/hour"
    with time_machine.travel(START, tick=False):  # one fresh rate-limit window
        filed_twice = [file_request(api, type="deletion", email=TYPED["email"]) for _ in range(2)]
        throttled = resend(api, filed_twice[1].json()["id"])
    assert [a.json()["code_sent"] for a in filed_twice] == [True, False]
    assert throttled.status_code == 429
    secrets += [a.json()["status_token"] for a in filed_twice]
    assert OutboundEmail.objects.filter(status="pending", attempts=1).exists()  # SMTP down
    withdraw = f"/api/v1/requests/{filed['id']}/withdraw/"
    assert api.post(withdraw, {"token": filed["status_token"]}, format="json").status_code == 200
    assert api.post(withdraw, {"token": filed["status_token"]}, format="json").status_code == 409


def test_full_run_logs_no_personal_data_codes_or_tokens(
    api, api_as, client, platform, logs, settings, tmp_path
):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    settings.DSAR_EXPORT_MAX_DOWNLOADS = 1
    staff, secrets = api_as("agent"), list(PERSONAL)
    access_journey(api, staff, client, secrets)
    deletion_journey(api, staff, client, secrets)
    failing_channels_journey(api, settings, tmp_path, secrets)
    logs.close()
    text = "\n".join(
        logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]).format(r)
        for r in logs.records
    )
    # The failures were really logged: a text and an email.
    assert re.search(r"WARNING dsar\.notifications\.delivery sms \S+ attempt 1 failed", text)
    assert re.search(r"WARNING dsar\.notifications\.delivery email \S+ attempt 1 failed", text)
    assert "Unauthorized: /api/v1/callbacks/" in text and "Too Many Requests" in text
    lowered = text.lower()
    for secret in secrets:
        if secret.isdigit() and len(secret) == 6:  # a code: not as part of a longer number
            assert not re.search(rf"(?<!\d){secret}(?!\d)", text), secret
        else:
            assert secret.lower() not in lowered, secret
            assert quote(secret, safe="").lower() not in lowered, secret
