"""Human references: DSAR-<year>-<6 digits>, sequential per local calendar year."""

from django.db import connection

from dsar.workflow.models import ReferenceCounter


def next_reference(*, year: int) -> str:
    """Hand out the next reference of ``year``, safe under concurrent callers.

    On PostgreSQL a sequence per year (``workflow_next_reference``, migration 0007) hands
    out the number without a lock held to the end of the caller's transaction, so concurrent
    intakes do not queue; a number taken by a transaction that rolls back is not reused (a
    gap). Elsewhere (SQLite, ``make run``) one upsert increments the year's counter row and
    returns the new value: the second of two transactions waits on the first's row lock.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT workflow_next_reference(%s)", [year])
        else:
            table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
            # Only the quoted table name from model metadata is interpolated; the year is a
            # parameter.
            cursor.execute(
                f"INSERT INTO {table} (year, last) VALUES (%s, 1) "  # noqa: S608
                f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
                [year],
            )
        (number,) = cursor.fetchone()
    return f"DSAR-{year}-{number:06d}"
