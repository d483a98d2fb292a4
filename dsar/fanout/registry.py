"""The registry of downstream systems: registering and changing one, for the staff API.

What each kind needs in its configuration is checked here, once, so a system that could never
run is refused with field messages instead of failing its first task. The configuration holds
secrets: it is stored encrypted, and nothing here returns or audits its values.
"""

import json

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction

from dsar.audit.services import Actor, record_event
from dsar.fanout.models import Action, DownstreamSystem, Kind
from dsar.staff import permissions

# What each kind can be asked to do (a backup is never edited, a partner is only told).
KIND_ACTIONS = {
    Kind.SQL: set(Action.values),
    Kind.HTTP: set(Action.values),
    Kind.NOTIFY: {Action.DELETE, Action.ANONYMISE, Action.CORRECT},
    Kind.BACKUP: {Action.DELETE, Action.ANONYMISE, Action.CLOSE_ACCOUNT},
}
FIELDS = ("name", "kind", "actions", "config", "timeout_seconds", "max_attempts", "enabled",
          "categories")  # fmt: skip


def _config_errors(kind: str, config) -> list[str]:
    if not isinstance(config, dict):
        return ["Give the configuration as a JSON object."]
    if kind == Kind.SQL:
        if not isinstance(config.get("dsn"), str) or not config["dsn"]:
            return ['Give "dsn", the database to connect to.']
        if not isinstance(config.get("statements"), dict):
            return ['Give "statements", an object of SQL statements per action.']
    if kind == Kind.HTTP:
        try:
            URLValidator(schemes=["http", "https"])(config.get("url") or "")
        except ValidationError:
            return ['Give "url", the http(s) address we POST to.']
        if not isinstance(config.get("secret"), str) or len(config["secret"]) < 16:
            return ['Give "secret", at least 16 characters, shared for the signatures.']
    if kind == Kind.NOTIFY:
        try:
            EmailValidator()(config.get("recipient") or "")
        except ValidationError:
            return ['Give "recipient", the email address of the partner to tell.']
    return []


def validate(fields: dict) -> None:
    """Raise ``ValidationError`` (field messages) unless a system of ``fields["kind"]`` can do
    ``fields["actions"]`` with ``fields["config"]``. Used by the API and the admin form."""
    errors = {}
    kind = fields["kind"]
    unknown = sorted(set(fields["actions"]) - KIND_ACTIONS.get(kind, set()))
    if unknown:
        errors["actions"] = [f"A {kind} system cannot do: {', '.join(unknown)}."]
    if messages := _config_errors(kind, fields["config"]):
        errors["config"] = messages
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_system(*, user, system: DownstreamSystem | None = None, **changes) -> DownstreamSystem:
    """Register a downstream system (``system`` None) or change one; audited, secrets never.

    Raises ``PermissionDenied`` unless the user may manage systems, ``ValidationError`` with
    field messages for an action the kind cannot do or a configuration it cannot run with.
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
    system = system or DownstreamSystem()
    for name in FIELDS:
        if name in fields:
            value = fields[name]
            setattr(system, name, json.dumps(value) if name == "config" else value)
    created = system.pk is None
    system.save()
    record_event(
        action="fanout.system_registered" if created else "fanout.system_changed",
        actor=Actor.staff(user),
        payload={"system": system.name, "kind": system.kind, "actions": system.actions,
                 "enabled": system.enabled, "changed": sorted(changes)},
    )  # fmt: skip
    return system
