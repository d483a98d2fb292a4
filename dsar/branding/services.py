"""The company as a subject sees it, in one language: ``brand()`` for pages and messages,
``text()`` for plain-text places (emails, the package's README and index pages).

Without a row the product names itself as before ("Personal information rights") and
complaints go to ``DSAR_COMPLAINT_CONTACT``."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.translation import gettext as _

from dsar.branding.models import SINGLETON_PK, Branding
from dsar.branding.validators import logo_type
from dsar.snapshots import Snapshot


@dataclass(frozen=True)
class Brand:
    name: str
    privacy_url: str
    email: str
    phone: str
    address: str
    complaint_contact: str
    logo_version: str  # empty without a logo; changes with every edit (cache-busting)
    configured: bool

    @property
    def contact_lines(self) -> list[str]:
        """The contact channels, one a line, each with what it is."""
        lines = []
        if self.email:
            lines.append(_("Email: %(v)s") % {"v": self.email})
        if self.phone:
            lines.append(_("Phone: %(v)s") % {"v": self.phone})
        if self.address:
            lines.append(_("Post: %(v)s") % {"v": " ".join(self.address.split())})
        return lines


# Read by every email and page: one round trip to the cache instead of a query while the
# row is unchanged (``dsar.snapshots``). Callers do not change the row they get.
BRANDING = Snapshot(
    "branding", lambda: Branding.objects.filter(pk=SINGLETON_PK).first(), models=(Branding,)
)


def load() -> Branding | None:
    return BRANDING.get()


def _pick(row: Branding, field: str, language: str) -> str:
    """A bilingual field in ``language``, the other language's when this one is empty."""
    zh, en = getattr(row, f"{field}_zh"), getattr(row, f"{field}_en")
    return (zh or en) if language.startswith("zh") else (en or zh)


def brand(language: str | None = None, *, row: Branding | None = None) -> Brand:
    """The company in ``language`` (default: the active one)."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    row = row if row is not None else load()
    if row is None:
        with translation.override(language):
            name = _("Personal information rights")
        return Brand(name, "", "", "", "", settings.DSAR_COMPLAINT_CONTACT, "", False)
    return Brand(
        name=_pick(row, "name", language),
        privacy_url=_pick(row, "privacy_url", language),
        email=row.contact_email,
        phone=row.contact_phone,
        address=_pick(row, "contact_address", language),
        complaint_contact=(
            " ".join(_pick(row, "complaint_contact", language).split())
            or row.contact_email
            or settings.DSAR_COMPLAINT_CONTACT
        ),
        logo_version=row.updated_at.strftime("%Y%m%d%H%M%S%f") if row.logo else "",
        configured=True,
    )


def complaint_contact(language: str | None = None) -> str:
    """Where a subject writes to contest a decision, in ``language``."""
    return brand(language).complaint_contact


def text(language: str) -> str:
    """The company's name, contact channels and privacy-policy link as plain text lines in
    ``language`` (an email's footer, the access package's README and index pages)."""
    b = brand(language)
    if not b.configured:
        return ""
    with translation.override(language):
        lines = [b.name, *b.contact_lines]
        if b.privacy_url:
            lines.append(_("Privacy policy: %(v)s") % {"v": b.privacy_url})
    return "\n".join(lines)


def logo() -> tuple[bytes, str] | None:
    """The logo's content and type, or None without one (or when its file is gone)."""
    row = load()
    if row is None or not row.logo:
        return None
    try:
        with default_storage.open(row.logo.name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    content_type = logo_type(data[:8192])
    return (data, content_type) if content_type else None
