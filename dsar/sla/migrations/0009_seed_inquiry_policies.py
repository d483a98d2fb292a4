"""Inquiries and complaints under cn-pipl: answered within 30 days (the seeds' promise and
GB/T 35273-2020 §8.7), counted from verification like the other cn-pipl promises."""

from django.db import migrations

POLICIES = [
    {
        "jurisdiction": "cn-pipl",
        "request_type": request_type,
        "length": 30,
        "unit": "calendar_days",
        "counting_rule": "prc_civil_code",
        "start_event": "verification",
        "source": "Privacy policy: replies to questions and complaints within 30 days; "
        "GB/T 35273-2020 §8.7",
    }
    for request_type in ("inquiry", "complaint")
]


def seed(apps, schema_editor):
    ResponsePolicy = apps.get_model("sla", "ResponsePolicy")
    for row in POLICIES:
        key = {"jurisdiction": row["jurisdiction"], "request_type": row["request_type"]}
        ResponsePolicy.objects.get_or_create(**key, defaults=row)


def unseed(apps, schema_editor):
    ResponsePolicy = apps.get_model("sla", "ResponsePolicy")
    for row in POLICIES:
        ResponsePolicy.objects.filter(
            jurisdiction=row["jurisdiction"], request_type=row["request_type"]
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0008_policy_inquiry_types")]

    operations = [migrations.RunPython(seed, unseed)]
