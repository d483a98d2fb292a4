"""Review before release (``DSAR_EXPORT_REVIEW_TYPES``, access by default): the compiled
export waits until staff have inspected it, withheld what must not go out (a field, a row or
a column, each with a reason, audited) and released it; only then is the package built and
the link sent (``release.release``). Roles: the role table's ``review_export``."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from dsar.access.permissions import require
from dsar.audit.services import Actor, record_event
from dsar.exports import parts
from dsar.exports.models import ExportPart, Redaction, Review
from dsar.exports.package import Table
from dsar.exports.redaction import row_digest, rules_for
from dsar.workflow.errors import Conflict


class AlreadyReleased(Conflict):
    """The package was released: nothing more can be withheld (HTTP 409)."""


def required_for(request) -> bool:
    return request.type in settings.DSAR_EXPORT_REVIEW_TYPES


def holds_back(request) -> bool:
    """Whether the package of ``request`` must wait for review; the first time, the review
    is opened (and audited). False once staff released it, and for types not reviewed."""
    if not required_for(request):
        return False
    review, created = Review.objects.get_or_create(request=request)
    if created:
        record_event(
            action="export.review_pending",
            actor=Actor.system("exports"),
            request_id=request.pk,
            payload={},
        )
    return review.released_at is None


def pending(request) -> bool:
    """Whether the request's export waits for review (for the status and staff pages)."""
    return Review.objects.filter(request=request, released_at__isnull=True).exists()


@dataclass(frozen=True)
class ReviewRow:
    digest: str
    cells: list  # (column, value, withheld) for each column of the table
    withheld: bool  # the whole row

    @property
    def fields(self) -> list[str]:
        return [column for column, _value, gone in self.cells if not gone]


@dataclass(frozen=True)
class ReviewTable:
    system: str
    name: str
    columns: list[str]
    rows: list[ReviewRow]  # the first SHOWN_ROWS
    count: int  # every row of the table

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


SHOWN_ROWS = 200  # rows per table on the review page; a column is withheld in all of them


def contents(request) -> list[ReviewTable]:
    """What the package would hold, table by table (its first ``SHOWN_ROWS`` rows), each row
    and cell marked withheld or not (the staff review page)."""
    rules = rules_for(request)
    found = []
    for part in _parts(request):
        system = parts.system_data(part)
        for table in system.tables:
            shown = []
            for row in itertools.islice(table.rows(), SHOWN_ROWS):
                kept = rules.apply(system.name, table.name, row)
                cells = [
                    (c, row.get(c, ""), kept is None or (c in row and c not in kept))
                    for c in table.columns
                ]
                shown.append(ReviewRow(row_digest(row), cells, kept is None))
            found.append(ReviewTable(system.name, table.name, table.columns, shown, table.count))
    return found


def _table(request, system: str, table: str) -> Table | None:
    """The table ``table`` of ``system`` in the request's export, its rows unread."""
    for part in _parts(request).filter(task__system__name=system):
        return next((t for t in parts.system_data(part).tables if t.name == table), None)
    return None


def _parts(request):
    return (
        ExportPart.objects.filter(task__request=request)
        .select_related("task__system")
        .order_by("task__system__name")
    )


def redact(
    *, request, user, system: str, table: str, row: str, field: str, reason: str
) -> Redaction:
    """Withhold ``field`` of the row named ``row`` (a digest), the whole row (``field``
    empty) or ``field`` in every row of the table (``row`` empty), with ``reason``.

    Raises ``PermissionDenied``, ``ValidationError`` (by field: no reason, nothing named,
    a system, table, row or field the export does not hold) or ``AlreadyReleased``; in each
    case nothing is written."""
    require(user, "review_export")
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give the reason for withholding this.")]
    if not row and not field:
        errors["field"] = [_("Choose a field, or withhold the whole row.")]
    table_found = _table(request, system, table)
    if table_found is None:
        errors["system"] = [_("The export holds no such table.")]
    else:
        if row and not any(row_digest(r) == row for r in table_found.rows()):
            errors["row"] = [_("The export holds no such row.")]
        if field and field not in table_found.columns:
            errors["field"] = [_("The table has no such field.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        review = Review.objects.select_for_update().filter(request=request).first()
        if review is None or review.released_at is not None:
            raise AlreadyReleased(_("This export is not waiting for review."))
        redaction = Redaction.objects.create(
            request=request, system=system, table=table, row_digest=row, field=field,
            reason=reason, created_by=user,
        )  # fmt: skip
        scope = "column" if not row else ("row" if not field else "cell")
        record_event(
            action="export.redacted",
            actor=Actor.staff(user),
            request_id=request.pk,
            payload={
                "redaction": str(redaction.pk),
                "system": system,
                "table": table,
                "scope": scope,
                "field_name": field,
            },  # fmt: skip
        )
    return redaction
