"""Which systems a correction goes to: only those holding one of the accepted fields."""

from __future__ import annotations

from dsar.corrections import services as corrections
from dsar.corrections.services import accepted_changes
from dsar.fanout.connectors import connector_for
from dsar.fanout.models import Action, DownstreamSystem, TaskStatus
from dsar.workflow.models import RightsRequest


def system_fields(system: DownstreamSystem) -> set[str]:
    """The subject's fields a system holds, as its connector kind reads them from its config."""
    return connector_for(system.kind).fields(system.settings)


def changes_for(system: DownstreamSystem, request: RightsRequest) -> list[dict]:
    """The accepted changes of ``request`` that touch a field ``system`` holds."""
    held = system_fields(system)
    return [c for c in accepted_changes(request) if c["field"] in held]


def concerns(system: DownstreamSystem, action: str, request: RightsRequest) -> bool:
    """A correction goes only to the systems that hold one of the accepted fields."""
    return action != Action.CORRECT or bool(changes_for(system, request))


def settle_corrections(request: RightsRequest) -> bool:
    """At completion: record which accepted changes a system made (the fields held by the
    systems whose ``correct`` is done); True when every proposed change was made."""
    done = request.fanout_tasks.filter(action=Action.CORRECT, status=TaskStatus.DONE)
    changed = set()
    for task in done.select_related("system"):
        changed |= system_fields(task.system)
    return corrections.settle(request=request, fields_changed=changed)
