"""The registry of downstream systems: registering and changing one, for the staff API and
the admin.

What each kind needs in its configuration is checked here, once, so a system that could never
run is refused with field messages instead of failing its first task; where it may point and
what its SQL may do is checked by ``destinations``. The configuration holds secrets: it is
stored encrypted, and nothing here returns or audits its values.

Four eyes: a change to where a system points or what it runs (its *guarded* settings) does not
run until a second admin approves it. Until then the system keeps its approved configuration,
and a newly registered system of such a kind is not called at all.
"""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.fanout import destinations
from dsar.fanout.connectors import KINDS
from dsar.fanout.models import DataMapVersion, DownstreamSystem

FIELDS = ("name", "kind", "actions", "config", "timeout_seconds", "max_attempts", "enabled",
          "categories")  # fmt: skip


def validate(fields: dict) -> None:
    """Raise ``ValidationError`` (field messages) unless a system of ``fields["kind"]`` can do
    ``fields["actions"]`` with ``fields["config"]``. Used by the API and the admin form.

    First adds to ``fields["config"]`` what the kind reads from the system itself
    (``Connector.learned``: an OpenDSR processor's certificate), so it is saved and approved
    with the rest."""
    errors = {}
    kind = fields["kind"]
    if kind not in KINDS:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(KINDS)}."]})
    connector = KINDS[kind]
    unknown = sorted(set(fields["actions"]) - connector.actions)
    if unknown:
        errors["actions"] = [f"A {kind} system cannot do: {', '.join(unknown)}."]
    config = fields["config"]
    if not isinstance(config, dict):
        errors["config"] = ["Give the configuration as a JSON object."]
    else:
        try:  # in place: what the kind read from the system is saved and approved with it
            config.update(connector.learned(config))
        except ValueError as exc:
            errors["config"] = [str(exc)]
        else:
            if messages := connector.config_errors(config):
                errors["config"] = messages
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_system(*, user, system: DownstreamSystem | None = None, **changes) -> DownstreamSystem:
    """Register a downstream system (``system`` None) or change one; audited, secrets never.

    A change of guarded settings (each kind's ``Connector.guarded``) is kept aside until
    another admin approves it (``approve_change``); the rest applies at once. Raises
    ``PermissionDenied`` unless the user may manage systems, ``ValidationError`` with field
    messages for an action the kind cannot do or a configuration it cannot run with.
    """
    permissions.require(user, "systems")
    current = {name: getattr(system, name) for name in FIELDS} if system else {}
    if system:
        current["config"] = system.settings
    fields = {**current, **changes}
    missing = [name for name in ("name", "kind", "actions", "config") if name not in fields]
    if missing:
        raise ValidationError({name: ["This field is required."] for name in missing})
    validate(fields)
    if (
        DownstreamSystem.objects.filter(name=fields["name"])
        .exclude(pk=getattr(system, "pk", None))
        .exists()
    ):
        raise ValidationError({"name": ["A downstream system with this name exists."]})
    created = system is None
    guarded = _guarded_change(current, fields)
    system = system or DownstreamSystem()
    for name in FIELDS:
        if name in fields and name != "config":
            setattr(system, name, fields[name])
    config = json.dumps(fields["config"])
    if created or not guarded:
        system.config = config
    if guarded:
        if created:
            system.approved_at = None
        else:
            system.pending_config = config
        system.pending_by, system.pending_at = user, timezone.now()
    system.save()
    record_event(
        action="fanout.system_registered" if created else "fanout.system_changed",
        actor=Actor.staff(user),
        payload={**_facts(system.kind, fields["config"]), "system": system.name,
                 "kind": system.kind, "actions": system.actions, "enabled": system.enabled,
                 "changed": sorted(changes), "awaits_approval": guarded},
    )  # fmt: skip
    return system


def _guarded_change(current: dict, fields: dict) -> bool:
    """True if the change touches where the system points or what it runs."""
    keys = KINDS[fields["kind"]].guarded
    if not current:
        return bool(keys)
    before, after = current["config"], fields["config"]
    return current["kind"] != fields["kind"] or any(before.get(k) != after.get(k) for k in keys)


def _facts(kind: str, config: dict) -> dict:
    """What an audit event says of a configuration: where it points, a digest of its SQL and
    of its data map."""
    facts = {"destination": KINDS[kind].describe(config)}
    if statements := destinations.statements_digest(config):
        facts["statements_digest"] = statements
    if isinstance(config.get("map"), dict):
        facts["map_digest"] = digest(config["map"])
    return facts


@transaction.atomic
def approve_change(*, user, system: DownstreamSystem) -> DownstreamSystem:
    """Put a system's proposed configuration to work, as the second admin.

    Raises ``PermissionDenied`` for the admin who proposed it, ``ValidationError`` when nothing
    waits for approval or the proposal no longer passes the rules (an allow-list changed).
    """
    permissions.require(user, "systems")
    system = DownstreamSystem.objects.select_for_update().get(pk=system.pk)
    if not system.awaits_approval:
        raise ValidationError("No change of this system waits for approval.")
    if system.pending_by_id == user.pk:
        raise PermissionDenied("Another admin must approve this change: you proposed it.")
    config = system.pending_settings or system.settings
    validate({"kind": system.kind, "actions": system.actions, "config": config})
    system.config = json.dumps(config)
    system.approved_at = system.approved_at or timezone.now()
    version = record_map_version(
        system=system, config=config, proposed_by=system.pending_by, approved_by=user
    )
    extra = {"map_version": version.number, "map_digest": version.digest} if version else {}
    return _settle(
        system, user=user, config=config, action="fanout.system_change_approved", extra=extra
    )


@transaction.atomic
def reject_change(*, user, system: DownstreamSystem) -> DownstreamSystem:
    """Drop a system's proposed change; its approved configuration keeps running."""
    permissions.require(user, "systems")
    system = DownstreamSystem.objects.select_for_update().get(pk=system.pk)
    if not system.pending_config:
        raise ValidationError("No change of this system waits for approval.")
    proposed = system.pending_settings
    return _settle(system, user=user, config=proposed, action="fanout.system_change_rejected")


def _settle(
    system: DownstreamSystem, *, user, config: dict, action: str, extra: dict | None = None
) -> DownstreamSystem:
    """Nothing waits any more: save the system and audit the decision on ``config``."""
    system.pending_config, system.pending_by, system.pending_at = "", None, None
    system.save()
    record_event(
        action=action,
        actor=Actor.staff(user),
        payload={**_facts(system.kind, config), "system": system.name, **(extra or {})},
    )
    return system


digest = destinations.digest  # of a data map, for its versions and audit events


def record_map_version(*, system: DownstreamSystem, config: dict, proposed_by, approved_by):
    """Number the map ``config`` carries if it differs from the last one that ran."""
    datamap = config.get("map")
    if datamap is None:
        return None
    latest = system.map_versions.order_by("-number").first()
    map_digest = digest(datamap)
    if latest is not None and latest.digest == map_digest:
        return latest
    return DataMapVersion.objects.create(
        system=system,
        number=(latest.number + 1) if latest else 1,
        document=datamap,
        digest=map_digest,
        proposed_by=proposed_by,
        approved_by=approved_by,
        created_at=timezone.now(),
    )
