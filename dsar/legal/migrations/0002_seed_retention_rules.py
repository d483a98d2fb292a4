"""Seed the statutory retention table with the two rules the product ships with.

Both can be edited or switched off in the admin; a platform keeps only the rules that apply
to it.
"""

from django.db import migrations

RULES = [
    {
        "category": "transaction_records",
        "name": "Transaction records (goods, services and transaction information)",
        "legal_basis": "E-Commerce Law of the PRC, Art. 31",
        "period_months": 36,
        "start_event": "transaction_completed",
    },
    {
        "category": "ride_hailing_records",
        "name": "Ride-hailing personal information and business data (orders, trips)",
        "legal_basis": "Interim Measures for Online Ride-Hailing Services, Art. 27",
        "period_months": 24,
        "start_event": "service_completed",
    },
]


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("legal", "RetentionRule")
    for rule in RULES:
        RetentionRule.objects.update_or_create(category=rule["category"], defaults=rule)


def unseed(apps, schema_editor):
    RetentionRule = apps.get_model("legal", "RetentionRule")
    RetentionRule.objects.filter(category__in=[r["category"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("legal", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
