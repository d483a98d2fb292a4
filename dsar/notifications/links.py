"""Links we email, and how the secret in one reaches us without entering a logged address.

A link's secret rides in its fragment (``…/requests/<id>/#t=<token>``). Browsers never send a
fragment to a server, nor in a ``Referer``, so it cannot land in an access log, a proxy's log or
another site's. The page the link opens carries a form whose field the static script
``portal/link.js`` fills from the fragment (then strips it from the address bar); submitting
the form POSTs the secret in the body. Without JavaScript the field shows, and the person pastes
the link from the message into it: :func:`secret_from` accepts the bare secret or the whole link.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings

# Longest value a pasted field may hold; every secret we make is far shorter.
MAX_PASTED = 2000


def emailed_link(path: str, **secrets: str) -> str:
    """The absolute link to ``path`` with ``secrets`` in its fragment, never in path or query."""
    return f"{settings.DSAR_PUBLIC_BASE_URL}{path}#{urlencode(secrets, safe=':')}"


def fragment_of(path: str, **secrets: str) -> str:
    """``path`` with ``secrets`` in its fragment: where an old-format link is redirected to."""
    return f"{path}#{urlencode(secrets, safe=':')}"


def secret_from(value: str | None, name: str) -> str:
    """The secret ``name`` from a form field holding it bare or inside a pasted link
    (fragment or, for links sent before fragments, query); empty if there is none."""
    value = (value or "").strip()[:MAX_PASTED]
    if "#" not in value and "?" not in value and "://" not in value:
        return value
    parts = urlsplit(value)
    for part in (parts.fragment, parts.query):
        found = parse_qs(part).get(name)
        if found:
            return found[0].strip()
    return ""
