"""The ``opendsr`` kind against a real OpenDSR processor (``tests/fanout/opendsr_processor.py``):
registration pins its certificate, requests go out as the specification says, signed status
callbacks and polls move the task, and a callback the processor did not sign changes nothing."""

import datetime as dt
import hashlib
import json

import pytest
import requests as http
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.fanout import reconciler, registry
from dsar.fanout.connectors.opendsr import ACCESS_NOTE
from dsar.fanout.models import DownstreamSystem, FanoutTask, TaskStatus
from dsar.workflow.models import RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.fanout import opendsr_processor
from tests.fanout.test_engine import approved_deletion
from tests.security.test_callbacks import snapshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processor():
    processor, server = opendsr_processor.serve()
    yield processor
    server.shutdown()


@pytest.fixture
def register(processor, staff_user):
    """register(**config) → an opendsr system registered by one admin, approved by another."""
    proposer, approver = staff_user("admin", "admin-1"), staff_user("admin", "admin-2")

    def make(actions=("delete",), **config):
        system = registry.save_system(
            user=proposer, name="analytics", kind="opendsr", actions=list(actions),
            config={"url": processor.url, **config}, timeout_seconds=2,
        )  # fmt: skip
        return registry.approve_change(user=approver, system=system)

    return make


@pytest.fixture
def callbacks_to(live_server, settings):
    """Our callback URLs point at a live server on the test database."""
    settings.DSAR_PUBLIC_BASE_URL = live_server.url
    return live_server.url


def approved_access(email="li.lei@example.com"):
    request = create_request(type="access", email=email)
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    return request


def only_task() -> FanoutTask:
    return FanoutTask.objects.select_related("system").get()


def test_registration_pins_the_processors_certificate_for_a_second_admin(processor, api_as):
    answer = api_as("admin").post(
        "/api/v1/staff/systems/",
        {"name": "analytics", "kind": "opendsr", "actions": ["delete"],
         "config": {"url": processor.url}},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 201, answer.content
    system = DownstreamSystem.objects.get()
    assert system.approved_at is None  # not called until another admin approves
    assert system.settings["certificate_pem"] == processor.certificate_pem
    assert system.settings["identity_types"] == ["email", "controller_customer_id"]
    fingerprint = opendsr_processor.fingerprint(processor.certificate_pem)
    assert fingerprint in answer.json()["pending_change"]["destination"]  # what the approver sees
    event = AuditEvent.objects.filter(action="fanout.system_registered").get()
    assert fingerprint in event.payload["destination"]


def test_a_processor_whose_discovery_cannot_be_read_is_refused(processor, staff_user):
    with pytest.raises(ValidationError) as refused:
        registry.save_system(
            user=staff_user("admin"), name="analytics", kind="opendsr", actions=["delete"],
            config={"url": processor.url + "/missing"},
        )  # fmt: skip
    assert "Could not pin the processor's certificate" in refused.value.message_dict["config"][0]
    assert not DownstreamSystem.objects.exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"url": "ftp://127.0.0.1/v1"}, 'Give "url"'),
        ({"url": "https://processor.example/v1"}, "DSAR_DOWNSTREAM_ALLOWED_HOSTS"),
        ({"identity_format": "md5"}, '"identity_format"'),
        ({"certificate_pem": "not a certificate"}, '"certificate_pem"'),
        ({"identity_types": ["phone_number"]}, "does not take phone_number"),
    ],
)
def test_a_processor_that_could_never_run_is_refused_with_a_message(processor, config, message):
    with pytest.raises(ValidationError) as refused:
        registry.validate(
            {"kind": "opendsr", "actions": ["delete"], "config": {"url": processor.url, **config}}
        )
    assert message in " ".join(refused.value.message_dict["config"])


def test_an_expired_certificate_cannot_be_pinned(processor):
    _, expired = opendsr_processor.issue_certificate(days=-1)
    config = {"url": processor.url, "certificate_pem": expired}
    with pytest.raises(ValidationError) as refused:
        registry.validate({"kind": "opendsr", "actions": ["delete"], "config": config})
    assert "has expired" in refused.value.message_dict["config"][0]


def test_an_erasure_follows_pending_in_progress_completed_through_signed_callbacks(
    processor, register, callbacks_to
):
    register()
    request = approved_deletion()
    task = only_task()
    assert task.status == TaskStatus.WAITING
    sent = processor.received[0]
    assert sent["subject_request_id"] == str(task.idempotency_key)
    assert sent["subject_request_type"] == "erasure"
    assert sent["subject_identities"] == [
        {"identity_type": "email", "identity_format": "raw", "identity_value": "li.lei@example.com"}
    ]
    assert sent["status_callback_urls"] == [f"{callbacks_to}/api/v1/callbacks/{task.pk}/opendsr/"]
    request_id = sent["subject_request_id"]

    for status in ("pending", "in_progress"):
        assert processor.advance(request_id, status) == [200]
        task.refresh_from_db()
        assert task.status == TaskStatus.WAITING
        assert task.last_error.startswith(f"processor: {status}, expected by ")
    progress = AuditEvent.objects.filter(action="fanout.progress").in_order()
    assert [e.payload["progress"].split(",")[0] for e in progress] == [
        "processor: pending", "processor: in_progress",
    ]  # fmt: skip
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING

    assert processor.advance(request_id, "completed") == [200]
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED
    assert processor.advance(request_id, "completed") == [409]  # a replay changes nothing


@pytest.mark.parametrize("forgery", ["another_key", "altered", "no_signature", "other_domain"])
def test_a_callback_the_processor_did_not_sign_changes_nothing(
    processor, register, callbacks_to, forgery
):
    register()
    approved_deletion()
    task = only_task()
    before = snapshot(task)
    url = processor.received[0]["status_callback_urls"][0]
    body = {**processor.status_of(str(task.idempotency_key)), "request_status": "completed",
            "status_callback_url": url}  # fmt: skip
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-OpenGDPR-Processor-Domain": opendsr_processor.DOMAIN,
        "X-OpenGDPR-Signature": opendsr_processor.sign(processor.key, raw),
    }
    if forgery == "another_key":
        other_key, _ = opendsr_processor.issue_certificate()
        headers["X-OpenGDPR-Signature"] = opendsr_processor.sign(other_key, raw)
    elif forgery == "altered":
        raw = raw.replace(b'"completed"', b'"cancelled"')
    elif forgery == "no_signature":
        del headers["X-OpenGDPR-Signature"]
    else:
        headers["X-OpenGDPR-Processor-Domain"] = "attacker.example"
    assert http.post(url, data=raw, headers=headers, timeout=10).status_code == 403
    assert snapshot(task) == before


def test_a_signed_status_for_another_request_or_address_is_refused(
    processor, register, callbacks_to, client
):
    register()
    approved_deletion()
    task = only_task()
    before = snapshot(task)
    url = processor.received[0]["status_callback_urls"][0]
    good = {**processor.status_of(str(task.idempotency_key)), "status_callback_url": url}
    for body, expected in (
        ({**good, "subject_request_id": opendsr_processor.new_request_id()}, 409),
        ({**good, "status_callback_url": "https://elsewhere.example/cb"}, 409),
        ({**good, "request_status": "distributed"}, 400),
        ("not json", 400),
    ):
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers = {"X-OpenGDPR-Processor-Domain": opendsr_processor.DOMAIN,
                   "X-OpenGDPR-Signature": opendsr_processor.sign(processor.key, raw)}  # fmt: skip
        assert http.post(url, data=raw, headers=headers, timeout=10).status_code == expected
    assert snapshot(task) == before
    assert client.post(f"/api/v1/callbacks/{task.pk}/", b"{}", content_type="application/json")\
        .status_code == 401  # the http kind's endpoint takes no OpenDSR task  # fmt: skip


def test_a_cancelled_request_fails_the_task_with_the_reason(processor, register, callbacks_to):
    register()
    request = approved_deletion()
    assert processor.advance(processor.received[0]["subject_request_id"], "cancelled") == [200]
    task = only_task()
    assert (task.status, task.last_error) == (
        TaskStatus.FAILED, "the processor cancelled the request",
    )  # fmt: skip
    assert RightsRequest.objects.get(pk=request.pk).status == Status.PROCESSING  # staff decide


def test_an_access_request_is_done_with_no_rows_and_says_so_to_staff(
    processor, register, callbacks_to, client, staff_user
):
    register(actions=("export",), identity_format="sha256")
    request = approved_access()
    sent = processor.received[0]
    assert sent["subject_request_type"] == "access"
    digest = hashlib.sha256(b"li.lei@example.com").hexdigest()
    assert sent["subject_identities"] == [
        {"identity_type": "email", "identity_format": "sha256", "identity_value": digest}
    ]
    assert processor.advance(sent["subject_request_id"], "completed") == [200]
    task = only_task()
    assert (task.status, task.result, task.last_error) == (
        TaskStatus.DONE, {"rows": 0}, ACCESS_NOTE,
    )  # fmt: skip
    client.force_login(staff_user("agent"))
    assert ACCESS_NOTE in client.get(f"/staff/requests/{request.pk}/").content.decode()


def test_without_callbacks_the_reconciler_polls_the_processor(processor, register):
    register()  # our callback URL answers nobody: the processor's callbacks never arrive
    start = timezone.now()
    with time_machine.travel(start, tick=True) as clock:
        request = approved_deletion()
        request_id = processor.received[0]["subject_request_id"]
        processor.requests[request_id]["request_status"] = "in_progress"
        clock.move_to(start + dt.timedelta(hours=25))
        reconciler.reconcile()
        task = only_task()
        assert (task.status, task.attempts) == (TaskStatus.WAITING, 1)
        assert task.last_error.startswith("processor: in_progress")
        processor.requests[request_id]["request_status"] = "completed"
        clock.move_to(start + dt.timedelta(hours=50))
        reconciler.reconcile()
    assert only_task().status == TaskStatus.DONE
    assert RightsRequest.objects.get(pk=request.pk).status == Status.COMPLETED
    assert len(processor.received) == 1  # asked, never sent again


def test_a_processor_that_lost_the_request_is_sent_it_again_with_the_same_id(processor, register):
    register()
    start = timezone.now()
    with time_machine.travel(start, tick=True) as clock:
        approved_deletion()
        request_id = processor.received[0]["subject_request_id"]
        del processor.requests[request_id]  # the processor lost it
        clock.move_to(start + dt.timedelta(hours=25))
        reconciler.reconcile()  # polled: 404, so due again after its backoff
        clock.move_to(start + dt.timedelta(hours=26))
        reconciler.reconcile()
    task = only_task()
    assert (task.status, task.attempts) == (TaskStatus.WAITING, 2)
    assert [b["subject_request_id"] for b in processor.received] == [request_id] * 2


def test_an_unsigned_receipt_is_not_taken_as_accepted(processor, register):
    processor.sign_receipts = False
    register()
    approved_deletion()
    task = only_task()
    assert task.status == TaskStatus.FAILED
    assert task.last_error.startswith("receipt not signed by the pinned certificate")


def test_a_request_type_the_processor_does_not_take_fails_with_its_words(processor, register):
    processor.supported_types = ["erasure"]
    register(actions=("export",))
    approved_access()
    task = only_task()
    assert task.status == TaskStatus.FAILED
    assert "subject_request_type is not supported" in task.last_error
    assert DownstreamSystem.objects.get().kind == "opendsr"
