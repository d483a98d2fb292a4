"""One interface for every kind: a new kind is one class and one line in ``KINDS``."""

import pytest
from django.core.exceptions import ValidationError

from dsar.audit.models import ActorKind
from dsar.audit.services import Actor
from dsar.fanout import registry
from dsar.fanout.connectors import DONE, KINDS, Connector, Outcome
from dsar.fanout.models import FanoutTask, TaskStatus
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS

pytestmark = pytest.mark.django_db(transaction=True)


class TicketQueue(Connector):
    """A kind that files a ticket for a person to act on (the test's new module)."""

    kind, label, actions = "ticket", "Ticket queue", frozenset({"delete"})
    received: list = []

    def config_errors(self, config):
        return [] if config.get("queue") else ['Give "queue", where tickets go.']

    def run(self, call):
        self.received.append((call.action, call.keys.email, call.idempotency_key))
        return Outcome(DONE, data={"affected": 1})


@pytest.fixture
def ticket_kind(monkeypatch):
    connector = TicketQueue()
    connector.received = []
    monkeypatch.setitem(KINDS, "ticket", connector)  # the one registry line
    return connector


def test_a_new_kind_is_validated_registered_and_dispatched(ticket_kind, staff_user):
    admin = staff_user("admin")
    with pytest.raises(ValidationError) as refused:
        registry.save_system(user=admin, name="tickets", kind="ticket", actions=["delete"],
                             config={})  # fmt: skip
    assert "config" in refused.value.message_dict
    with pytest.raises(ValidationError) as cannot:
        registry.save_system(user=admin, name="tickets", kind="ticket", actions=["export"],
                             config={"queue": "privacy"})  # fmt: skip
    assert "actions" in cannot.value.message_dict
    registry.save_system(user=admin, name="tickets", kind="ticket", actions=["delete"],
                         config={"queue": "privacy"})  # fmt: skip

    request = create_request(type="deletion", email="li.lei@example.com")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    task = FanoutTask.objects.get(request=request)
    request.refresh_from_db()
    assert (task.status, request.status) == (TaskStatus.DONE, Status.COMPLETED)
    assert ticket_kind.received == [("delete", "li.lei@example.com", str(task.idempotency_key))]


def test_an_unknown_kind_is_refused_with_a_field_message(staff_user):
    with pytest.raises(ValidationError) as refused:
        registry.save_system(user=staff_user("admin"), name="x", kind="fax", actions=["delete"],
                             config={})  # fmt: skip
    assert "kind" in refused.value.message_dict
