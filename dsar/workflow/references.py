"""Human references: DSAR-<year>-<6 digits>, sequential per local calendar year."""

from django.db import connection

from dsar.workflow.models import ReferenceCounter


def next_reference(*, year: int) -> str:
    """Hand out the next reference of ``year``, safe under concurrent callers.

    One upsert statement increments the counter and returns the new value, so two
    transactions can never read the same number (the second waits on the first's row lock).
    Works on PostgreSQL and on SQLite ≥ 3.35.
    """
    table = connection.ops.quote_name(ReferenceCounter._meta.db_table)
    # Only the quoted table name from model metadata is interpolated; the year is a parameter.
    sql = (
        f"INSERT INTO {table} (year, last) VALUES (%s, 1) "  # noqa: S608
        f"ON CONFLICT (year) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [year])
        (number,) = cursor.fetchone()
    return f"DSAR-{year}-{number:06d}"
