"""References on PostgreSQL come from one sequence per year (``workflow_reference_<year>``),
made on first use by ``workflow_next_reference(year)``, so concurrent intakes no longer queue
on the year's counter row. The sequence of a year starts after that year's counter, so the
numbers handed out before go on without a repeat. SQLite keeps the counter row."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION workflow_next_reference(y integer) RETURNS bigint AS $$
DECLARE
    name text := 'workflow_reference_' || y;
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format(
                'CREATE SEQUENCE IF NOT EXISTS %%I START WITH %%s', name,
                (SELECT coalesce(max(last), 0) + 1 FROM workflow_referencecounter WHERE year = y)
            );
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;  -- another intake made it meanwhile
        END;
    END IF;
    RETURN nextval(name);
END
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=())  # "%%" is a literal "%" with params


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS workflow_next_reference(integer)")


class Migration(migrations.Migration):
    dependencies = [("workflow", "0007_translated_admin_names")]
    operations = [migrations.RunPython(create, drop)]
