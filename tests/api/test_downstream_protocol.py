"""The downstream protocol's OpenAPI document as the product serves it: public, cacheable,
a valid OpenAPI 3.1 description that names every action, and true to what we really send."""

import uuid

import pytest
import yaml
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from dsar.fanout import protocol
from dsar.fanout.connectors import SubjectKeys, http

URL = "/api/v1/downstream-protocol.yaml"


@pytest.fixture
def served(client):
    return client.get(URL)


def test_it_is_served_publicly_as_cacheable_yaml(served):
    assert served.status_code == 200
    assert served["Content-Type"] == "application/yaml; charset=utf-8"
    assert {"public", "max-age=3600"} <= {p.strip() for p in served["Cache-Control"].split(",")}


def test_it_is_a_valid_openapi_31_document_of_version_v1(served):
    document = yaml.safe_load(served.content)
    OPENAPI_31_VALIDATOR.validate(document)
    assert document["info"]["version"] == http.PROTOCOL_VERSION == "v1"
    assert set(document["paths"]["/"]["post"]["responses"]) == {"200", "202", "4XX", "5XX"}


def test_it_names_every_action_the_http_connector_sends(served):
    document = yaml.safe_load(served.content)
    assert set(document["components"]["schemas"]["Action"]["enum"]) == set(http.Http.actions)


def test_it_describes_the_bodies_we_really_send():
    keys = SubjectKeys(email="li.lei@example.com", account_id="acct-1")
    for action in protocol.actions():
        message = http.message_for(
            action=action, keys=keys, idempotency_key=str(uuid.uuid4()),
            callback_url="https://dsar.example/api/v1/callbacks/x/", test=True,
            changes=[{"field": "name", "value": "李雷"}] if action == "correct" else None,
        )  # fmt: skip
        assert protocol.problems("ActionRequest", message) == []
    assert protocol.problems("ActionRequest", {**message, "action": "purge"}) == [
        f"action: must be one of {protocol.actions()}"
    ]


def test_it_only_answers_reads(client):
    assert client.post(URL).status_code == 405
