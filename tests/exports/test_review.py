"""Review before release: an access package waits for staff (legal or supervisor), who see
what it would hold, withhold a field or a row with a reason (audited) and release it; only
then are the package built without what was withheld and the link sent."""

import io
import json
import re
import zipfile

import pytest
from django.core import mail

from dsar.audit.models import ActorKind, AuditEvent
from dsar.audit.services import Actor
from dsar.exports import release, review, services
from dsar.exports.models import Package, Redaction
from dsar.exports.redaction import Rules, row_digest
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.models import Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition
from tests.factories import ACTORS
from tests.support.packages import system_rows
from tests.support.signing import SECRET
from tests.support.subject import open_pages

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_limits")]

ROWS = [
    {"table": "profile", "name": "Li Lei", "note": "flagged by fraud team", "city": "Shanghai"},
    {"table": "trips", "trip": "T-1", "from": "Pudong", "driver": "Wang Wu"},
    {"table": "trips", "trip": "T-2", "from": "Hongqiao", "driver": "Zhao Liu"},
]


@pytest.fixture(autouse=True)
def reviewed(settings, tmp_path):
    settings.DSAR_EXPORT_DIR = str(tmp_path / "exports")
    settings.DSAR_EXPORT_REVIEW_TYPES = ["access"]


@pytest.fixture
def crm(downstream):
    downstream.answers = [(200, {"rows": ROWS})]
    DownstreamSystem.objects.create(
        name="crm", kind="http", actions=["export"],
        config=json.dumps({"url": downstream.url, "secret": SECRET}),
    )  # fmt: skip


def completed_access():
    request = create_request(type="access", email="li.lei@example.com", language="en")
    transition(request, to=Status.IN_REVIEW, actor=Actor.subject())
    mail.outbox.clear()
    transition(request, to=Status.PROCESSING, actor=ACTORS[ActorKind.STAFF])
    request.refresh_from_db()
    return request


def login(client, staff_user, role):
    client.force_login(staff_user(role, f"{role}-reviewer"))
    client.cookies["django_language"] = "en"
    return client


def page(request):
    return f"/staff/requests/{request.pk}/export-review/"


def digest_of(row):
    return row_digest(row)


def test_the_package_waits_for_review_and_the_subject_is_told(crm, client):
    request = completed_access()
    assert request.status == Status.COMPLETED
    assert not Package.objects.filter(request=request).exists()
    assert not [m for m in mail.outbox if "/exports/" in m.body]  # no link went out
    assert review.pending(request)
    assert AuditEvent.objects.filter(request_id=request.pk, action="export.review_pending").exists()
    client.cookies["django_language"] = "en"
    html = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    assert "are checking it before we send it to you" in html
    assert "Download your data" not in html


def test_legal_withholds_a_field_and_a_row_then_releases(crm, client, staff_user):
    request = completed_access()
    login(client, staff_user, "legal")
    html = client.get(page(request)).content.decode()
    assert "flagged by fraud team" in html and "Wang Wu" in html
    answer = client.post(page(request), {
        "system": "crm", "table": "profile", "row": digest_of(ROWS[0]), "field": "note",
        "reason": "Internal fraud assessment (GB/T 35273 §8.7)",
    })  # fmt: skip
    assert answer.status_code == 302
    answer = client.post(page(request), {
        "system": "crm", "table": "trips", "row": digest_of(ROWS[2]), "field": "",
        "reason": "Trip of another rider on a shared account",
    })  # fmt: skip
    assert answer.status_code == 302
    html = client.get(page(request)).content.decode()
    assert "<del>flagged by fraud team</del>" in html and "<del>Zhao Liu</del>" in html
    assert Redaction.objects.filter(request=request).count() == 2
    events = AuditEvent.objects.filter(request_id=request.pk, action="export.redacted")
    assert [e.payload["scope"] for e in events.in_order()] == ["cell", "row"]
    assert "Internal fraud" not in json.dumps([e.payload for e in events])
    assert client.post(page(request), {"do": "release"}).status_code == 302
    assert not review.pending(request)
    assert AuditEvent.objects.get(request_id=request.pk, action="export.released").payload == {
        "redactions": 2
    }
    [email] = [m for m in mail.outbox if "/exports/" in m.body]
    token = re.search(r"/exports/#t=(\S+)", email.body).group(1)
    zipped = client.post("/exports/", {"t": token}).getvalue()
    rows = system_rows(zipfile.ZipFile(io.BytesIO(zipped)), "crm")
    assert rows == [
        {"table": "profile", "name": "Li Lei", "city": "Shanghai"},
        {"table": "trips", "trip": "T-1", "from": "Pudong", "driver": "Wang Wu"},
    ]
    # The subject's timeline says how much was withheld and how to contest it, not why.
    client.cookies["django_language"] = "en"
    html = open_pages(client, request).get(f"/requests/{request.pk}/").content.decode()
    assert "We checked your data and withheld 2 items that we may not give out." in html
    assert "Cyberspace Administration of China" in html
    assert "Internal fraud" not in html and "shared account" not in html


def test_a_fresh_link_withholds_the_same(crm, staff_user):
    request = completed_access()
    legal = staff_user("legal")
    review.redact(request=request, user=legal, system="crm", table="trips", row="",
                  field="driver", reason="Drivers' names are theirs")  # fmt: skip
    first = release.release(request=request, user=legal)
    Package.objects.filter(pk=first.pk).update(downloads_left=0)
    again = services.renew_link(package=Package.objects.get(pk=first.pk))
    data = services.take_download(again)
    rows = system_rows(zipfile.ZipFile(io.BytesIO(data)), "crm")
    assert [r.get("driver") for r in rows] == [None, None, None]
    assert rows[0]["note"] == "flagged by fraud team"


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_other_roles_cannot_see_or_withhold(crm, client, staff_user, role):
    request = completed_access()
    login(client, staff_user, role)
    assert client.get(page(request)).status_code == 403
    answer = client.post(page(request), {"system": "crm", "table": "trips", "row": "",
                                         "field": "driver", "reason": "x"})  # fmt: skip
    assert answer.status_code == 403
    assert client.post(page(request), {"do": "release"}).status_code == 403
    assert not Redaction.objects.exists() and review.pending(request)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"row": "", "field": "driver", "reason": " "}, "reason",
         "Give the reason for withholding this."),
        ({"row": "", "field": "", "reason": "x"}, "field",
         "Choose a field, or withhold the whole row."),
        ({"row": "0" * 64, "field": "", "reason": "x"}, "row", "The export holds no such row."),
        ({"row": "", "field": "password", "reason": "x"}, "field",
         "The table has no such field."),
        ({"table": "nope", "row": "", "field": "x", "reason": "x"}, "system",
         "The export holds no such table."),
    ],
)  # fmt: skip
def test_bad_input_is_400_with_the_field_and_changes_nothing(
    crm, client, staff_user, form, field, message
):
    request = completed_access()
    login(client, staff_user, "supervisor")
    answer = client.post(page(request), {"system": "crm", "table": "trips", **form})
    assert answer.status_code == 400
    assert f'data-field="{field}">{message}' in answer.content.decode()
    assert not Redaction.objects.exists()
    assert not AuditEvent.objects.filter(action="export.redacted").exists()


def test_nothing_can_be_withheld_after_release(crm, client, staff_user):
    request = completed_access()
    login(client, staff_user, "legal")
    client.post(page(request), {"do": "release"})
    answer = client.post(page(request), {"system": "crm", "table": "trips", "row": "",
                                         "field": "driver", "reason": "late"})  # fmt: skip
    assert answer.status_code == 409
    assert not Redaction.objects.exists()
    assert client.post(page(request), {"do": "release"}).status_code == 409
    assert Package.objects.filter(request=request).count() == 1


def test_a_type_not_reviewed_goes_out_at_once(crm, settings):
    settings.DSAR_EXPORT_REVIEW_TYPES = []
    request = completed_access()
    assert Package.objects.filter(request=request).exists()
    assert [m for m in mail.outbox if "/exports/" in m.body]


def test_rules_apply_to_a_row():
    row = {"table": "t", "a": 1, "b": 2}
    rules = Rules({("s", "t"): {"": {"a"}}})
    assert rules.apply("s", "t", row) == {"table": "t", "b": 2}
    assert rules.apply("s", "other", row) is row
    assert Rules({("s", "t"): {row_digest(row): {""}}}).apply("s", "t", row) is None


def test_a_misspelt_review_type_stops_the_start(settings):
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    settings.DSAR_EXPORT_REVIEW_TYPES = ["acces"]
    with pytest.raises(ImproperlyConfigured, match="names no request type: acces"):
        apps.get_app_config("exports").ready()
    settings.DSAR_EXPORT_REVIEW_TYPES = ["access"]
    apps.get_app_config("exports").ready()
