"""verify() takes what the product signs and nothing else."""

import time

import dsar_downstream as kit
import pytest
from conftest import SECRET, signature, signed

BODY = b'{"action":"delete","idempotency_key":"k-1"}'


def test_a_signature_made_by_the_rule_verifies():
    assert kit.verify(SECRET, signed(BODY), BODY) == SECRET


def test_header_names_are_not_case_sensitive():
    headers = {name.lower(): value for name, value in signed(BODY).items()}
    assert kit.verify(SECRET, headers, BODY) == SECRET


@pytest.mark.parametrize(
    "case",
    ["altered body", "other secret", "no signature", "no timestamp", "timestamp not a number"],
)
def test_what_the_product_did_not_sign_is_refused(case):
    headers, body = signed(BODY), BODY
    if case == "altered body":
        body = BODY.replace(b"delete", b"export")
    elif case == "other secret":
        headers = signed(BODY, secret="guessed-secret-12345")
    elif case == "no signature":
        del headers["X-DSAR-Signature"]
    elif case == "no timestamp":
        del headers["X-DSAR-Timestamp"]
    else:
        headers["X-DSAR-Timestamp"] = "yesterday"
    with pytest.raises(kit.BadSignature) as refused:
        kit.verify(SECRET, headers, body)
    assert refused.value.status == 401


def test_a_signature_with_a_moved_timestamp_is_refused():
    """The timestamp is signed: moving it to make an old message look fresh breaks it."""
    old = signed(BODY, timestamp=int(time.time()) - 1000)
    old["X-DSAR-Timestamp"] = str(int(time.time()))
    with pytest.raises(kit.BadSignature):
        kit.verify(SECRET, old, BODY)


@pytest.mark.parametrize("age", [301, -301])
def test_a_message_outside_the_clock_window_is_refused(age):
    now = time.time()
    headers = signed(BODY, timestamp=int(now) - age)
    with pytest.raises(kit.BadSignature, match="Stale"):
        kit.verify(SECRET, headers, BODY, now=now)
    assert kit.verify(SECRET, headers, BODY, now=now, max_skew=400) == SECRET


def test_during_a_rotation_the_old_and_the_new_secret_both_verify_and_say_which():
    new, old = "the-new-secret-after-rotation", SECRET
    assert kit.verify([new, old], signed(BODY, secret=old), BODY) == old
    assert kit.verify([new, old], signed(BODY, secret=new), BODY) == new
    with pytest.raises(kit.BadSignature):
        kit.verify([new], signed(BODY, secret=old), BODY)


def test_a_non_ascii_signature_is_refused_not_an_error():
    headers = {**signed(BODY), "X-DSAR-Signature": "é" * 64}
    with pytest.raises(kit.BadSignature):
        kit.verify(SECRET, headers, BODY)


def test_an_empty_secret_is_a_configuration_error():
    with pytest.raises(ValueError, match="secret"):
        kit.verify("", signed(BODY), BODY)


def test_sign_callback_signs_by_the_rule_and_keeps_detail_short():
    body, headers = kit.sign_callback(SECRET, idempotency_key="k-1", status="done",
                                      detail="x" * 500)  # fmt: skip
    assert headers["X-DSAR-Signature"] == signature(SECRET, headers["X-DSAR-Timestamp"], body)
    assert body.startswith(b'{"idempotency_key":"k-1","status":"done","detail":"xxx')
    assert len(body) < 400
    with pytest.raises(ValueError):
        kit.sign_callback(SECRET, idempotency_key="k-1", status="maybe")
