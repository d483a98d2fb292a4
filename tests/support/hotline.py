"""A downstream shop whose customers have a phone on file, registered as an ``sql`` system
that answers dry runs from its data map: what a staff-filed request's lookup asks."""

import json
import re

import psycopg

from dsar.fanout.models import DownstreamSystem

ON_FILE_PHONE = "+8613800135678"  # acct-1's phone in the shop
ON_FILE_EMAIL = "li.lei@example.com"  # acct-1's email in the shop
MAP = {
    "tables": {
        "customers": {
            "key": ["id"],
            "columns": {
                "id": {"type": "integer", "nullable": False},
                "email": {"type": "text", "identity": "email", "category": "contact",
                          "policy": "delete"},
                "phone": {"type": "text", "identity": "phone", "category": "contact",
                          "policy": "delete"},
                "account": {"type": "text", "identity": "account_id", "category": "online_identity",
                            "policy": "delete"},
            },
        }
    }
}  # fmt: skip


def shop_with_phones(dsn: str, *, phone: str = "13800135678", email: str = ON_FILE_EMAIL):
    """acct-1 gets ``phone`` (as the shop stores it: national digits) and ``email``."""
    with psycopg.connect(dsn) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN phone text")
        conn.execute(
            "UPDATE customers SET phone = %s, email = %s WHERE account = 'acct-1'", (phone, email)
        )


def register_shop(dsn: str) -> DownstreamSystem:
    return DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["check"], config=json.dumps({"dsn": dsn, "map": MAP})
    )


def code_from_text(request_id) -> str:
    """The 6-digit code of the newest code text message of the request (not the digits of
    its reference, which the text names first)."""
    from tests.support.subject import latest_email

    text = latest_email(request_id, "code").body
    return re.search(r"(?<![\d-])\d{6}(?!\d)", text).group()
