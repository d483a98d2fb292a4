"""Discovery on a real downstream: the 26-table shop of conftest.py, on PostgreSQL and on
MariaDB (every test here runs on both), no declared foreign keys, Chinese comments."""

import json
import logging
import os

import pytest
import sqlalchemy as sa

from dsar.datamap.categories import CATEGORIES
from dsar.datamap.discovery import Draft, Reference, discover, inspect_schema, read_only
from tests.datamap.conftest import (
    INFERRED,
    NOT_PERSONAL,
    PERSONAL,
    SERVERS,
    TABLES,
    create_database,
    drop_database,
    personal_values,
)

IDENTITIES = {"", "email", "phone", "account_id", "id_card", "open_id", "device_id"}


@pytest.fixture(scope="session")
def draft(downstream):
    return discover(downstream.engine)


def proposed(draft):
    return {(p.table, p.column): p for p in draft.proposals}


def test_every_seeded_personal_column_is_proposed(draft):
    assert set(PERSONAL) - set(proposed(draft)) == set()


def test_no_seeded_non_personal_column_is_proposed(draft):
    assert set(proposed(draft)) & NOT_PERSONAL == set()


def test_each_proposal_names_the_seeded_identity_and_category(draft):
    found = {key: (p.identity, p.category) for key, p in proposed(draft).items()}
    assert {key: found.get(key) for key in PERSONAL} == PERSONAL


def test_proposals_are_well_formed(draft):
    for proposal in draft.proposals:
        assert proposal.identity in IDENTITIES
        assert proposal.category in CATEGORIES
        assert proposal.evidence
        assert 0 < proposal.confidence <= 1


def test_name_comment_and_values_each_count_as_evidence(draft):
    found = proposed(draft)
    assert found[("users", "mobile")].evidence == (
        "name: mobile",
        "comment: 手机",
        "values: 50 of 50 sampled look like CN mobile numbers",
    )
    assert found[("orders", "contact")].evidence == (
        "values: 50 of 50 sampled look like CN mobile numbers",
    )
    assert found[("employees", "emp_name")].evidence == ("comment: 姓名",)
    assert found[("login_log", "uid")].evidence == ("reference: inferred, to users.id",)


def test_more_evidence_gives_more_confidence(draft):
    found = proposed(draft)
    assert found[("users", "mobile")].confidence > found[("orders", "contact")].confidence
    assert found[("orders", "contact")].confidence > found[("employees", "emp_name")].confidence


def test_a_phone_column_without_mobile_numbers_is_proposed_with_less_confidence(draft):
    found = proposed(draft)
    landline = found[("employees", "lxdh")]  # 联系电话, holding 010-… numbers
    assert landline.identity == "phone"
    assert landline.evidence[-1] == "values: 0 of 50 sampled look like CN mobile numbers"
    assert landline.confidence < found[("user_addresses", "receiver_phone")].confidence


def test_schema_has_tables_columns_keys_and_chinese_comments(draft):
    schema = draft.schema
    assert [table.name for table in schema.tables] == sorted(t.name for t in TABLES)
    users = schema.table("users")
    assert users.primary_key == ("id",)
    assert users.comment == "用户表"
    assert users.column("id_card").comment == "身份证号"
    assert users.column("email").nullable is True
    assert "CHAR" in users.column("email").type.upper()
    assert all(table.references == () for table in schema.tables)
    assert users.row_estimate is None or users.row_estimate <= 60


def test_inspect_schema_reads_the_same_schema_as_discover(downstream, draft):
    assert inspect_schema(downstream.engine) == draft.schema


def test_references_are_inferred_from_names_where_none_is_declared(draft):
    found = {
        (r.table, r.columns, r.ref_table, r.ref_columns, r.declared)
        for r in draft.inferred_references
    }
    assert found == {(t, (c,), rt, (rc,), False) for t, c, rt, rc in INFERRED}


def test_no_sampled_value_is_in_the_draft(downstream, draft):
    stored = json.dumps(draft.to_dict(), ensure_ascii=False)
    leaked = [value for value in personal_values(downstream.rows) if value in stored]
    assert leaked == []


def test_no_sampled_value_is_logged_even_with_sqlalchemy_at_debug(downstream, caplog):
    with caplog.at_level(logging.DEBUG, logger="sqlalchemy"):
        discover(downstream.engine)
    assert "SELECT" in caplog.text  # the catalogue queries were logged, rows and all
    leaked = [value for value in personal_values(downstream.rows) if value in caplog.text]
    assert leaked == []


def test_draft_survives_json(draft):
    assert Draft.from_dict(json.loads(json.dumps(draft.to_dict()))) == draft


def test_sample_size_bounds_the_rows_read(downstream):
    small = proposed(discover(downstream.engine, sample_size=5))
    assert small[("orders", "contact")].evidence == (
        "values: 5 of 5 sampled look like CN mobile numbers",
    )
    names_only = proposed(discover(downstream.engine, sample_size=0))
    assert ("orders", "contact") not in names_only
    assert ("users", "mobile") in names_only


def test_discovery_reads_in_a_read_only_transaction(downstream):
    with read_only(downstream.engine) as connection, pytest.raises(sa.exc.DBAPIError):
        connection.execute(sa.text("UPDATE users SET mobile = '1' WHERE id = 1"))
    with downstream.engine.connect() as connection:
        mobiles = connection.execute(sa.text("SELECT mobile FROM users WHERE id = 1")).scalar()
    assert mobiles == downstream.rows["users"][0]["mobile"]


@pytest.fixture(scope="module")
def crm():
    """PostgreSQL only: a ``crm`` schema with a declared foreign key, and a role that may
    read two of its three tables."""
    name, role = f"dsar_disc_crm_{os.getpid()}", f"dsar_disc_reader_{os.getpid()}"
    engine = create_database("postgresql", name)
    mobiles = ", ".join(f"({n}, '1390000{n:04d}', '1380000{n:04d}')" for n in range(1, 21))
    with engine.begin() as connection:
        for statement in (
            "CREATE SCHEMA crm",
            "CREATE TABLE crm.clients (id int PRIMARY KEY, phone varchar(20))",
            "CREATE TABLE crm.calls (id int PRIMARY KEY, client_id int REFERENCES crm.clients,"
            " minutes int)",
            "CREATE TABLE crm.secrets (id int PRIMARY KEY, mobile varchar(20), memo varchar(20))",
            f"INSERT INTO crm.secrets VALUES {mobiles}",
            "INSERT INTO crm.clients SELECT id, mobile FROM crm.secrets",
            f"CREATE ROLE {role} LOGIN PASSWORD 'reader'",
            f"GRANT USAGE ON SCHEMA crm TO {role}",
            f"GRANT SELECT ON crm.clients, crm.calls TO {role}",
        ):
            connection.execute(sa.text(statement))
    reader = sa.create_engine(f"postgresql+psycopg://{role}:reader@127.0.0.1:5432/{name}")
    yield engine, reader
    reader.dispose()
    engine.dispose()
    drop_database("postgresql", name)
    admin = sa.create_engine(SERVERS["postgresql"].format("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP ROLE {role}"))
    admin.dispose()


def test_a_declared_foreign_key_is_kept_and_not_inferred_again(crm):
    draft = discover(crm[0], schema="crm")
    calls = draft.schema.table("calls")
    assert calls.references == (Reference("calls", ("client_id",), "clients", ("id",), True),)
    assert draft.inferred_references == ()
    client = proposed(draft)[("calls", "client_id")]
    assert (client.identity, client.evidence) == (
        "account_id",
        ("reference: declared, to clients.id",),
    )


def test_a_table_it_may_not_read_is_named_and_judged_by_its_names_only(crm):
    draft = discover(crm[1], schema="crm")
    assert draft.unsampled == ("secrets",)
    found = proposed(draft)
    assert found[("secrets", "mobile")].evidence == ("name: mobile",)
    assert ("secrets", "memo") not in found  # only its values could have told
    assert found[("clients", "phone")].evidence[-1].startswith("values: 20 of 20")
