"""A cheaper reset after each transactional test, to the state Django's flush leaves.

Django empties the database after a ``transaction=True`` test with ``flush``: a TRUNCATE of
every table (new files for each table and index: about 0.6 s on this machine), then
``post_migrate`` again to remake the content types, permissions and role groups it has just
thrown away (0.4 s). Most transactional tests write a few rows and never touch those tables.
So here the rows of every other table are deleted in one transaction (Django's foreign keys
on PostgreSQL are deferred, so the order does not matter) and the post_migrate tables are
kept while they hold exactly what post_migrate made. When a test changed one of them, or
asks for more (``available_apps``, serialized rollback, reset sequences), Django's own flush
runs, and what post_migrate then makes is remembered for the next test.
"""

from django.db import connections, transaction
from django.test import TransactionTestCase

from dsar import snapshots

# What the post_migrate receivers make: contenttypes, auth, and dsar.access's role groups.
MADE_BY_POST_MIGRATE = (
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
)
_django_fixture_teardown = TransactionTestCase._fixture_teardown
_after_flush: dict[str, str] = {}  # database alias → fingerprint of those tables after a flush


def _fingerprint(connection) -> str:
    """A digest of every row of the post_migrate tables."""
    digests = " || ".join(
        "(SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
        f"FROM {connection.ops.quote_name(table)} t)"
        for table in MADE_BY_POST_MIGRATE
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {digests}")
        return cursor.fetchone()[0]


def _untouched(connection) -> bool:
    return connection.vendor == "postgresql" and _after_flush.get(connection.alias) == _fingerprint(
        connection
    )


def _delete_rows(connection) -> None:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    deletes = [
        f"DELETE FROM {connection.ops.quote_name(table)}"
        for table in sorted(tables)
        if table not in MADE_BY_POST_MIGRATE
    ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("; ".join(deletes))
    drop_reference_sequences(connection)


def drop_reference_sequences(connection) -> None:
    """The years' reference sequences (``dsar.workflow.references``) go with the rows, as the
    counter rows they replace do: the next test's first request of a year is number 1."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'S' AND relname LIKE %s",
            ["workflow\\_reference\\_%"],
        )
        names = [row[0] for row in cursor.fetchall()]
        if names:
            cursor.execute("DROP SEQUENCE IF EXISTS " + ", ".join(f'"{n}"' for n in names))


def _fixture_teardown(self) -> None:
    try:
        _reset(self)
    finally:
        # The tables were emptied without their models' signals: every process's copies of
        # them (dsar.snapshots: branding, calendar overrides, response policies) are read again.
        snapshots.renew_all()


def _reset(self) -> None:
    aliases = self._databases_names(include_mirrors=False)
    plain = not (self.available_apps or self.serialized_rollback or self.reset_sequences)
    if plain and all(_untouched(connections[alias]) for alias in aliases):
        for alias in aliases:
            _delete_rows(connections[alias])
        return
    _django_fixture_teardown(self)  # the first transactional test of a run, or a changed table
    for alias in aliases:
        drop_reference_sequences(connections[alias])
        if connections[alias].vendor == "postgresql":
            _after_flush[alias] = _fingerprint(connections[alias])


def install() -> None:
    """Reset the database this way after every transactional test of the run."""
    TransactionTestCase._fixture_teardown = _fixture_teardown
