import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from dsar.audit.models import AuditEvent
from dsar.sla import services
from dsar.sla.services import ExtensionRefused
from dsar.workflow.models import RightsRequest, Status

VERIFIED = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 Beijing → due end of 17 March


@pytest.fixture
def verified(make_request):
    with time_machine.travel(VERIFIED, tick=False):
        request = make_request(status=Status.IN_REVIEW)
    assert request.due_at == dt.datetime(2026, 3, 17, 16, tzinfo=dt.UTC)
    return request


@pytest.mark.django_db(transaction=True)
def test_extension_before_the_deadline_moves_it_and_tells_the_subject(verified, staff_user):
    mail.outbox.clear()
    with time_machine.travel(VERIFIED + dt.timedelta(days=5), tick=False):
        services.extend(request=verified, user=staff_user("agent"), days=30, reason="Two systems")
    # Last day 17 March + 30 days = Thu 16 April, a working day.
    assert verified.due_at == dt.datetime(2026, 4, 16, 16, tzinfo=dt.UTC)
    assert verified.extension_reason == "Two systems"
    assert AuditEvent.objects.filter(action="sla.extended").count() == 1
    [email] = [m for m in mail.outbox if m.to == [verified.email]]
    assert "2026年4月16日 24:00（北京时间，UTC+8）" in email.body and "Two systems" in email.body


@pytest.mark.django_db
def test_extension_rolls_off_a_holiday(verified, staff_user, settings):
    settings.DSAR_SLA_MAX_EXTENSION_DAYS = 45
    with time_machine.travel(VERIFIED, tick=False):
        # 17 March + 45 days = Fri 1 May, Labour Day: rolls to Wed 6 May.
        services.extend(request=verified, user=staff_user("agent"), days=45, reason="r")
    assert verified.due_at == dt.datetime(2026, 5, 6, 16, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_extension_after_the_deadline_is_refused_with_409(verified, api_as):
    with time_machine.travel(dt.datetime(2026, 3, 17, 16, 0, 1, tzinfo=dt.UTC), tick=False):
        response = api_as("agent").post(
            f"/api/v1/staff/requests/{verified.pk}/extend/",
            {"days": 5, "reason": "late"},
            format="json",
        )
    assert response.status_code == 409
    assert "passed" in response.json()["error"]["message"]
    assert RightsRequest.objects.get(pk=verified.pk).extended_at is None


@pytest.mark.django_db
def test_only_one_extension(verified, staff_user):
    agent = staff_user("agent")
    with time_machine.travel(VERIFIED, tick=False):
        services.extend(request=verified, user=agent, days=3, reason="r")
        due = verified.due_at
        with pytest.raises(ExtensionRefused, match="already extended"):
            services.extend(request=verified, user=agent, days=3, reason="r")
    assert RightsRequest.objects.get(pk=verified.pk).due_at == due


@pytest.mark.django_db
@pytest.mark.parametrize(("days", "reason", "field"), [(0, "r", "days"), (31, "r", "days"),
                                                      (5, "  ", "reason")])  # fmt: skip
def test_bad_extension_input_changes_nothing(verified, staff_user, days, reason, field):
    with time_machine.travel(VERIFIED, tick=False), pytest.raises(ValidationError) as err:
        services.extend(request=verified, user=staff_user("agent"), days=days, reason=reason)
    assert field in err.value.message_dict
    assert RightsRequest.objects.get(pk=verified.pk).due_at == verified.due_at


@pytest.mark.django_db
def test_an_admin_without_a_case_role_cannot_extend(verified, staff_user):
    with time_machine.travel(VERIFIED, tick=False), pytest.raises(PermissionDenied):
        services.extend(request=verified, user=staff_user("admin"), days=3, reason="r")


@pytest.mark.django_db
def test_a_request_paused_before_its_deadline_can_still_be_extended(verified, staff_user):
    from dsar.audit.services import Actor
    from dsar.workflow.transitions import transition

    agent = staff_user("agent")
    with time_machine.travel(VERIFIED + dt.timedelta(days=10), tick=False):
        transition(verified, to=Status.AWAITING_SUBJECT, actor=Actor.staff(agent))
    # The nominal deadline has passed, but the clock stopped five days before it.
    with time_machine.travel(VERIFIED + dt.timedelta(days=20), tick=False):
        services.extend(request=verified, user=agent, days=5, reason="Waiting on a system")
    assert verified.extended_at is not None
