"""The rules a data map must pass: a bad map is refused with a message per offending path,
and nothing of it is taken."""

import copy

import pytest

from dsar.datamap import document
from tests.datamap.shop import SHOP_MAP


def broken(change) -> dict:
    datamap = copy.deepcopy(SHOP_MAP)
    change(datamap)
    return datamap


def errors_of(datamap, **kwargs) -> dict:
    with pytest.raises(document.MapError) as caught:
        document.parse(datamap, **kwargs)
    return caught.value.errors


def test_the_shop_map_passes_and_orders_children_before_parents():
    datamap = document.parse(SHOP_MAP, retention_categories=["tax-records"])
    order = [t.name for t in datamap.children_first()]
    assert order.index("item_reviews") < order.index("order_items") < order.index("orders")
    assert order.index("orders") < order.index("customers")
    assert datamap.reachable() == set(SHOP_MAP["tables"])


def test_a_reference_to_a_missing_column_is_refused():
    errors = errors_of(broken(lambda m: m["references"].append(
        {"from": "orders.customer_ref", "to": "customers.id"})))  # fmt: skip
    assert errors == {
        "references.3.from": ["The table orders has no column customer_ref in the map."]
    }


def test_a_cycle_of_references_is_refused():
    def cycle(m):
        m["tables"]["customers"]["columns"]["last_review"] = {"type": "integer"}
        m["references"].append({"from": "customers.last_review", "to": "item_reviews.id"})

    errors = errors_of(broken(cycle))
    assert "cycle" in errors["references"][0]
    assert "customers → item_reviews → order_items → orders → customers" in errors["references"][0]


@pytest.mark.parametrize(
    ("column", "spec", "message"),
    [
        ("status", {"type": "varchar(20)", "nullable": False, "category": "online_identity",
                    "policy": "mask", "mask": "null"}, "NOT NULL"),
        ("total", {"type": "integer", "category": "transaction", "policy": "mask",
                   "mask": "hash"}, "cannot take it"),
        ("total", {"type": "integer", "category": "transaction", "policy": "mask",
                   "mask": {"value": "none"}}, "whole number"),
        ("ship_to", {"type": "varchar(4)", "category": "contact", "policy": "mask",
                     "mask": {"value": "removed"}}, "longer than"),
        ("ship_to", {"type": "varchar(200)", "category": "contact", "policy": "mask",
                     "mask": "scramble"}, 'Give "null", "hash"'),
    ],
)  # fmt: skip
def test_a_policy_the_column_type_cannot_take_is_refused(column, spec, message):
    table = "customers" if column == "status" else "orders"

    def change(m):
        m["tables"][table]["columns"][column] = spec
        if table == "customers":  # one table: a deleted row cannot keep a masked column
            for other in m["tables"]["customers"]["columns"].values():
                if other.get("policy") == "delete":
                    other.update(policy="mask", mask="hash")

    errors = errors_of(broken(change))
    assert message in " ".join(errors[f"tables.{table}.columns.{column}.mask"])


def test_deleting_a_row_while_retaining_one_of_its_columns_is_refused():
    def change(m):
        m["tables"]["customers"]["columns"]["tax_no"] = {
            "type": "varchar(40)", "category": "transaction", "policy": "retain",
            "retention": "tax-records"}  # fmt: skip

    assert "A deleted row takes every column" in errors_of(broken(change))["tables.customers"][0]


def test_a_retention_category_the_legal_table_does_not_know_is_refused():
    errors = errors_of(SHOP_MAP, retention_categories=["payroll"])
    assert errors == {
        "tables.orders.columns.invoice_no.retention": [
            "No retention rule has the category tax-records."
        ]
    }


def test_a_personal_table_no_key_reaches_is_refused():
    def change(m):
        m["references"] = [r for r in m["references"] if r["from"] != "item_reviews.item_id"]

    assert "add a reference" in errors_of(broken(change))["tables.item_reviews"][0]


def test_unknown_categories_identities_and_shapes_are_refused_together():
    def change(m):
        m["tables"]["customers"]["columns"]["email"]["category"] = "gossip"
        m["tables"]["customers"]["columns"]["phone"]["identity"] = "wechat"
        m["correct"]["nickname"] = "customers.nickname"
        m["account"] = {"table": "customers"}

    errors = errors_of(broken(change))
    assert set(errors) == {
        "tables.customers.columns.email.category",
        "tables.customers.columns.phone.identity",
        "correct.nickname",
        "account",
    }


def test_messages_name_their_path_for_the_registry():
    error = document.MapError({"tables.orders": ["Bad."]})
    assert error.messages() == ["map.tables.orders: Bad."]


def test_every_data_category_is_labelled_in_both_languages():
    from django.utils import translation

    from dsar.datamap.categories import CATEGORIES

    with translation.override("en"):
        english = {key: str(label) for key, label in CATEGORIES.items()}
    with translation.override("zh-hans"):
        chinese = {key: str(label) for key, label in CATEGORIES.items()}
    assert all(chinese[key] != english[key] for key in CATEGORIES)
    assert chinese["location"].startswith("个人位置信息")
