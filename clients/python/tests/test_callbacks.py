"""send_callback() delivers a signed callback, or says why it could not."""

import socket

import dsar_downstream as kit
import pytest
from conftest import SECRET


def test_a_callback_arrives_signed_with_the_key_status_and_detail(product):
    assert kit.send_callback(SECRET, product.url, idempotency_key="k-1", status="failed",
                             detail="Legal hold.") == 200  # fmt: skip
    assert product.callbacks == [{"path": "/api/v1/callbacks/task-1/", "idempotency_key": "k-1",
                                  "status": "failed", "detail": "Legal hold."}]  # fmt: skip


def test_a_callback_the_product_already_has_is_not_an_error(product):
    product.status = 409  # the task is no longer waiting: it took an earlier copy
    assert kit.send_callback(SECRET, product.url, idempotency_key="k-1", status="done") == 409


def test_a_callback_refused_for_its_signature_raises(product):
    with pytest.raises(kit.CallbackFailed, match="HTTP 401") as failed:
        kit.send_callback("not-the-shared-secret", product.url, idempotency_key="k-1",
                          status="done")  # fmt: skip
    assert failed.value.status == 401 and product.callbacks == []


def test_with_rotating_secrets_a_401_tries_the_next_one(product):
    status = kit.send_callback(["not-yet-known-to-the-product", SECRET], product.url,
                               idempotency_key="k-1", status="done")  # fmt: skip
    assert status == 200 and product.refused == 1 and len(product.callbacks) == 1


def test_a_product_that_cannot_be_reached_raises_after_the_attempts():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(kit.CallbackFailed, match="not delivered after 2 tries"):
        kit.send_callback(SECRET, f"http://127.0.0.1:{port}/cb/", idempotency_key="k-1",
                          status="done", attempts=2, wait=0)  # fmt: skip


def test_a_callback_url_that_is_not_http_is_refused_before_sending():
    with pytest.raises(kit.CallbackFailed, match="not an http"):
        kit.send_callback(SECRET, "file:///etc/passwd", idempotency_key="k-1", status="done")
