"""The staff detail of a request (API and page) reads who filed it with the request's row: the
answer's representation and the actions offered ask no query of their own."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dsar.portal.services import AgentClaim, FiledAs, file_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_limits")]


def statements(client, url) -> list[str]:
    client.get(url)  # the first call warms per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def reads_who_filed_apart(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "legal_representation" ' in sql


@pytest.mark.parametrize("filed_as", [FiledAs.SELF, FiledAs.AGENT])
def test_who_filed_comes_with_the_request_row(filed_as, api_as, client, staff_user):
    agent = AgentClaim(name="Wang Fang", authority="power_of_attorney")
    request = file_request(
        type="deletion", email="han.meimei@example.com", ip="192.0.2.1", full_name="Han Meimei",
        filed_as=filed_as, agent=agent if filed_as == FiledAs.AGENT else None,
    )  # fmt: skip
    api = api_as("supervisor")
    answer = api.get(f"/api/v1/staff/requests/{request.pk}/").json()
    assert (answer["representation"] or {}).get("kind") == (
        "agent" if filed_as == FiledAs.AGENT else None
    )
    client.force_login(staff_user("supervisor", username="page-supervisor"))

    for who, url in ((api, f"/api/v1/staff/requests/{request.pk}/"),
                     (client, f"/staff/requests/{request.pk}/")):  # fmt: skip
        read = statements(who, url)
        assert any('LEFT OUTER JOIN "legal_representation"' in sql for sql in read), url
        assert not [sql for sql in read if reads_who_filed_apart(sql)], url
