"""Where a downstream system may point, and what its SQL may be.

The registry is an admin's tool, and an admin must not be able to use it to step outside their
lane: a DSN aimed at the product's own database would let a ``check`` statement rewrite the
staff table, a URL aimed at a metadata service or a loopback port would turn the connector into
a proxy, and a ``sqlite:///`` path would create files anywhere. So the places a system may
reach are decided by the operator, in settings, not by the admin in the registry:

- ``DSAR_DOWNSTREAM_ALLOWED_HOSTS``: host names (``crm.internal``), name suffixes
  (``.corp.example``), IP addresses and networks (``10.20.0.0/16``). Nothing else is reachable,
  private and link-local addresses included.
- ``DSAR_DOWNSTREAM_ALLOWED_PATHS``: folders holding SQLite files a system may open (never
  create).
- The product's own databases are refused even when their host is listed.

The same rules run when a system is registered (field messages) and before every connection
(a system stored before a rule changed cannot slip through).
"""

import hashlib
import ipaddress
import json
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.db import connections
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dsar.datamap import engines

READ_ACTIONS = frozenset({"check", "export"})
_READ_VERBS = ("select", "with")
_WRITE_VERBS = ("delete", "update", "insert", "with")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_PG_REFUSED_PARAMS = ("service", "servicefile", "passfile", "sslkey", "sslcert", "sslrootcert")
_MYSQL_ALLOWED_PARAMS = ("charset", "ssl_mode")  # no local files, sockets or init commands
LOOPBACK = "loopback"


class Refused(Exception):
    """A destination or statement the rules above do not allow; the message says why."""


# --- hosts -------------------------------------------------------------------------------


def _allowed_entries():
    for entry in settings.DSAR_DOWNSTREAM_ALLOWED_HOSTS:
        entry = entry.strip().lower().rstrip(".")
        try:
            yield ipaddress.ip_network(entry, strict=False)
        except ValueError:
            yield entry


def _as_ip(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_allowed(host: str) -> bool:
    """True if ``host`` (a name or an IP literal) is on the operator's allow-list."""
    host = host.strip().lower().rstrip(".")
    ip = _as_ip(host)
    for entry in _allowed_entries():
        if isinstance(entry, str):
            if host == entry or (entry.startswith(".") and host.endswith(entry)):
                return True
        elif ip is not None and ip.version == entry.version and ip in entry:
            return True
    return False


def require_host(host: str) -> None:
    if not host:
        raise Refused("Name the host to connect to.")
    if host.startswith("/"):
        raise Refused("Connect over TCP to a listed host, not through a local socket.")
    if not host_allowed(host):
        raise Refused(
            f"The host {host} is not on DSAR_DOWNSTREAM_ALLOWED_HOSTS; ask the operator to list it."
        )


def require_url(url: str) -> None:
    """Raise ``Refused`` unless ``url`` is http(s) to a listed host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("Give an http(s) address.")
    if parts.username or parts.password:
        raise Refused("Put no credentials in the address; the shared secret signs each call.")
    require_host(parts.hostname or "")


# --- databases ---------------------------------------------------------------------------


def _machine(host: str) -> set[str]:
    """The addresses a host name stands for; every loopback address counts as one machine."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        addresses = {info[4][0] for info in infos}
    except OSError:  # unknown name: compare the name itself
        addresses = {host.lower()}
    return {LOOPBACK if (ip := _as_ip(a)) is not None and ip.is_loopback else a for a in addresses}


_DEFAULT_PORTS = {engines.POSTGRES: "5432", engines.MYSQL: "3306"}


def _own_databases():
    """(family, machine, port, name) of each server database and the path of each SQLite file
    the product itself uses."""
    servers, files = [], set()
    for alias in connections:
        conf = connections[alias].settings_dict
        if "sqlite" in conf["ENGINE"]:
            files.add(str(Path(conf["NAME"]).resolve()))
            continue
        kind = engines.POSTGRES if "postgresql" in conf["ENGINE"] else engines.MYSQL
        host = conf.get("HOST") or "localhost"
        port = str(conf.get("PORT") or _DEFAULT_PORTS[kind])
        servers.append((kind, _machine(host), port, conf["NAME"]))
    return servers, files


def require_dsn(dsn: str) -> None:
    """Raise ``Refused`` unless ``dsn`` reaches an allowed database that is not our own."""
    if not isinstance(dsn, str) or not dsn:
        raise Refused('Give "dsn", the database to connect to.')
    try:
        kind = engines.family(dsn)
    except engines.UnknownDatabase:
        raise Refused("Give a postgres://, mysql:// (or mariadb://) or sqlite:/// DSN.") from None
    if kind == engines.SQLITE:
        if not dsn.startswith("sqlite:///"):
            raise Refused("Give a SQLite file as sqlite:///path.")
        _require_sqlite_path(dsn.removeprefix("sqlite:///"))
        return
    if kind == engines.MYSQL:
        hosts, port, name = _mysql_destination(dsn)
    else:
        hosts, port, name = _postgres_destination(dsn)
    for host in hosts:
        require_host(host)
    own, _ = _own_databases()
    for host in hosts:
        machine = _machine(host)
        for own_kind, own_machine, own_port, own_name in own:
            same = own_kind == kind and port == own_port and name == own_name
            if same and machine & own_machine:
                raise Refused("This DSN reaches the product's own database; that is refused.")


def _mysql_destination(dsn: str) -> tuple[list[str], str, str]:
    try:
        url = make_url(dsn)
    except ArgumentError:
        raise Refused("This DSN cannot be read; give mysql://user:password@host/db.") from None
    if refused := sorted(set(url.query) - set(_MYSQL_ALLOWED_PARAMS)):
        raise Refused(f"These DSN options are not allowed: {', '.join(refused)}.")
    if not url.host:
        raise Refused("Name the database's host in the DSN.")
    if not url.database:
        raise Refused("Name the database in the DSN (mysql://user:password@host/db).")
    return [url.host], str(url.port or 3306), url.database


def _postgres_destination(dsn: str) -> tuple[list[str], str, str]:
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise Refused("This DSN cannot be read; give postgres://user:password@host/db.") from None
    if refused := [name for name in _PG_REFUSED_PARAMS if name in params]:
        raise Refused(f"These DSN options are not allowed: {', '.join(refused)}.")
    hosts = [h for h in str(params.get("host", "")).split(",") if h]
    hosts += [h for h in str(params.get("hostaddr", "")).split(",") if h]
    if not hosts:
        raise Refused("Name the database's host in the DSN.")
    return hosts, str(params.get("port") or 5432), params.get("dbname") or params.get("user") or ""


def _require_sqlite_path(raw: str) -> None:
    path = Path(raw).resolve()
    base = Path(settings.BASE_DIR)
    folders = [(base / folder).resolve() for folder in settings.DSAR_DOWNSTREAM_ALLOWED_PATHS]
    if not any(path.is_relative_to(folder) for folder in folders):
        raise Refused("This file is not in a folder of DSAR_DOWNSTREAM_ALLOWED_PATHS.")
    if str(path) in _own_databases()[1]:
        raise Refused("This DSN reaches the product's own database; that is refused.")
    if not path.is_file():
        raise Refused("No database file is at this path; a system never creates one.")


# --- statements --------------------------------------------------------------------------


def require_statement_shape(action: str, statement) -> None:
    """A ``check`` or ``export`` reads (SELECT/WITH; it also runs in a read-only transaction);
    the other actions change rows (DELETE/UPDATE/INSERT/WITH); one statement each."""
    if not isinstance(statement, str) or not statement.strip():
        raise Refused(f"Give each {action} statement as SQL text.")
    text = _COMMENT.sub(" ", statement).strip().rstrip(";").strip()
    if ";" in text:
        raise Refused(f"One SQL statement per entry ({action}); split them into a list.")
    verbs = _READ_VERBS if action in READ_ACTIONS else _WRITE_VERBS
    first = text.split(None, 1)[0].lower() if text else ""
    if first not in verbs:
        allowed = "/".join(v.upper() for v in verbs)
        raise Refused(f"A {action} statement must start with {allowed}.")


def require_sql(config: dict, statements=None) -> None:
    """An ``sql`` configuration's DSN and its statements (all of them, or the (action,
    statement) pairs given) pass the rules above; else ``Refused``."""
    require_dsn(config.get("dsn"))
    for action, statement in statements_of(config) if statements is None else statements:
        require_statement_shape(action, statement)


def statements_of(config: dict):
    """(action, statement) for every statement of an ``sql`` configuration."""
    for action, entry in (config.get("statements") or {}).items():
        if action == "correct" and isinstance(entry, dict):
            yield from ((action, statement) for statement in entry.values())
        elif isinstance(entry, list):
            yield from ((action, statement) for statement in entry)
        else:
            yield action, entry


# --- what an audit event or an approver is shown -----------------------------------------


def describe_dsn(dsn: str) -> str:
    """A DSN without its credentials."""
    if dsn.startswith("sqlite:///"):
        return dsn
    if dsn.split("://", 1)[0].lower() in ("mysql", "mariadb"):
        try:
            url = make_url(dsn)
        except ArgumentError:
            return "(unreadable DSN)"
        return f"mysql://{url.host or ''}:{url.port or 3306}/{url.database or ''}"
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unreadable DSN)"
    port = params.get("port") or 5432
    return f"postgresql://{params.get('host', '')}:{port}/{params.get('dbname', '')}"


def describe_url(url: str) -> str:
    """A URL without credentials, query or fragment."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def digest(value) -> str:
    """SHA-256 of a JSON value in a canonical form: two events name the same thing iff equal."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def statements_digest(config: dict) -> str:
    """The digest of a configuration's statements; empty when it has none."""
    statements = config.get("statements") or {}
    return digest(statements) if statements else ""
