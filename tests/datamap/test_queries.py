"""Queries generated from a data map, run on a real PostgreSQL and a real MariaDB: the
subject's rows are found across a three-hop chain of references, exported, deleted and
masked as the map says, other subjects' rows stay byte for byte, and the proof of erasure
sees what remains."""

import re
from functools import partial

import pytest

from dsar.datamap import document, engines
from dsar.datamap.queries import Queries, _keyed
from tests.datamap.shop import HAN, LI, SHOP_MAP, dump, load, rows_for

DATAMAP = document.parse(SHOP_MAP)


def queries_for(dsn: str, keys: dict) -> tuple[Queries, object]:
    engine = engines.engine_for(dsn)
    return Queries(DATAMAP, keys, dialect=engine.dialect.name), engine


def others(dump_: dict) -> dict:
    """Every row that is not Li Lei's (customer 1, orders 1000–1999, their items and
    reviews, her sign-up)."""
    mine = {
        "customers": lambda r: r[0] == 1,
        "orders": lambda r: 1000 <= r[0] < 2000,
        "order_items": lambda r: 10000 <= r[0] < 20000,
        "item_reviews": lambda r: 100000 <= r[0] < 200000,
        "newsletter_signups": lambda r: r[0] == LI["email"],
    }
    return {name: [r for r in rows if not mine[name](r)] for name, rows in dump_.items()}


def test_export_follows_three_hops_and_returns_only_the_subjects_rows(shop):
    queries, engine = queries_for(shop, LI)
    with engines.transaction(engine, read_only=True) as conn:
        rows = list(queries.export(conn))
    by_table = {}
    for row in rows:
        by_table.setdefault(row["table"], []).append(row)
    assert {t: len(r) for t, r in by_table.items()} == {
        "customers": 1, "orders": 2, "order_items": 2, "item_reviews": 2, "newsletter_signups": 1,
    }  # fmt: skip
    assert by_table["customers"][0]["name"] == "Li Lei"  # found by the phone's national form too
    assert {r["review_text"] for r in by_table["item_reviews"]} == {"Good 0", "Good 1"}
    assert all(r["customer_id"] == 1 for r in by_table["orders"])
    # The order of a page: the account first, then what hangs off it.
    assert [r["table"] for r in rows][0] in ("customers", "newsletter_signups")


def test_a_subject_known_only_by_phone_is_found_through_the_national_form(shop):
    queries, engine = queries_for(shop, {"phone": LI["phone"]})
    with engines.transaction(engine, read_only=True) as conn:
        assert queries.count(conn, "item_reviews") == 2
        assert queries.count(conn, "newsletter_signups") == 0  # no phone there


@pytest.mark.parametrize("chunk", [1000, 1])
def test_erasure_deletes_masks_and_retains_as_mapped_and_leaves_others_untouched(shop, chunk):
    before = dump(shop)
    queries, engine = queries_for(shop, LI)
    report = queries.erase(partial(engines.transaction, engine), chunk=chunk)
    after = dump(shop)

    assert others(after) == others(before)  # Han Mei's rows, byte for byte
    assert [r for r in after["customers"] if r[0] == 1] == []
    assert [r for r in after["order_items"] if r[0] < 20000] == []
    assert [r for r in after["item_reviews"] if r[0] < 200000] == []
    assert [r for r in after["newsletter_signups"] if r[0] == LI["email"]] == []
    mine = [r for r in after["orders"] if r[0] < 2000]
    assert len(mine) == 2  # kept: the invoice number is retained for tax
    for (id_, customer_id, ship_to, phone, total, invoice), old in zip(
        mine, [r for r in before["orders"] if r[0] < 2000], strict=True
    ):
        assert ship_to is None  # masked with null
        assert re.fullmatch(r"[0-9a-f]{64}", phone) and phone != old[3]  # keyed hash
        assert (id_, customer_id, total, invoice) == (old[0], old[1], old[4], old[5])
    assert report.deleted == 1 + 2 + 2 + 1  # customer, items, reviews, sign-up
    assert report.masked == 2
    assert report.retained == ["orders.invoice_no (tax-records)"]
    if chunk == 1:
        assert report.statements > 12  # one short statement per row and chunk, not one per table
    with engines.transaction(engine, read_only=True) as conn:
        assert queries.leftovers(conn) == {}


def test_the_keyed_hash_keeps_distinct_values_distinct_and_is_stable(shop):
    """Two subjects' masked phones differ (a unique column stays unique); masking the same
    value again gives the same hash (a retried chunk changes nothing)."""
    for keys in (LI, HAN):
        queries, engine = queries_for(shop, keys)
        queries.erase(partial(engines.transaction, engine))
    phones = [r[3] for r in dump(shop)["orders"]]
    assert len(set(phones)) == len(phones) == 4


def test_erasing_twice_changes_nothing_more(shop):
    queries, engine = queries_for(shop, LI)
    queries.erase(partial(engines.transaction, engine))
    once = dump(shop)
    report = queries.erase(partial(engines.transaction, engine))
    assert dump(shop) == once
    assert report.deleted == 0


def test_leftovers_name_the_tables_that_still_hold_the_subject(shop):
    queries, engine = queries_for(shop, LI)
    with engines.transaction(engine, read_only=True) as conn:
        assert queries.leftovers(conn) == {
            "customers": 1, "orders": 2, "order_items": 2, "item_reviews": 2,
            "newsletter_signups": 1,
        }  # fmt: skip


def test_anonymise_keeps_every_row_and_masks_what_would_be_deleted(shop):
    queries, engine = queries_for(shop, LI)
    queries.erase(partial(engines.transaction, engine), anonymise=True)
    after = dump(shop)
    assert len(after["order_items"]) == 4 and len(after["customers"]) == 2
    li_items = [r for r in after["order_items"] if r[0] < 20000]
    assert all(r[2] is None for r in li_items)  # gift messages gone, rows kept
    han = [r for r in after["customers"] if r[0] == 2][0]
    assert han[1] == HAN["email"]
    with engines.transaction(engine, read_only=True) as conn:
        assert queries.leftovers(conn, anonymise=True) == {}


def test_check_reports_identities_held_and_retained_categories(shop):
    queries, engine = queries_for(shop, LI)
    with engines.transaction(engine, read_only=True) as conn:
        rows = queries.check(conn)
    assert {"category": "tax-records"} in rows
    assert {r.get("email") for r in rows} >= {LI["email"]}
    assert "13912345678" in {r.get("phone") for r in rows}


def test_correct_and_close_account_write_only_the_subjects_row(shop):
    before = dump(shop)
    queries, engine = queries_for(shop, LI)
    with engines.transaction(engine) as conn:
        assert queries.correct(conn, [{"field": "name", "value": "李雷"}]) == 1
        assert queries.correct(conn, [{"field": "unmapped", "value": "x"}]) == 0
        assert queries.close_account(conn) == 1
    after = dump(shop)
    li = [r for r in after["customers"] if r[0] == 1][0]
    assert (li[3], li[4]) == ("李雷", "closed")
    assert others(after) == others(before)


def test_no_key_finds_no_row(shop):
    queries, engine = queries_for(shop, {"email": "", "phone": "", "account_id": ""})
    assert queries.reached() == []
    assert queries.erase(partial(engines.transaction, engine)).deleted == 0
    assert dump(shop) == dump(shop)


def test_the_same_map_runs_on_sqlite(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    (tmp_path / "shop.sqlite3").touch()
    load(dsn, rows_for())
    before = dump(dsn)
    queries, engine = queries_for(dsn, LI)
    queries.erase(partial(engines.transaction, engine), chunk=1)
    after = dump(dsn)
    assert others(after) == others(before)
    assert [r for r in after["newsletter_signups"] if r[0] == LI["email"]] == []  # by rowid
    with engines.transaction(engine, read_only=True) as conn:
        assert queries.leftovers(conn) == {}


def test_no_subject_value_reaches_a_log_even_at_debug(shop):
    """SQLAlchemy logs parameters and rows at INFO/DEBUG; our engines never do."""
    import logging

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler, logger = Keep(logging.DEBUG), logging.getLogger("sqlalchemy")
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        queries, engine = queries_for(shop, LI)
        with engines.transaction(engine, read_only=True) as conn:
            assert list(queries.export(conn))
        queries.erase(partial(engines.transaction, engine))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    text = "\n".join(records)
    for value in (LI["email"], "Li Lei", "13912345678", "Street 0", "Good 0"):
        assert value not in text


class Crash(Exception):
    """The worker dies."""


class Kept:
    """A checkpoint kept in memory; ``crash_after`` saves, the process dies (the chunk it
    recorded is committed and recorded)."""

    def __init__(self, crash_after: int | None = None):
        self.state, self.saves, self.crash_after = {}, 0, crash_after

    def load(self) -> dict:
        return __import__("copy").deepcopy(self.state)

    def save(self, state: dict) -> None:
        self.state = __import__("copy").deepcopy(state)
        self.saves += 1
        if self.saves == self.crash_after:
            raise Crash


@pytest.mark.parametrize("crash_after", [2, 7, 9])
def test_an_erasure_cut_short_resumes_without_redoing_finished_chunks(shop, crash_after):
    """In chunks of one row: the crash comes part-way (in the reviews, half-way through the
    hashed orders, or once they are done); the resumed run goes on from the last recorded
    chunk, so every phone is hashed once (a hash of a hash would differ), and the report
    counts the whole erasure."""
    before = dump(shop)
    queries, engine = queries_for(shop, LI)
    checkpoint = Kept(crash_after=crash_after)
    with pytest.raises(Crash):
        queries.erase(partial(engines.transaction, engine), chunk=1, checkpoint=checkpoint)
    checkpoint.crash_after = None
    resumed_queries, _ = queries_for(shop, LI)
    report = resumed_queries.erase(
        partial(engines.transaction, engine), chunk=1, checkpoint=checkpoint
    )
    after = dump(shop)
    assert others(after) == others(before)

    column = DATAMAP.tables["orders"].columns["contact_phone"]
    originals = {r[0]: r[3] for r in before["orders"] if r[0] < 2000}
    masked = {r[0]: r[3] for r in after["orders"] if r[0] < 2000}
    assert masked == {i: _keyed("orders", column, phone) for i, phone in originals.items()}
    assert (report.deleted, report.masked) == (6, 2)
    assert all(table["finished"] for table in checkpoint.state.values())
    with engines.transaction(engine, read_only=True) as conn:
        assert resumed_queries.leftovers(conn) == {}
