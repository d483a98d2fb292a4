"""What a logo may be: a PNG, JPEG or WebP image (by its content, not its name), small enough
to load on a phone. No SVG: it can carry script."""

import filetype
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


def logo_type(head: bytes) -> str | None:
    """The accepted content type of a file starting with ``head``, or None."""
    kind = filetype.guess(head)
    return kind.mime if kind and kind.mime in LOGO_TYPES else None


def validate_logo(file) -> None:
    if file.size > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is too large; the limit is %(kb)d KB."),
            code="too_large",
            params={"kb": LOGO_MAX_BYTES // 1024},
        )
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    if logo_type(head) is None:
        raise ValidationError(_("Upload a PNG, JPEG or WebP image."), code="type")
