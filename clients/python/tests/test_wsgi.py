"""The WSGI app, served by wsgiref on 127.0.0.1, answers the product as the protocol says."""

import http.client
import json
import threading

import dsar_downstream as kit
import pytest
from conftest import SECRET, Rows, message, post, send, signed


@pytest.fixture
def rows():
    return Rows()


@pytest.fixture
def url(serve, rows):
    return serve(kit.wsgi_app(rows, SECRET))


def test_a_deletion_is_done_and_echoes_the_key(url, rows):
    data = message()
    assert send(url, data) == (200, {"deleted": 5, "idempotency_key": data["idempotency_key"]})
    assert rows.rows == [{"email": "bystander@example.com", "order": 99}]


def test_a_repeated_deletion_gets_the_same_answer_and_is_done_once(url, rows):
    data = message()
    first = send(url, data)
    rows.rows.append({"email": "li.lei@example.com", "order": 100})  # arrived since
    assert (
        send(url, data)
        == first
        == (200, {"deleted": 5, "idempotency_key": data["idempotency_key"]})
    )
    assert [call[0] for call in rows.calls] == ["delete"]


def test_a_key_reused_for_another_subject_is_a_conflict(url, rows):
    data = message()
    send(url, data)
    other = {**data, "subject": {"email": "bystander@example.com"}}
    assert send(url, other) == (409, {"error": "This idempotency key was used for another "
                                               "request."})  # fmt: skip
    assert {"email": "bystander@example.com", "order": 99} in rows.rows


def test_a_wrong_signature_is_401_and_nothing_is_done(url, rows):
    status, answer = send(url, message(), secret="guessed-secret-12345")
    assert (status, answer) == (401, {"error": "Bad X-DSAR-Signature."})
    assert rows.calls == [] and len(rows.rows) == 6


def test_a_bad_body_is_400_with_the_reason(url, rows):
    raw = b'{"action": "delete"}'
    assert post(url, raw, signed(raw)) == (400, {"error": "Give idempotency_key, a non-empty "
                                                          "string."})  # fmt: skip
    assert rows.calls == []


def test_an_idempotency_key_header_that_differs_from_the_body_is_400(url, rows):
    data = message()
    raw = json.dumps(data).encode()
    status, _ = post(url, raw, {**signed(raw), "Idempotency-Key": "another-key"})
    assert status == 400 and rows.calls == []


def test_only_post_is_answered(url):
    assert post(url, None, {}, method="GET") == (405, {"error": "POST only."})


def test_a_body_larger_than_a_megabyte_is_refused_unread(url, rows):
    conn = http.client.HTTPConnection("127.0.0.1", int(url.split(":")[2].strip("/")), timeout=10)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", str((1 << 20) + 1))
    conn.endheaders()  # and no body: the answer comes before anyone reads one
    assert conn.getresponse().status == 413
    conn.close()


def test_an_action_the_service_does_not_do_is_refused_for_staff_to_read(url):
    status, answer = send(url, message("anonymise"))
    assert status == 422 and "does not do 'anonymise'" in answer["error"]


def test_an_export_comes_in_pages_linked_by_the_cursor(url):
    data, pages = message("export"), []
    while True:
        status, answer = send(url, data)
        assert status == 200 and answer["idempotency_key"] == data["idempotency_key"]
        pages.append([row["order"] for row in answer["rows"]])
        if "next" not in answer:
            break
        data = {**data, "cursor": answer["next"]}  # the same key for every page
    assert pages == [[0, 1], [2, 3], [4]]


def test_a_check_answers_what_the_service_holds(url):
    data = message("check")
    assert send(url, data) == (200, {"emails": ["li.lei@example.com"],
                                     "idempotency_key": data["idempotency_key"]})  # fmt: skip


class Slow(Rows):
    """Deletes in the background; a ``fail`` message makes the work fail."""

    def __init__(self, fail=None):
        super().__init__()
        self.fail, self.runs = fail, 0

    def delete(self, request):
        def work():
            self.runs += 1
            if self.fail:
                raise self.fail
            return f"{Rows.delete(self, request)['deleted']} rows deleted"

        return kit.later(work)

    def close_account(self, request):
        return kit.accepted()


def test_deferred_work_is_answered_202_then_reported_by_a_signed_callback(serve, product):
    handler = Slow()
    url = serve(kit.wsgi_app(handler, SECRET))
    data = message(callback_url=product.url)
    assert send(url, data) == (202, {"accepted": True,
                                     "idempotency_key": data["idempotency_key"]})  # fmt: skip
    assert product.wait() == [{"path": "/api/v1/callbacks/task-1/", "status": "done",
                               "idempotency_key": data["idempotency_key"],
                               "detail": "5 rows deleted"}]  # fmt: skip
    assert product.refused == 0 and len(handler.rows) == 1


def test_deferred_work_that_is_refused_is_reported_failed_with_the_reason(serve, product):
    url = serve(kit.wsgi_app(Slow(fail=kit.Refuse("Legal hold on this account.")), SECRET))
    data = message(callback_url=product.url)
    assert send(url, data)[0] == 202
    [callback] = product.wait()
    assert (callback["status"], callback["detail"]) == ("failed", "Legal hold on this account.")


def test_deferred_work_that_crashes_is_reported_failed_without_its_message(serve, product):
    url = serve(kit.wsgi_app(Slow(fail=RuntimeError("li.lei@example.com broke it")), SECRET))
    send(url, message(callback_url=product.url))
    [callback] = product.wait()
    assert callback["status"] == "failed"
    assert callback["detail"] == "the service failed (RuntimeError)"  # no personal data


def test_a_repeat_after_the_callback_sends_it_again_without_doing_the_work_again(serve, product):
    handler = Slow()
    url = serve(kit.wsgi_app(handler, SECRET))
    data = message(callback_url=product.url)
    send(url, data)
    product.wait(1)
    assert send(url, data)[0] == 202  # the product did not get our callback, it asks again
    assert [c["status"] for c in product.wait(2)] == ["done", "done"]
    assert handler.runs == 1


def test_work_the_service_reports_itself_is_answered_202_and_not_called_back(serve, product):
    url = serve(kit.wsgi_app(Slow(), SECRET))
    data = message("close_account", callback_url=product.url)
    assert send(url, data)[0] == 202
    assert send(url, data)[0] == 202  # a repeat: still accepted, still the service's to report
    assert product.callbacks == []


class Flaky(Rows):
    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def delete(self, request):
        if self.problem:
            problem, self.problem = self.problem, None
            raise problem
        return super().delete(request)


@pytest.mark.parametrize(
    ("problem", "status"), [(RuntimeError("bug"), 500), (kit.TryLater("Maintenance."), 503)]
)
def test_after_a_failed_attempt_the_same_key_may_act(serve, problem, status):
    url = serve(kit.wsgi_app(Flaky(problem), SECRET))
    data = message()
    assert send(url, data)[0] == status  # the product retries a 5xx
    assert send(url, data) == (200, {"deleted": 5, "idempotency_key": data["idempotency_key"]})


def test_a_repeat_while_the_first_attempt_still_runs_is_asked_to_come_back(serve):
    release, entered = threading.Event(), threading.Event()

    class Stuck(Rows):
        def delete(self, request):
            entered.set()
            release.wait(10)
            return super().delete(request)

    url = serve(kit.wsgi_app(Stuck(), SECRET))
    data = message()
    first = threading.Thread(target=send, args=(url, data))
    first.start()
    entered.wait(10)
    try:
        assert send(url, data)[0] == 503  # retried later by the product, not failed
    finally:
        release.set()
        first.join()


def test_a_check_answered_later_is_a_bug_of_the_service_not_a_202(serve):
    class Lazy(Rows):
        def check(self, request):
            return kit.later(lambda: "checked")

    url = serve(kit.wsgi_app(Lazy(), SECRET))
    assert send(url, message("check"))[0] == 500  # the product would fail a 202 to check
