"""A relative's access request end to end with a real downstream database: nothing leaves
before legal approves, then the deceased's data is exported and the package goes to the
relative only (the link's email, the package's request, nothing to the deceased's address)."""

import io
import json
import re
import zipfile

import pytest
from django.core import mail

from dsar.exports.models import Package
from dsar.exports.services import package_for_token
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.notifications.models import OutboundEmail
from dsar.staff import services as staff
from dsar.workflow.models import RightsRequest, Status
from tests.legal.test_relatives import DECEASED, RELATIVE, file_by_api, review
from tests.support.subject import code_from_outbox

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def storage_dirs(settings, tmp_path, fresh_limits):
    settings.DSAR_EVIDENCE_DIR = str(tmp_path / "evidence")
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")


@pytest.fixture
def shop(shop_dsn):
    return DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": [
            "SELECT name, account FROM customers WHERE email = %(email)s",
        ]}}),
    )  # fmt: skip


def test_the_deceaseds_export_goes_to_the_relative_only(client, shop, api_as, staff_user):
    filed = file_by_api(client)
    assert filed.status_code == 201, filed.content
    pk = filed.json()["id"]
    code = code_from_outbox(pk)
    assert client.post(f"/api/v1/requests/{pk}/verify/", {"code": code}).status_code == 200
    request = RightsRequest.objects.get(pk=pk)
    agent = staff_user("agent", "the-agent")
    assert api_as("supervisor").post(f"/api/v1/staff/requests/{pk}/approve/", {}).status_code == 409
    assert not FanoutTask.objects.filter(request=request).exists()
    assert not Package.objects.exists()

    answer = review(api_as("legal"), request, decision="approve", lawful_interest="Estate.")
    assert answer.status_code == 200, answer.content
    staff.approve(request=request, user=agent)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    [package] = Package.objects.all()
    assert package.request_id == request.pk
    [ready] = OutboundEmail.objects.filter(request_id=pk, template="export_ready")
    assert ready.to == RELATIVE
    token = re.search(r"/exports/#t=(\S+)", ready.body).group(1)
    assert package_for_token(token).request.email == RELATIVE
    # Not one message to the deceased's address, from the first to the last.
    assert not OutboundEmail.objects.filter(to=DECEASED).exists()
    assert all(DECEASED not in m.to for m in mail.outbox)
    # The work acted on the deceased's identifiers: their rows, nobody else's.
    downloaded = client.post("/exports/", {"t": token})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(downloaded.streaming_content)))
    rows = [json.loads(line) for line in archive.read("shop/rows.jsonl").splitlines()]
    assert rows == [{"name": "Li Lei", "account": "acct-1"}]
