"""The total time a request waited for the subject, so metrics count only the running clock.

Filled from the audit trail: each move into ``awaiting_subject`` paired with the next move out
of it. A pause under way stays in ``paused_at`` and is added when it ends. Deadlines are left
as they are: each was already told to the subject (see docs/architecture.md, "The SLA clock").
"""

import datetime as dt

from django.db import migrations, models

AWAITING = "awaiting_subject"


def paused_totals(events):
    """{request_id: total} from (request_id, from_status, to_status, occurred_at), in order."""
    started, totals = {}, {}
    for request_id, frm, to, at in events:
        if frm == AWAITING and request_id in started:
            totals[request_id] = totals.get(request_id, dt.timedelta(0)) + (
                at - started.pop(request_id)
            )
        if to == AWAITING:
            started[request_id] = at
    return totals


def fill_from_audit(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    RightsRequest = apps.get_model("workflow", "RightsRequest")
    events = (
        AuditEvent.objects.filter(action="request.transition", request_id__isnull=False)
        .filter(models.Q(from_status=AWAITING) | models.Q(to_status=AWAITING))
        # In time order: events the audit sequencer has not placed yet have no ``seq``.
        .order_by("occurred_at", models.F("seq").asc(nulls_last=True), "pk")
        .values_list("request_id", "from_status", "to_status", "occurred_at")
    )
    for request_id, total in paused_totals(events.iterator()).items():
        RightsRequest.objects.filter(pk=request_id).update(paused_total=total)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0005_anonymised_at"),
        ("audit", "0002_chain_head"),
    ]

    operations = [
        migrations.AddField(
            model_name="rightsrequest",
            name="paused_total",
            field=models.DurationField(default=dt.timedelta(0), editable=False),
        ),
        migrations.RunPython(fill_from_audit, migrations.RunPython.noop),
    ]
