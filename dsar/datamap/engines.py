"""One way into a downstream database, whichever it is: PostgreSQL, MySQL/MariaDB or SQLite.

A system's DSN is written the way its operators know it (``postgres://…``,
``mysql://…``/``mariadb://…``, ``sqlite:///path``); :func:`engine_for` turns it into a
SQLAlchemy engine with the right driver (psycopg 3, PyMySQL, the standard ``sqlite3``) and
timeouts, and :func:`transaction` opens one transaction on it, read-only when asked, so the
connector, discovery and the generated queries share one code path.

Where a DSN may point is not decided here: ``dsar.fanout.destinations`` checks it first.
"""

import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

POSTGRES, MYSQL, SQLITE = "postgresql", "mysql", "sqlite"
_SCHEMES = {
    "postgres": POSTGRES,
    "postgresql": POSTGRES,
    "mysql": MYSQL,
    "mariadb": MYSQL,
    "sqlite": SQLITE,
}
_DRIVERS = {POSTGRES: "postgresql+psycopg", MYSQL: "mysql+pymysql"}
# MySQL error numbers that mean "the server is not there right now": retried, not failed.
_MYSQL_UNAVAILABLE = {1040, 1053, 1205, 1213, 2002, 2003, 2005, 2006, 2013, 2055}


class _Quiet(logging.LoggerAdapter):
    """An engine's logger that lets only warnings through: SQLAlchemy writes statements'
    parameters and the rows read at INFO and DEBUG, and those are subjects' data. Whatever
    the log level configured, our engines never log them."""

    def isEnabledFor(self, level):  # noqa: N802 (logging's naming)
        return level >= logging.WARNING and self.logger.isEnabledFor(level)


class UnknownDatabase(ValueError):
    """A DSN whose scheme names no database this product speaks."""


def family(dsn: str) -> str:
    """``postgresql``, ``mysql`` or ``sqlite`` for a DSN; psycopg key=value strings count as
    PostgreSQL. Raises ``UnknownDatabase`` for anything else."""
    scheme = dsn.split("://", 1)[0].split("+", 1)[0].lower() if "://" in dsn else "postgresql"
    if scheme not in _SCHEMES:
        raise UnknownDatabase(f"No database kind is known for {scheme}://")
    return _SCHEMES[scheme]


def url_for(dsn: str) -> URL:
    """The SQLAlchemy URL of a ``postgres://`` or ``mysql://`` DSN (drivers filled in)."""
    kind = family(dsn)
    if "://" not in dsn:  # a psycopg key=value string
        return make_url(f"{_DRIVERS[POSTGRES]}://").set(query={"conninfo": dsn})
    url = make_url(dsn)
    return url.set(drivername=_DRIVERS[kind]) if kind != SQLITE else url


def sqlite_path(dsn: str) -> Path:
    return Path(dsn.removeprefix("sqlite:///")).resolve()


def engine_for(dsn: str, *, timeout: int = 10) -> sa.Engine:
    """An engine for one call: no pool (a worker talks to many systems, rarely), the connect
    and read timeouts of the system, and for SQLite an existing file opened read-write with
    no other file attachable. Its statements' parameters and rows are never logged."""
    engine = _engine_for(dsn, timeout=timeout)
    engine.logger = _Quiet(engine.logger, {})
    return engine


def _engine_for(dsn: str, *, timeout: int) -> sa.Engine:
    """The engine, before its logger is quieted."""
    kind = family(dsn)
    if kind == SQLITE:
        uri = sqlite_path(dsn).as_uri() + "?mode=rw"

        def connect():
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            return conn

        return sa.create_engine(
            "sqlite://", creator=connect, poolclass=NullPool, hide_parameters=True
        )
    url = url_for(dsn)
    if kind == POSTGRES:
        conninfo = url.query.get("conninfo")
        if conninfo:  # key=value form: psycopg reads it as it is
            return sa.create_engine(
                f"{_DRIVERS[POSTGRES]}://",
                poolclass=NullPool,
                hide_parameters=True,
                connect_args={"conninfo": conninfo, "connect_timeout": timeout},
            )
        args = {"connect_timeout": timeout}
    else:
        args = {"connect_timeout": timeout, "read_timeout": max(timeout, 30), "charset": "utf8mb4"}
    return sa.create_engine(url, poolclass=NullPool, hide_parameters=True, connect_args=args)


@contextmanager
def transaction(engine: sa.Engine, *, read_only: bool = False):
    """One transaction on ``engine``, committed when the block ends without an error.

    ``read_only`` makes the database refuse writes itself (PostgreSQL and MySQL ``READ
    ONLY`` transactions, SQLite ``query_only``), so a statement that slipped past the shape
    rules still cannot change a row."""
    dialect = engine.dialect.name
    with engine.connect() as conn:  # no pool: a session setting ends with the connection
        if read_only and dialect in (SQLITE, MYSQL):
            conn.exec_driver_sql(
                "PRAGMA query_only = ON"
                if dialect == SQLITE
                else "SET SESSION TRANSACTION READ ONLY"
            )
            conn.commit()  # before the transaction below begins
        with conn.begin():
            if read_only and dialect == POSTGRES:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


@contextmanager
def one_connection(engine: sa.Engine):
    """Yield ``begin()``, which opens a transaction on one connection kept for the whole
    block: an erasure's chunks each commit on their own without connecting again."""
    with engine.connect() as conn:

        @contextmanager
        def begin():
            with conn.begin():
                yield conn

        yield begin


def unavailable(error: exc.DBAPIError) -> bool:
    """True when ``error`` says the database is unreachable or busy (retry later) rather
    than that it refused the statement (fail the task)."""
    if error.connection_invalidated:
        return True
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return "locked" in str(original) or "unable to open" in str(original)
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL: (errno, message)
        return args[0] in _MYSQL_UNAVAILABLE
    return isinstance(error, exc.OperationalError)
