"""The API's JSON reader: bounded in size and in depth, so no body can cost a 500.

Every JSON body the API takes goes through ``parse_json``: DRF views through ``JSONParser``
(set in ``REST_FRAMEWORK``), the signed callbacks, which must read their raw bytes to check
the signature, by calling it. A body over ``DSAR_MAX_BODY_BYTES`` is normally refused by
``dsar.web.bodies`` from its length; the parser reads at most that much all the same.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, status

# Deeper than any body the API defines (a correction in a list in an object is three); deep
# enough for a downstream system's config. Python's decoder alone stops near 1000 levels,
# with a RecursionError, and values that deep break later code that recurses.
MAX_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")  # NaN and Infinity, as DRF's strict mode


def _deeper_than(value, limit: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels (no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if level > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return False


def parse_json(raw: bytes):
    """The value of a UTF-8 JSON body, or ``ParseError`` (400) saying what is wrong with it.

    Refuses malformed JSON, NaN and Infinity, and nesting deeper than ``MAX_DEPTH``.
    """
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise exceptions.ParseError(_too_deep()) from exc
    except ValueError as exc:  # includes bad UTF-8
        raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
    if isinstance(value, dict | list) and _deeper_than(value, MAX_DEPTH):
        raise exceptions.ParseError(_too_deep())
    return value


def _too_deep() -> str:
    return _("The JSON is nested more than %(depth)d levels deep.") % {"depth": MAX_DEPTH}


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DSAR_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise BodyTooLarge()
        return parse_json(raw)
