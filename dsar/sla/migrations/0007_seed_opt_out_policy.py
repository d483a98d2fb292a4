"""CCPA opt-outs of sale/sharing: within 15 business days of receipt (11 CCR §7026(f))."""

from django.db import migrations

POLICIES = [
    {
        "jurisdiction": "us-ca-ccpa",
        "request_type": "marketing_opt_out",
        "length": 15,
        "unit": "business_days",
        "counting_rule": "ccpa",
        "start_event": "receipt",
        "source": "Cal. Code Regs. tit. 11 §7026(f): opt-outs within 15 business days",
    },
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
    dependencies = [("sla", "0006_policy_request_types")]

    operations = [migrations.RunPython(seed, unseed)]
