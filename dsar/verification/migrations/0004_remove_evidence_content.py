"""The evidence column emptied by the move into STORAGES["evidence"] goes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("verification", "0003_evidence_files_in_storage")]

    operations = [
        migrations.RemoveField(model_name="evidence", name="content"),
    ]
