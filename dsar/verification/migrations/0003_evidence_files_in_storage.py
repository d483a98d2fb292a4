"""Identity evidence moves from the database into STORAGES["evidence"] (issue 20).

Each stored document is already one Fernet token, so it is written to the storage as it is
(encrypted); purged evidence has nothing to move. The reverse reads the files back. The
column goes in the next migration (its own transaction, after the rows are updated).
"""

from django.core.files.base import ContentFile
from django.db import migrations, models


def to_storage(apps, schema_editor):
    from dsar.verification import storage

    Evidence = apps.get_model("verification", "Evidence")
    kept = Evidence.objects.filter(purged_at__isnull=True).exclude(content=b"")
    for evidence in kept.iterator(chunk_size=100):
        name = storage.storage().save(
            storage.name_for(evidence.request_id, evidence.pk),
            ContentFile(bytes(evidence.content)),
        )
        Evidence.objects.filter(pk=evidence.pk).update(file=name, content=b"")


def to_database(apps, schema_editor):
    from dsar.verification import storage

    Evidence = apps.get_model("verification", "Evidence")
    for evidence in Evidence.objects.exclude(file="").iterator(chunk_size=100):
        with storage.storage().open(evidence.file, "rb") as handle:
            token = handle.read()
        Evidence.objects.filter(pk=evidence.pk).update(content=token, file="")
        storage.storage().delete(evidence.file)


class Migration(migrations.Migration):
    dependencies = [("verification", "0002_staff_read_back_codes")]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="file",
            field=models.CharField(blank=True, default="", editable=False, max_length=255),
        ),
        migrations.RunPython(to_storage, to_database),
    ]
