# The Correction model moved here from the portal app; its table (portal_correction) stays.

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

import dsar.crypto.fields


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("portal", "0002_correction_decisions"),
        ("workflow", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Correction",
                    fields=[
                        ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ("position", models.PositiveSmallIntegerField()),
                        ("field", dsar.crypto.fields.EncryptedTextField()),
                        ("current_value", dsar.crypto.fields.EncryptedTextField(blank=True)),
                        ("proposed_value", dsar.crypto.fields.EncryptedTextField()),
                        ("decision", models.CharField(blank=True, choices=[("accepted", "Accepted"), ("refused", "Refused")], max_length=8)),
                        ("target_field", models.CharField(blank=True, max_length=64)),
                        ("final_value", dsar.crypto.fields.EncryptedTextField(blank=True)),
                        ("reason", dsar.crypto.fields.EncryptedTextField(blank=True)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        ("decided_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("request", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="corrections", to="workflow.rightsrequest")),
                    ],
                    options={"db_table": "portal_correction", "ordering": ["request", "position"]},
                ),
            ],
            database_operations=[],
        ),
    ]
