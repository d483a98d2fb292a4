"""Messages to subjects travel on their own Celery queue (issue 21 item 5), so a code email
never waits behind fan-out work on the default queue: published there, and sent by a worker
that consumes only that queue. An intake rings its receipts' doorbell
(``dsar.verification.receipts``); the one that finds it silent publishes the drain, and the
worker writes every pending receipt and code and sends them."""

import json

import pytest
import redis
from django.conf import settings

from config.celery import app
from dsar.notifications.models import EmailStatus, OutboundEmail
from dsar.portal.services import file_request
from dsar.workflow.models import RightsRequest
from tests.support.workers import until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
    pytest.mark.usefixtures("fresh_limits"),
]


@pytest.fixture
def publishing(monkeypatch):
    """This process publishes to the suite's Redis instead of running tasks in-process."""
    app.conf.task_always_eager  # noqa: B018 (loads the namespaced configuration)
    monkeypatch.setattr(app.conf, "CELERY_TASK_ALWAYS_EAGER", False)
    queues = redis.Redis.from_url(settings.REDIS_URL)
    queues.delete("celery", settings.MESSAGES_QUEUE)
    yield queues
    queues.delete("celery", settings.MESSAGES_QUEUE)


def test_the_code_email_goes_to_the_messages_queue_and_its_worker_sends_it(
    publishing, celery_worker
):
    request = file_request(type="deletion", email="li.lei@example.com", ip="192.0.2.1")

    assert publishing.llen(settings.MESSAGES_QUEUE) == 1  # the receipt and the code, together
    assert publishing.llen("celery") == 0
    messages = OutboundEmail.objects.filter(request_id=request.pk)
    assert not messages.exists()  # the worker writes them

    celery_worker(queues=settings.MESSAGES_QUEUE)  # this worker takes nothing else
    until(lambda: messages.filter(status=EmailStatus.SENT).count() == 2, 60, "the code email")
    assert {m.template for m in messages.all()} == {"receipt", "code"}
    assert not RightsRequest.objects.get(pk=request.pk).receipt_pending
    assert publishing.llen("celery") == 0


def test_every_outbox_task_is_routed_to_the_messages_queue():
    from dsar.notifications import tasks
    from dsar.verification import tasks as verification

    for task in (
        tasks.deliver_email, tasks.deliver_emails, tasks.redrive_outbox,
        verification.send_receipts, verification.send_receipt, verification.redrive_receipts,
    ):  # fmt: skip
        assert app.amqp.router.route({}, task.name)["queue"].name == settings.MESSAGES_QUEUE


def test_an_intakes_messages_are_published_once_its_answer_has_been_sent(publishing):
    """The answer does not wait for the broker: the rows are committed before the answer,
    their message goes out when the server closes the response (after writing it)."""
    import io
    import json

    from django.core.handlers.wsgi import WSGIHandler

    body = json.dumps({"type": "deletion", "email": "han.meimei@example.com"}).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/requests/", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "REMOTE_ADDR": "192.0.2.7",
    }  # fmt: skip
    started = []
    response = WSGIHandler()(environ, lambda status, headers: started.append(status))
    answer = json.loads(b"".join(response))
    assert started == ["201 Created"]
    # The request is committed, waiting for its receipt; the answer went out first.
    assert RightsRequest.objects.get(pk=answer["id"]).receipt_pending
    assert publishing.llen(settings.MESSAGES_QUEUE) == 0

    response.close()  # what the server does once the answer is written
    assert publishing.llen(settings.MESSAGES_QUEUE) == 1


def test_outside_a_web_request_the_messages_are_published_at_commit(publishing):
    file_request(type="deletion", email="li.lei@example.com", ip="192.0.2.1")
    assert publishing.llen(settings.MESSAGES_QUEUE) == 1


def test_intakes_before_the_drain_ring_once_and_the_drain_sends_every_receipt(publishing):
    """Intakes while a drain is on its way publish nothing more; the drain clears the bell
    before it reads, so the next intake publishes a drain of its own."""
    from dsar.verification.receipts import send_receipts

    filed = [
        file_request(type="deletion", email=f"s{i}@example.com", ip="192.0.2.1") for i in range(3)
    ]
    assert drains(publishing) == 1  # one drain for the three

    assert send_receipts() == 3  # what the worker runs
    for request in filed:
        templates = OutboundEmail.objects.filter(request_id=request.pk).values_list(
            "template", flat=True
        )
        assert sorted(templates) == ["code", "receipt"]
    assert not RightsRequest.objects.filter(receipt_pending=True).exists()

    file_request(type="deletion", email="late@example.com", ip="192.0.2.1")
    assert drains(publishing) == 2  # the bell was silent again


def drains(queues) -> int:
    """The drains of receipts waiting in the messages queue (the outbox's sends left aside)."""
    from dsar.verification.receipts import SEND_TASK

    waiting = [json.loads(raw) for raw in queues.lrange(settings.MESSAGES_QUEUE, 0, -1)]
    return sum(message["headers"]["task"] == SEND_TASK for message in waiting)
