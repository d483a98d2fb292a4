"""Access exports (SPEC §6): store each system's answer, build the package when all are in,
deliver it behind a link that expires (default 7 days) and allows a few downloads (default 3).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.audit.services import Actor, record_event
from dsar.crypto import keys
from dsar.exports import redaction, review
from dsar.exports.models import ExportPart, Package
from dsar.exports.package import SystemData, build_zip
from dsar.notifications.links import emailed_link
from dsar.verification import limits, notices

# Never exported, whatever a system returns (SPEC §6); systems may add more with "exclude".
DEFAULT_EXCLUDED = frozenset(
    {"password", "password_hash", "security_answer", "security_question", "fraud_score",
     "risk_score", "other_party", "others"}
)  # fmt: skip
TOKEN_SALT = "dsar.exports.download"


class LinkGone(Exception):
    """The link expired or was used up (HTTP 410)."""


class NotRenewable(Exception):
    """A fresh link cannot be sent (HTTP 409); the message says why."""


def store_part(*, task, rows: list[dict]) -> ExportPart:
    """Keep a system's export rows, without the excluded fields (their names are recorded)."""
    excluded_fields = DEFAULT_EXCLUDED | set(task.system.settings.get("exclude", []))
    cleaned, dropped = [], set()
    for row in rows:
        keep = {k: v for k, v in row.items() if k.lower() not in excluded_fields}
        dropped |= set(row) - set(keep)
        cleaned.append(keep)
    part, _ = ExportPart.objects.update_or_create(
        task=task,
        defaults={"rows": json.dumps(cleaned, default=str), "excluded": sorted(dropped)},
    )
    return part


def export_dir() -> Path:
    path = Path(settings.DSAR_EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_package(request, *, renewed_from: Package | None = None) -> Package | None:
    """Zip every stored part of ``request``, encrypt it, and send the subject the link; or,
    for a type reviewed before release, nothing until staff released it (``review``). What
    staff withheld is left out of each row (``redaction``)."""
    if review.holds_back(request):
        return None
    rules = redaction.rules_for(request)
    parts = ExportPart.objects.filter(task__request=request).select_related("task__system")
    systems = [
        SystemData(
            name=p.task.system.name,
            categories=list(p.task.system.categories or []),
            rows=_released_rows(rules, p.task.system.name, json.loads(p.rows)),
            excluded=p.excluded,
        )
        for p in parts.order_by("task__system__name")
    ]
    data = keys.fernet().encrypt(build_zip(reference=request.reference, systems=systems))
    file_name = secrets.token_hex(16) + ".zip.enc"
    (export_dir() / file_name).write_bytes(data)
    package = Package.objects.create(
        request=request,
        file_name=file_name,
        size=len(data),
        expires_at=timezone.now() + dt.timedelta(days=settings.DSAR_EXPORT_LINK_DAYS),
        downloads_left=settings.DSAR_EXPORT_MAX_DOWNLOADS,
        renewed_from=renewed_from,
    )
    record_event(
        action="export.built",
        actor=Actor.system("exports"),
        request_id=request.pk,
        payload={"package": str(package.pk), "systems": len(systems)},
    )
    notices.notify(
        request,
        "export_ready",
        link=emailed_link(reverse("export-download"), t=download_token(package)),
        expires_at=package.expires_at,
        downloads=package.downloads_left,
    )
    return package


def _released_rows(rules: redaction.Rules, system: str, rows: list[dict]) -> list[dict]:
    """The rows of one system as they go out: each through the redaction rules, once."""
    kept = (rules.apply(system, redaction.table_of(row), row) for row in rows)
    return [row for row in kept if row is not None]


def download_token(package: Package) -> str:
    """The signed secret of the package's link (the package id; it travels in the fragment)."""
    return signing.dumps(str(package.pk), salt=TOKEN_SALT)


def package_for_token(token: str) -> Package | None:
    """The package a link names (None for a forged link; expiry is checked on download)."""
    try:
        package_id = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    return Package.objects.filter(pk=package_id).first()


def latest_package(request) -> Package | None:
    """The newest package of ``request`` (for its status page), whatever its state."""
    return request.export_packages.order_by("-created_at").first()


def is_usable(package: Package, *, now: dt.datetime | None = None) -> bool:
    """Whether the package's link still downloads: not expired, used up or deleted."""
    now = now or timezone.now()
    return package.deleted_at is None and package.expires_at > now and package.downloads_left > 0


def renew_limit(*, ip: str) -> limits.Limit:
    return limits.Limit("export-renew-ip", ip or "unknown", settings.DSAR_LOOKUP_RATE_IP)


def renew_link(*, package: Package, ip: str = "") -> Package:
    """Build the package of an expired or used-up link again and send the new link to the
    request's own (verified) channel, once per request. Raises ``RateLimited`` past
    ``DSAR_LOOKUP_RATE_IP`` for ``ip``, or ``NotRenewable`` (nothing sent) when the link still
    works, a fresh link was already sent, or the request's data is no longer kept."""
    limits.consume(renew_limit(ip=ip))
    with transaction.atomic():
        request = type(package.request).objects.select_for_update().get(pk=package.request_id)
        packages = request.export_packages.all()
        if any(is_usable(p) for p in packages):
            raise NotRenewable(_("This link still works: use it to download your data."))
        if any(p.renewed_from_id for p in packages):
            raise NotRenewable(
                _("We have already sent you a new link once. Please contact us if you need "
                  "your data again, or make a new request.")
            )  # fmt: skip
        if request.anonymised_at is not None:  # its export parts went with the record
            raise NotRenewable(_("Your data is no longer kept for this request; make a new one."))
        fresh = build_package(request, renewed_from=package)
        record_event(
            action="export.renewed",
            actor=Actor.subject(),
            request_id=request.pk,
            payload={"package": str(fresh.pk), "renewed_from": str(package.pk)},
        )
    return fresh


def take_download(package: Package) -> bytes:
    """Count one download and return the ZIP; ``LinkGone`` once expired or used up."""
    now = timezone.now()
    with transaction.atomic():
        taken = Package.objects.filter(
            pk=package.pk, deleted_at__isnull=True, expires_at__gt=now, downloads_left__gt=0
        ).update(downloads_left=F("downloads_left") - 1)
        if not taken:
            raise LinkGone
        record_event(
            action="export.downloaded",
            actor=Actor.subject(),
            request_id=package.request_id,
            payload={"package": str(package.pk)},
        )
    encrypted = (export_dir() / package.file_name).read_bytes()
    return keys.fernet().decrypt(encrypted)


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Beat: delete packages whose link has expired or is used up."""
    now = now or timezone.now()
    gone = Package.objects.filter(deleted_at__isnull=True).filter(
        expires_at__lte=now
    ) | Package.objects.filter(deleted_at__isnull=True, downloads_left=0)
    count = 0
    for package in gone:
        (export_dir() / package.file_name).unlink(missing_ok=True)
        Package.objects.filter(pk=package.pk).update(deleted_at=now)
        record_event(
            action="export.deleted",
            actor=Actor.system("exports"),
            request_id=package.request_id,
            payload={"package": str(package.pk)},
        )
        count += 1
    return count


def anonymise(request, *, now: dt.datetime) -> None:
    """Record retention: a closed request's export data and package files go."""
    ExportPart.objects.filter(task__request=request).delete()
    for package in request.export_packages.filter(deleted_at__isnull=True):
        (export_dir() / package.file_name).unlink(missing_ok=True)
    request.export_packages.update(deleted_at=now)
