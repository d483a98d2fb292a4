"""Data maps of ``sql`` systems, as staff work with them: discovery, decisions, coverage and
the numbered versions a system has run with.

- :func:`run_discovery` reads the live schema and samples values (``dsar.datamap.discovery``)
  and stores what it proposes, never a value.
- :func:`decide` records staff's decision on each proposal (accept, with changes, or
  reject); :func:`propose_map` drafts a map from the accepted ones and proposes it as a
  change of the system's configuration, which runs once a second admin approves it
  (``registry``), like any change of what a system runs.
- :func:`coverage` names the personal columns discovery found that the running map does not
  cover (not rejected by staff); a deletion reaching such a system gets an advisory finding.
- Each map that goes to work is numbered by ``registry.record_map_version``.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from sqlalchemy import exc

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.datamap import discovery as discovering
from dsar.datamap import document, drafting, engines
from dsar.datamap.categories import CATEGORIES
from dsar.fanout import destinations, registry
from dsar.fanout.connectors import connector_for
from dsar.fanout.models import Discovery, DownstreamSystem, ProposalDecision
from dsar.workflow.errors import Unavailable

SAMPLE_SIZE = 50
MAX_SAMPLE_SIZE = 500
DECISIONS = {"accept": ProposalDecision.ACCEPTED, "reject": ProposalDecision.REJECTED}
CHANGEABLE = ("identity", "category", "policy", "mask", "retention")


def _mapped(system: DownstreamSystem) -> bool:
    """Whether ``system``'s kind is one described by a data map (the kind declares it)."""
    return connector_for(system.kind).has_data_map


def _require_sql(system: DownstreamSystem) -> dict:
    if not _mapped(system):
        raise ValidationError({"system": ["Only an sql system has a schema to discover."]})
    config = system.settings
    try:
        destinations.require_dsn(config.get("dsn"))
    except destinations.Refused as exc:
        raise ValidationError({"config": [str(exc)]}) from None
    return config


def run_discovery(*, user, system: DownstreamSystem, sample_size: int = SAMPLE_SIZE) -> Discovery:
    """Read ``system``'s schema and propose its personal columns; stored, audited in counts.

    Raises ``PermissionDenied`` for a role that may not manage systems, ``ValidationError``
    for a system that is not ``sql`` or a bad sample size; a database that cannot be reached
    raises ``Unavailable``."""
    if user is not None:
        permissions.require(user, "systems")
    if not isinstance(sample_size, int) or not 1 <= sample_size <= MAX_SAMPLE_SIZE:
        raise ValidationError({"sample_size": [f"Give a number from 1 to {MAX_SAMPLE_SIZE}."]})
    config = _require_sql(system)
    engine = engines.engine_for(config["dsn"], timeout=system.timeout_seconds)
    try:
        draft = discovering.discover(engine, sample_size=sample_size)
    except exc.DBAPIError as error:
        if engines.unavailable(error):
            raise Unavailable("The system's database cannot be reached now.") from None
        raise ValidationError(
            {"system": [f"The database refused to be read: {type(error.orig).__name__}."]}
        ) from None
    finally:
        engine.dispose()
    schema = {
        "tables": {
            table.name: {
                "columns": {
                    c.name: {"type": c.type, "nullable": c.nullable, "comment": c.comment}
                    for c in table.columns
                },
                "primary_key": list(table.primary_key),
                "row_estimate": table.row_estimate,
            }
            for table in draft.schema.tables
        }
    }
    proposals = [
        {"table": p.table, "column": p.column, "identity": p.identity, "category": p.category,
         "evidence": list(p.evidence), "confidence": round(float(p.confidence), 2),
         "decision": ProposalDecision.PENDING}
        for p in draft.proposals
    ]  # fmt: skip
    declared = [r for t in draft.schema.tables for r in t.references]
    references = [
        {"from": f"{r.table}.{r.columns[0]}", "to": f"{r.ref_table}.{r.ref_columns[0]}",
         "declared": r.declared,
         "decision": ProposalDecision.ACCEPTED if r.declared else ProposalDecision.PENDING}
        for r in [*declared, *draft.inferred_references]
        if len(r.columns) == 1 and len(r.ref_columns) == 1
    ]  # fmt: skip
    found = Discovery.objects.create(
        system=system, run_by=user, schema=schema, proposals=proposals, references=references
    )
    record_event(
        action="fanout.discovery_run",
        actor=Actor.staff(user) if user is not None else Actor.system("discover"),
        payload={"system": system.name, "tables": len(schema["tables"]),
                 "proposals": len(proposals), "references": len(references)},
    )  # fmt: skip
    return found


def latest_discovery(system: DownstreamSystem) -> Discovery | None:
    return system.discoveries.order_by("-run_at", "-pk").first()


@transaction.atomic
def decide(*, user, discovery: Discovery, decisions: list[dict]) -> Discovery:
    """Record staff's decisions: ``{"table", "column", "decision": "accept" | "reject"}``,
    an accept optionally changing ``identity``, ``category``, ``policy``, ``mask`` or
    ``retention``; or ``{"reference": "t.c->t.c", "decision": ...}``, which also adds a
    reference discovery did not propose (where the database declares none). All or nothing:
    one unknown column or bad value and nothing is recorded."""
    permissions.require(user, "systems")
    discovery = Discovery.objects.select_for_update().get(pk=discovery.pk)
    columns = {(p["table"], p["column"]): p for p in discovery.proposals}
    references = {f"{r['from']}->{r['to']}": r for r in discovery.references}
    errors = {}
    if not isinstance(decisions, list) or not decisions:
        raise ValidationError({"decisions": ["Give at least one decision."]})
    for index, entry in enumerate(decisions):
        path = f"decisions.{index}"
        names = (
            [entry.get(k) for k in ("decision", "table", "column", "reference")]
            if isinstance(entry, dict)
            else [0]
        )
        if not all(isinstance(n, str | None) for n in names):
            errors[path] = ["Give an object whose decision, table, column and reference are text."]
            continue
        if entry.get("decision") not in DECISIONS:
            errors[path] = ['Give "decision": "accept" or "reject".']
            continue
        if "reference" in entry:
            if entry["reference"] not in references and not _added(discovery, entry):
                errors[path] = [
                    'Name a proposed reference, or add one as "table.column->table.column" '
                    "between columns discovery read."
                ]
            continue
        key = (entry.get("table"), entry.get("column"))
        if key not in columns:
            errors[path] = ["Discovery proposed no such column."]
            continue
        unknown = sorted(set(entry) - {"table", "column", "decision", *CHANGEABLE})
        if unknown:
            errors[path] = [f"Unknown keys: {', '.join(unknown)}."]
    if errors:
        raise ValidationError(errors)
    for entry in decisions:
        if "reference" in entry and entry["reference"] not in references:
            ends = entry["reference"].split("->")  # one staff adds where none is declared
            added = {"from": ends[0], "to": ends[1], "declared": False, "added": True}
            discovery.references.append(added)
            references[entry["reference"]] = added
        target = (
            references[entry["reference"]]
            if "reference" in entry
            else columns[(entry["table"], entry["column"])]
        )
        target["decision"] = DECISIONS[entry["decision"]]
        for name in CHANGEABLE:
            if name in entry:
                target[name] = entry[name]
    discovery.save(update_fields=["proposals", "references"])
    record_event(
        action="fanout.discovery_decided",
        actor=Actor.staff(user),
        payload={"system": discovery.system.name, "decisions": len(decisions)},
    )
    return discovery


def _added(discovery: Discovery, entry: dict) -> bool:
    """True if ``entry`` adds a reference between two columns of the discovered schema."""
    raw = entry["reference"]
    if entry["decision"] != "accept" or not isinstance(raw, str) or raw.count("->") != 1:
        return False
    tables = discovery.schema.get("tables", {})
    for end in raw.split("->"):
        table, _, column = end.partition(".")
        if column not in tables.get(table, {}).get("columns", {}):
            return False
    return True


def draft_from(discovery: Discovery, current: dict | None) -> dict:
    """The map the accepted proposals describe, added to ``current``."""
    accepted = [
        {k: v for k, v in p.items() if k in ("table", "column", *CHANGEABLE)}
        for p in discovery.proposals
        if p["decision"] == ProposalDecision.ACCEPTED
    ]
    references = [r for r in discovery.references if r["decision"] == ProposalDecision.ACCEPTED]
    if not accepted:
        raise ValidationError({"decisions": ["Accept at least one proposed column first."]})
    return drafting.draft_map(discovery.schema, accepted, references, current)


def propose_map(*, user, system: DownstreamSystem) -> DownstreamSystem:
    """Propose the map drafted from the latest discovery as the system's new map: it waits
    for a second admin like any change of what the system runs. ``ValidationError`` with the
    map's field messages when the draft breaks a rule (nothing is proposed)."""
    discovery = latest_discovery(system)
    if discovery is None:
        raise ValidationError({"system": ["Run discovery first."]})
    config = system.pending_settings or system.settings
    draft = draft_from(discovery, config.get("map"))
    return registry.save_system(user=user, system=system, config={**config, "map": draft})


def coverage(system: DownstreamSystem, *, discovery: Discovery | None = None) -> dict:
    """The personal columns the latest discovery found that the running map does not cover
    (staff-rejected proposals excluded), by table and column name."""
    discovery = discovery or latest_discovery(system)
    if not _mapped(system) or discovery is None:
        return {"discovered_at": None, "uncovered": []}
    datamap = system.settings.get("map")
    try:
        covered = document.parse(datamap).personal_columns() if datamap else set()
    except document.MapError:
        covered = set()
    uncovered = [
        {
            "table": p["table"],
            "column": p["column"],
            "category": p["category"],
            "category_label": str(CATEGORIES.get(p["category"], p["category"])),
        }
        for p in discovery.proposals
        if p["decision"] != ProposalDecision.REJECTED and (p["table"], p["column"]) not in covered
    ]
    return {"discovered_at": discovery.run_at, "uncovered": uncovered}
