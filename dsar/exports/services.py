"""Access exports (SPEC §6): store each system's answer, build the package when all are in,
deliver it behind a link that expires (default 7 days) and allows a few downloads (default 3).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.audit.services import Actor, record_event
from dsar.crypto import keys
from dsar.exports import parts, redaction, review, sealed
from dsar.exports.models import ExportPart, Package
from dsar.exports.package import write_zip
from dsar.notifications.links import emailed_link
from dsar.notifications.subject import text_subject
from dsar.verification import limits, notices, proof

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


def excluded_fields(task) -> frozenset[str]:
    return frozenset(DEFAULT_EXCLUDED | set(task.system.settings.get("exclude", [])))


def open_part(task) -> parts.PartWriter:
    """Where a running export attempt writes its rows as they arrive (``parts``)."""
    prefix = parts.prefix_for(task.pk, task.attempts)
    parts.delete_files(prefix)  # a redelivered attempt starts clean
    return parts.PartWriter(prefix=prefix, excluded_fields=excluded_fields(task))


def settle_part(writer: parts.PartWriter, outcome, *, done: bool):
    """After the attempt: a done export's rows (streamed into ``writer``, or answered whole
    by a kind that does not stream) are sealed with their manifest, and the outcome keeps
    only their count; any other outcome's files are deleted."""
    if not done:
        parts.delete_files(writer.prefix)
        return outcome
    data = dict(outcome.data)
    if isinstance(data.get("rows"), list):
        writer.write(data.pop("rows"))
    data["row_count"] = writer.finish()["rows"]
    return replace(outcome, data=data)


def store_part(*, task, rows: list[dict] | None = None) -> ExportPart:
    """Adopt a done export task's part: the files its attempt wrote (``rows`` None), or
    ``rows`` given whole (a system's callback), written now. Exclusions are dropped in the
    writer, their names recorded; the files of every other attempt are deleted."""
    prefix = parts.prefix_for(task.pk, task.attempts)
    manifest = None if rows is not None else parts.read_manifest(prefix)
    if manifest is None:
        writer = parts.PartWriter(prefix=prefix, excluded_fields=excluded_fields(task))
        writer.write(rows or [])
        manifest = writer.finish()
    # Every other attempt's files go: an earlier part, and chunks of a killed attempt.
    parts.delete_attempts(task.pk, task.attempts, keep=prefix)
    part, _ = ExportPart.objects.update_or_create(
        task=task,
        defaults={"prefix": prefix, "row_count": manifest["rows"],
                  "excluded": manifest["excluded"]},
    )  # fmt: skip
    return part


def build_package(request, *, renewed_from: Package | None = None) -> Package | None:
    """Zip every stored part of ``request`` as a stream into sealed blocks in the export
    storage, and send the subject the link; or, for a type reviewed before release, nothing
    until staff released it (``review``). What staff withheld is left out (``redaction``)."""
    if review.holds_back(request):
        return None
    rules = redaction.rules_for(request)
    found = ExportPart.objects.filter(task__request=request).select_related("task__system")
    systems = [rules.released(parts.system_data(p)) for p in found.order_by("task__system__name")]
    password = zip_password(request)
    writer = sealed.SealedWriter()
    try:
        write_zip(writer, reference=request.reference, systems=systems, password=password)
        file_name = writer.save(f"packages/{secrets.token_hex(16)}.zip.enc")
    finally:
        writer.close()
    package = Package.objects.create(
        request=request,
        file_name=file_name,
        size=writer.size,
        block_size=writer.block,
        expires_at=timezone.now() + dt.timedelta(days=settings.DSAR_EXPORT_LINK_DAYS),
        downloads_left=settings.DSAR_EXPORT_MAX_DOWNLOADS,
        renewed_from=renewed_from,
    )
    record_event(
        action="export.built",
        actor=Actor.system("exports"),
        request_id=request.pk,
        payload={"package": str(package.pk), "systems": len(systems),
                 "protected_zip": bool(password)},
    )  # fmt: skip
    notices.notify(
        request,
        "export_ready",
        link=emailed_link(reverse("export-download"), t=download_token(package)),
        expires_at=package.expires_at,
        downloads=package.downloads_left,
    )
    if password:
        send_zip_password(request, password)
    return package


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


class Unsatisfiable(Exception):
    """A ``Range`` the package cannot answer (HTTP 416)."""


@dataclass(frozen=True)
class Download:
    package: Package
    start: int
    end: int  # exclusive
    partial: bool

    @property
    def length(self) -> int:
        return self.end - self.start


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` as (start, end exclusive); None for no
    header or one we answer whole (several ranges). ``Unsatisfiable`` past the end."""
    match = RANGE.fullmatch((header or "").strip())
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        start, end = max(size - int(last), 0), size
    else:
        start = int(first)
        end = size if last == "" else min(int(last) + 1, size)
    if start >= size or start >= end:
        raise Unsatisfiable
    return start, end


RANGE = re.compile(r"bytes=(\d*)-(\d*)")


# What a counted download may fetch beyond the package's size, so that a download cut off
# and resumed with Range is not counted again: a server hands bytes to the network (a few
# megabytes of buffers) that a client that went away never received. Half the package at
# most, so a download never yields two copies.
RESUME_SLACK = 8 * 1024 * 1024


def slack(size: int) -> int:
    return min(RESUME_SLACK, size // 2)


def start_download(package: Package, *, range_header: str = "") -> Download:
    """Open a download of the package, or of the part ``range_header`` asks for.

    ``bytes_served`` is the credit, in bytes, of the download counted last. A response
    needs its length in credit; without it one more download is counted (``downloads_left``
    less one, audited) and the credit becomes the package's size plus ``slack``. The
    response reserves its length at once, so racing downloads of a last copy cannot both
    run, and :func:`finish_download` gives back what it did not send: a download interrupted
    half-way and resumed with Range counts once. ``LinkGone`` once expired, used up or
    deleted; ``Unsatisfiable`` for a range past the end."""
    now = timezone.now()
    with transaction.atomic():
        row = Package.objects.select_for_update().get(pk=package.pk)
        if row.deleted_at is not None or row.expires_at <= now:
            raise LinkGone
        span = parse_range(range_header, row.size)
        start, end = span or (0, row.size)
        length, credit = end - start, row.bytes_served
        if length > credit:
            if row.downloads_left == 0:
                raise LinkGone
            row.downloads_left -= 1
            credit = row.size + slack(row.size)
            record_event(
                action="export.downloaded",
                actor=Actor.subject(),
                request_id=row.request_id,
                payload={"package": str(row.pk)},
            )
        row.bytes_served = credit - length
        row.save(update_fields=["bytes_served", "downloads_left"])
    return Download(package=row, start=start, end=end, partial=span is not None)


def stream(download: Download) -> Iterator[bytes]:
    """The download's plain ZIP bytes, one sealed block at a time."""
    package = download.package
    if not package.block_size:  # sealed whole, before streaming
        with sealed.storage().open(package.file_name, "rb") as handle:
            data = keys.fernet().decrypt(handle.read())
        yield data[download.start : download.end]
        return
    yield from sealed.read_range(package.file_name, start=download.start, end=download.end,
                                 block=package.block_size)  # fmt: skip


def finish_download(download: Download, *, sent: int) -> None:
    """Give the credit of the bytes a response reserved but did not send back (the client
    went away), so that resuming it with Range counts no new download."""
    unsent = download.length - sent
    if unsent > 0:
        most = download.package.size + slack(download.package.size)
        row = Package.objects.filter(pk=download.package.pk)
        row.update(bytes_served=Least(F("bytes_served") + unsent, Value(most)))


def take_download(package: Package) -> bytes:
    """The whole ZIP, counted as one download (small packages, the shell and tests)."""
    download = start_download(package)
    return b"".join(stream(download))


def zip_password(request) -> str:
    """A fresh password for the package's ZIP when ``DSAR_EXPORT_ZIP_PASSWORD`` is on and the
    subject verified a mobile number (it is texted there); else "" (a plain ZIP)."""
    if not settings.DSAR_EXPORT_ZIP_PASSWORD or not verified_phone(request):
        return ""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def verified_phone(request) -> str:
    """The subject's phone number if their identity was proven through it, else ""."""
    return proof.proven_keys(request).phone


def send_zip_password(request, password: str) -> None:
    """Text the ZIP's password to the verified phone (the one notifier; never in an email)."""
    text_subject(request, "export_password", context={"reference": request.reference,
                                                       "password": password})  # fmt: skip


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Beat: delete packages whose link has expired or is used up."""
    now = now or timezone.now()
    gone = Package.objects.filter(deleted_at__isnull=True).filter(
        expires_at__lte=now
    ) | Package.objects.filter(deleted_at__isnull=True, downloads_left=0)
    count = 0
    for package in gone:
        sealed.storage().delete(package.file_name)
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
    """Record retention: a closed request's export data and package files go, and the
    files of any attempt of its exports (one whose worker was killed left them)."""
    exports = request.fanout_tasks.filter(action="export")  # fanout's rows; it imports us
    for task_id, attempts in exports.values_list("pk", "attempts"):
        parts.delete_attempts(task_id, attempts)
    ExportPart.objects.filter(task__request=request).delete()
    for package in request.export_packages.filter(deleted_at__isnull=True):
        sealed.storage().delete(package.file_name)
    request.export_packages.update(deleted_at=now)
