"""The response policies the product ships with (issue 22). cn-pipl's general promise (15 days
from verification, counted the PRC way) is the DSAR_SLA_* settings' default, so it has no row."""

from django.db import migrations

GDPR_NOTICE = (
    "Under Art. 12(3) GDPR we may take up to two further months where a request is complex or "
    "we have many requests; we tell you within one month of receiving it, with the reasons."
)
CCPA_NOTICE = (
    "Under Cal. Code Regs. tit. 11 §7021(b) we may take up to 45 more calendar days; we tell "
    "you within the first 45 days, with the reasons."
)

POLICIES = [
    {
        "jurisdiction": "cn-pipl",
        "request_type": "cancellation",
        "length": 15,
        "unit": "cn_workdays",
        "counting_rule": "prc_civil_code",
        "start_event": "verification",
        "source": "GB/T 35273-2020 §8.5: manual cancellation within 15 working days",
    },
    {
        "jurisdiction": "eu-gdpr",
        "request_type": "",
        "length": 1,
        "unit": "months",
        "counting_rule": "eu_1182_71",
        "start_event": "receipt",
        "extension_length": 2,
        "extension_unit": "months",
        "extension_notice": GDPR_NOTICE,
        "source": "GDPR Art. 12(3); periods counted under Regulation 1182/71 Art. 3",
    },
    {
        "jurisdiction": "us-ca-ccpa",
        "request_type": "",
        "length": 45,
        "unit": "calendar_days",
        "counting_rule": "ccpa",
        "start_event": "receipt",
        "ack_length": 10,
        "ack_unit": "business_days",
        "extension_length": 45,
        "extension_unit": "calendar_days",
        "extension_notice": CCPA_NOTICE,
        "source": "Cal. Civ. Code §1798.130(a)(2); Cal. Code Regs. tit. 11 §7021",
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
    dependencies = [("sla", "0004_response_policies")]

    operations = [migrations.RunPython(seed, unseed)]
