"""The downstream protocol's OpenAPI description (``downstream-protocol.yaml``, v1), read once:
served to the services that implement it, and used to check their answers.

The schemas in the document are JSON Schema (OpenAPI 3.1), so an answer is checked against
the very text a service's author reads.
"""

import json
from functools import cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PATH = Path(__file__).with_name("downstream-protocol.yaml")
_URI = "urn:dsar:downstream-protocol:v1"

# Which schema a 200 answer to each action must fit.
ANSWER_SCHEMAS = {"check": "CheckAnswer", "export": "ExportPage"}
DONE_SCHEMA = "ActionDone"


@cache
def text() -> bytes:
    """The document as served (YAML, UTF-8)."""
    return PATH.read_bytes()


@cache
def document() -> dict:
    return yaml.safe_load(text())


@cache
def _validator(name: str) -> Draft202012Validator:
    resource = Resource(contents=document(), specification=DRAFT202012)
    registry = Registry().with_resource(_URI, resource)
    return Draft202012Validator(
        {"$ref": f"{_URI}#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def actions() -> list[str]:
    """The actions the protocol names."""
    return list(document()["components"]["schemas"]["Action"]["enum"])


def problems(name: str, data) -> list[str]:
    """What in ``data`` does not fit the schema ``name``, in words; empty when it fits.

    Each problem names where it is (``rows[2]``) and what is wrong, never the value itself:
    answers may carry personal data.
    """
    found = []
    for error in sorted(_validator(name).iter_errors(data), key=lambda e: list(e.path)):
        where = _where(error.path)
        found.append(f"{where}: {_words(error)}" if where else _words(error))
    return found


def parse_object(raw: bytes) -> dict:
    """A JSON object from ``raw``; ``{}`` for anything else (not JSON, a list, a number)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # also UnicodeDecodeError
        return {}
    return data if isinstance(data, dict) else {}


def answer_schema(action: str) -> str:
    return ANSWER_SCHEMAS.get(action, DONE_SCHEMA)


def _where(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _words(error) -> str:
    """jsonschema's message, without echoing the offending value."""
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return f'"{missing[0]}" is missing' if missing else "a required field is missing"
    if error.validator == "type":
        return f"must be of type {error.validator_value}"
    if error.validator == "additionalProperties":
        return "carries a field the protocol does not name"
    if error.validator in ("enum", "const"):
        return f"must be one of {error.validator_value}"
    if error.validator in ("maxLength", "minLength", "minimum", "pattern", "format"):
        return f"breaks {error.validator} {error.validator_value}"
    return f"does not fit the protocol ({error.validator})"
