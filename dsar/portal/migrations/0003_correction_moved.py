# The Correction model moved to the corrections app; its table stays where it is.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0002_correction_decisions"),
        ("corrections", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Correction")],
            database_operations=[],
        ),
    ]
