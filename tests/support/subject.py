"""What a subject (or a staff member on the phone) reads and does: codes and links from the
emails and text messages the product sent, and opening a request's pages."""

import json
import re
from pathlib import Path

from dsar.notifications.models import OutboundEmail
from dsar.verification.receipts import send_receipt
from dsar.workflow.models import RightsRequest


def receipt_sent(request_id) -> None:
    """What the messages worker does once an intake's answer is out: send the request's
    receipt and first code if they are still pending (``dsar.verification.receipts``)."""
    send_receipt(request_id)


def receipts_sent() -> None:
    """``receipt_sent`` for every request still waiting for its receipt."""
    pending = RightsRequest.objects.filter(receipt_pending=True)
    for request_id in pending.values_list("pk", flat=True):
        send_receipt(request_id)


def latest_email(request_id, template: str) -> OutboundEmail:
    receipt_sent(request_id)
    return OutboundEmail.objects.filter(request_id=request_id, template=template).latest(
        "created_at"
    )


def code_from_outbox(request_id) -> str:
    """The 6-digit code of the newest code email sent for the request."""
    first_line = latest_email(request_id, "code").body.splitlines()[0]
    return re.search(r"\d{6}", first_line).group()


def link_from_outbox(request_id) -> str:
    """The one-click confirmation path of the newest code email, its secret in the fragment
    (``…/confirm/<challenge>/#k=<secret>``)."""
    body = latest_email(request_id, "code").body
    return re.search(r"https?://[^/\s]+(/requests/\S+/confirm/\S+)", body).group(1)


def open_pages(client, request):
    """What the status link's page does: POST the status token for the page key cookie."""
    from dsar.verification.tokens import make_status_token

    answer = client.post(f"/requests/{request.pk}/open/", {"t": make_status_token(request)})
    assert answer.status_code == 302, answer.status_code
    return client


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def read_back_code(text: str) -> str:
    """The code in a read-back message: the six digits not part of the reference."""
    return re.search(r"(?<!-)\b\d{6}\b", text).group()


def read_back_code_from_outbox(request_id) -> str:
    """The code of the newest email staff sent for the subject to read back."""
    return read_back_code(latest_email(request_id, "staff_code").body)


def read_back_code_from_sms(sms_dir: Path) -> str:
    """The code of the read-back SMS the file backend wrote (the subject's own has a link)."""
    texts = [json.loads(p.read_text())["text"] for p in sorted(sms_dir.iterdir())]
    [text] = [t for t in texts if "://" not in t]
    return read_back_code(text)
