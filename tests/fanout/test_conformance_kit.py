"""The client kit's example service (``clients/python/README.md``, "A whole service") passes
the conformance check: a team that writes only "find, export, delete this subject's rows" on
the kit speaks the protocol."""

import json
import sqlite3
import threading

import dsar_downstream as dsar
import pytest

from dsar.fanout import conformance
from dsar.fanout.models import DownstreamSystem
from tests.support.signing import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


class Orders(dsar.Handler):
    """The README's example, as written there."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, check_same_thread=False)

    def check(self, request):
        rows = self.db.execute(
            "SELECT email FROM customers WHERE account = ? AND account <> ''",
            [request.subject.account_id],
        )
        return {"emails": [email for (email,) in rows]}

    def export(self, request):
        rows = self.db.execute(
            "SELECT id, total FROM orders WHERE email = ?", [request.subject.email]
        )
        return [{"order": order, "total": total} for order, total in rows]

    def delete(self, request):
        with self.db:
            gone = self.db.execute("DELETE FROM orders WHERE email = ?", [request.subject.email])
        return {"deleted": gone.rowcount}


@pytest.fixture
def example_service(tmp_path, settings, live_server):
    settings.DSAR_PUBLIC_BASE_URL = live_server.url
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (email TEXT, account TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, total INTEGER)")
        conn.execute("INSERT INTO customers VALUES ('li.lei@example.com', 'acct-1')")
        conn.execute("INSERT INTO orders (email, total) VALUES ('li.lei@example.com', 10)")
    app = dsar.wsgi_app(Orders(path), SECRET, store=dsar.SqliteStore(str(tmp_path / "keys.db")))
    server = dsar.make_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_the_kit_example_service_conforms(example_service):
    system = DownstreamSystem.objects.create(
        name="orders", kind="http", actions=["check", "export", "delete"], timeout_seconds=2,
        enabled=False, config=json.dumps({"url": example_service, "secret": SECRET}),
    )  # fmt: skip
    report = conformance.check(system, wait=2)
    assert report.failures == []
    assert {p.split(":", 1)[0] for p in report.passes} >= {"check", "export", "delete"}
