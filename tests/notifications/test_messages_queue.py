"""Messages to subjects travel on their own Celery queue (issue 21 item 5), so a code email
never waits behind fan-out work on the default queue: published there, and sent by a worker
that consumes only that queue."""

import pytest
import redis
from django.conf import settings

from config.celery import app
from dsar.notifications.models import EmailStatus, OutboundEmail
from dsar.portal.services import file_request
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
    assert {m.template for m in messages} == {"receipt", "code"}

    celery_worker(queues=settings.MESSAGES_QUEUE)  # this worker takes nothing else
    until(lambda: not messages.filter(status=EmailStatus.PENDING).exists(), 60, "the code email")
    assert {m.status for m in messages.all()} == {EmailStatus.SENT}


def test_every_outbox_task_is_routed_to_the_messages_queue():
    from dsar.notifications import tasks

    for task in (tasks.deliver_email, tasks.deliver_emails, tasks.redrive_outbox):
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
    stored = OutboundEmail.objects.filter(request_id=answer["id"])
    assert {m.template for m in stored} == {"receipt", "code"}  # committed with the request
    assert publishing.llen(settings.MESSAGES_QUEUE) == 0  # the answer went out first

    response.close()  # what the server does once the answer is written
    assert publishing.llen(settings.MESSAGES_QUEUE) == 1


def test_outside_a_web_request_the_messages_are_published_at_commit(publishing):
    file_request(type="deletion", email="li.lei@example.com", ip="192.0.2.1")
    assert publishing.llen(settings.MESSAGES_QUEUE) == 1
