"""Export parts move from one encrypted JSON text to sealed chunk files in the export
storage; packages are sealed block by block (``block_size``) and count bytes served."""

import json

from django.db import migrations, models


def parts_to_files(apps, schema_editor):
    from dsar.exports import parts

    ExportPart = apps.get_model("exports", "ExportPart")
    for part in ExportPart.objects.all().iterator():
        prefix = parts.prefix_for(part.task_id, 0)
        writer = parts.PartWriter(prefix=prefix, excluded_fields=frozenset())
        writer.write(json.loads(part.rows or "[]"))
        manifest = writer.finish()
        ExportPart.objects.filter(pk=part.pk).update(prefix=prefix, row_count=manifest["rows"])


class Migration(migrations.Migration):
    dependencies = [("exports", "0003_export_review_and_redactions")]

    operations = [
        migrations.AddField(
            model_name="exportpart",
            name="prefix",
            field=models.CharField(default="", max_length=100),
        ),
        migrations.AddField(
            model_name="exportpart",
            name="row_count",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(parts_to_files, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="exportpart", name="rows"),
        migrations.AddField(
            model_name="package",
            name="block_size",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="package",
            name="bytes_served",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="package",
            name="size",
            field=models.PositiveBigIntegerField(),
        ),
    ]
