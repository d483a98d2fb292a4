"""Opt-outs and consent withdrawals (issue 22, step 2): new request types fanned out as the
``opt_out`` and ``restrict`` actions to the systems that support them."""

import datetime as dt
import importlib
import json
import threading
from http.server import ThreadingHTTPServer

import pytest
import redis
from django.apps import apps
from django.conf import settings
from rest_framework.test import APIClient

from config.celery import app
from dsar.audit.models import ActorKind, AuditEvent
from dsar.fanout.models import Action, DownstreamSystem, FanoutTask, TaskStatus
from dsar.staff import services as staff
from dsar.workflow.models import RightsRequest, Status
from tests.support.downstream import Downstream, _handler
from tests.support.signing import SECRET
from tests.support.subject import code_from_outbox
from tests.support.workers import until

SEEDS = [
    importlib.import_module(f"dsar.sla.migrations.{name}")
    for name in ("0005_seed_response_policies", "0007_seed_opt_out_policy")
]


@pytest.fixture
def policies():
    for seed in SEEDS:  # a transactional test elsewhere may have emptied the table
        seed.seed(apps, None)


@pytest.fixture
def second_peer():
    """Another real HTTP downstream on 127.0.0.1 (the mailing system)."""
    state = Downstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/dsar"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def published(monkeypatch):
    """Publish to the real Redis broker, for the real worker, instead of running in-process."""
    app.conf.task_always_eager  # noqa: B018 (loads the Django-namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def system(name, url, actions):
    return DownstreamSystem.objects.create(
        name=name, kind="http", actions=actions, timeout_seconds=5,
        config=json.dumps({"url": url, "secret": SECRET}),
    )  # fmt: skip


def file_and_verify(api, **fields):
    filed = api.post("/api/v1/requests/", fields, format="json")
    assert filed.status_code == 201, filed.json()
    pk = filed.json()["id"]
    code = code_from_outbox(pk)
    verified = api.post(f"/api/v1/requests/{pk}/verify/", {"code": code}, format="json")
    assert verified.status_code == 200, verified.json()
    return RightsRequest.objects.get(pk=pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("fresh_limits", "policies")
def test_an_opt_out_reaches_every_opt_out_system_without_an_account_check(
    downstream, second_peer, published, celery_worker
):
    downstream.answers = second_peer.answers = [(200, {"affected": 1})]
    system("crm", downstream.url, ["check", "delete", "opt_out"])
    system("mailer", second_peer.url, ["opt_out"])
    system("shop", downstream.url, ["check", "delete"])  # no opt_out: skipped, not asked
    worker = celery_worker()
    try:
        request = file_and_verify(
            APIClient(), type="marketing_opt_out", email="known@example.com",
            account_id="U-1001", jurisdiction="us-ca-ccpa",
        )  # fmt: skip
        until(
            lambda: RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED,
            90, "the opt-out to complete",
        )  # fmt: skip
    finally:
        worker.terminate()
        worker.wait()
    request.refresh_from_db()
    # Each opt-out system got one opt_out for the proven address, no account; nothing else.
    for peer in (downstream, second_peer):
        assert [m["action"] for m in peer.received] == ["opt_out"]
        assert peer.received[0]["subject"] == {
            "email": "known@example.com", "phone": "", "account_id": ""
        }  # fmt: skip
    tasks = FanoutTask.objects.filter(request=request)
    assert sorted(tasks.values_list("system__name", "action", "status", "last_error")) == [
        ("crm", Action.OPT_OUT, TaskStatus.DONE, ""),
        ("mailer", Action.OPT_OUT, TaskStatus.DONE, ""),
        ("shop", Action.OPT_OUT, TaskStatus.EXCLUDED,
         "skipped: opt_out is not among the system's actions"),
    ]  # fmt: skip
    assert not tasks.filter(action=Action.CHECK).exists()  # no account check
    started = AuditEvent.objects.get(
        request_id=request.pk, action="request.transition", to_status=Status.PROCESSING
    )
    assert started.actor_kind == ActorKind.SYSTEM  # nobody had to approve it
    # Its own deadline: 15 business days from receipt (11 CCR §7026(f)), and it was met.
    assert request.response_policy["length"] == 15
    assert request.response_policy["unit"] == "business_days"
    assert request.due_at > request.received_at + dt.timedelta(days=15)
    assert request.closed_at <= request.due_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_limits", "policies")
def test_a_consent_withdrawal_names_its_purposes_downstream(downstream, staff_user):
    downstream.answers = [(200, {"obligations": []}), (200, {"affected": 1})]
    system("crm", downstream.url, ["check", "restrict"])
    system("shop", downstream.url, ["check", "delete"])
    request = file_and_verify(
        APIClient(), type="consent_withdrawal", email="li@example.com",
        purposes=["profiling", "partner_sharing", "profiling"],
    )  # fmt: skip
    assert request.purposes == ["profiling", "partner_sharing"]
    staff.approve(request=request, user=staff_user("agent"))
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    [restrict] = [m for m in downstream.received if m["action"] == "restrict"]
    assert restrict["purposes"] == ["profiling", "partner_sharing"]
    assert restrict["subject"]["email"] == "li@example.com"
    assert not any(m["action"] == "delete" for m in downstream.received)


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_limits")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "consent_withdrawal"}, "Choose what you withdraw"),
        ({"type": "consent_withdrawal", "purposes": ["telepathy"]}, "not a valid choice"),
        ({"type": "deletion", "purposes": ["marketing"]}, "Only a consent withdrawal"),
    ],
)
def test_purposes_are_checked_with_field_messages(fields, message):
    answer = APIClient().post(
        "/api/v1/requests/", {"email": "a@example.com", "language": "en", **fields},
        format="json", HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert answer.status_code == 400
    assert message in json.dumps(answer.json()["error"]["fields"]["purposes"])
    assert not RightsRequest.objects.exists()


@pytest.mark.django_db
def test_the_portal_offers_both_new_rights_and_the_purposes(client):
    client.cookies["django_language"] = "en"
    home = client.get("/").content.decode()
    assert "/request/consent_withdrawal/" in home and "/request/marketing_opt_out/" in home
    form = client.get("/request/consent_withdrawal/").content.decode()
    assert 'type="checkbox" name="purposes" value="partner_sharing"' in form
    assert 'name="purposes"' not in client.get("/request/marketing_opt_out/").content.decode()
    client.cookies["django_language"] = "zh-hans"
    home = client.get("/").content.decode()
    assert "撤回我的同意" in home and "停止向我发送推广信息" in home
