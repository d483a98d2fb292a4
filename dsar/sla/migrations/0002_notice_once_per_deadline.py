from django.db import migrations, models


def key_notices_by_deadline(apps, schema_editor):
    """Rows from the earlier per-due_at key become one per (request, kind, deadline).

    A notice sent after the request's extension belongs to the extended deadline; of any
    further duplicates (pauses re-warned under the old key) the first is kept. They are only
    claims: the sweep has already advanced past every deadline they name.
    """
    notice = apps.get_model("sla", "SlaNotice")
    seen = set()
    extra, extended = [], []
    rows = notice.objects.order_by("sent_at", "pk").values_list(
        "pk", "request_id", "kind", "sent_at", "request__extended_at"
    )
    for pk, request_id, kind, sent_at, extended_at in rows:
        after = extended_at is not None and sent_at >= extended_at
        key = (request_id, kind, after)
        if key in seen:
            extra.append(pk)
        elif after:
            extended.append(pk)
        seen.add(key)
    notice.objects.filter(pk__in=extra).delete()
    notice.objects.filter(pk__in=extended).update(after_extension=True)


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="slanotice",
            name="sla_notice_once",
        ),
        migrations.AddField(
            model_name="slanotice",
            name="after_extension",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="slanotice",
            name="due_at",
            field=models.DateTimeField(
                help_text="The deadline as it stood when the notice was sent."
            ),
        ),
        migrations.RunPython(key_notices_by_deadline, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="slanotice",
            constraint=models.UniqueConstraint(
                fields=("request", "kind", "after_extension"),
                name="sla_notice_once_per_deadline",
            ),
        ),
    ]
