"""parse() reads the product's request and says plainly what is wrong with a bad one."""

import json

import dsar_downstream as kit
import pytest
from conftest import message


def body(**changes) -> bytes:
    data = message(idempotency_key="k-1", callback_url="http://127.0.0.1/cb/")
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_a_request_is_parsed_into_its_fields():
    request = kit.parse(body(action="correct", changes=[{"field": "name", "value": "Li"}],
                             test=True, future_field=1))  # fmt: skip
    assert request.action == "correct" and request.idempotency_key == "k-1"
    assert request.subject == kit.Subject("li.lei@example.com", "", "acct-1")
    assert request.changes == (kit.Change("name", "Li"),)
    assert (request.callback_url, request.cursor, request.test) == (
        "http://127.0.0.1/cb/", None, True)  # fmt: skip


def test_an_export_page_carries_its_cursor():
    assert kit.parse(body(action="export", cursor="page-2")).cursor == "page-2"
    assert kit.parse(body(action="export", cursor=None)).cursor is None


def test_a_subject_key_left_out_is_an_empty_string():
    request = kit.parse(body(subject={"phone": "+8613912345678"}))
    assert request.subject == kit.Subject("", "+8613912345678", "")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (body(action="purge"), "Unknown action 'purge'"),
        (body(action=...), "Unknown action None"),
        (body(idempotency_key=""), "idempotency_key"),
        (body(idempotency_key=7), "idempotency_key"),
        (body(subject="li.lei@example.com"), "Give subject"),
        (body(subject={"email": "", "phone": "", "account_id": ""}), "names no email"),
        (body(subject={"email": ["a@b"]}), "subject.email is not a string"),
        (body(action="correct"), "needs changes"),
        (body(action="correct", changes=[]), "needs changes"),
        (body(action="correct", changes=[{"field": "name", "value": 3}]), r"changes\[0\]"),
        (body(action="export", cursor=2), "cursor is not a string"),
        (body(test="yes"), "test is not true or false"),
        (body(callback_url=["x"]), "callback_url is not a string"),
    ],
)
def test_a_bad_body_is_refused_with_what_is_wrong(raw, says):
    with pytest.raises(kit.BadRequest, match=says) as refused:
        kit.parse(raw)
    assert refused.value.status == 400
