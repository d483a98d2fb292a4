"""Identity evidence kept through STORAGES["evidence"] (issue 20): encrypted files on the
file system by default or in any other configured backend, deleted from that backend when
staff decide or the request stops waiting, the sandboxed staff download reading them, and
the data migration that moved the documents out of the database."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dsar.crypto.keys import fernet
from dsar.verification import evidence as evidence_service
from dsar.verification import services
from dsar.verification.models import Evidence, EvidenceStatus
from dsar.workflow.models import Status

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
MEMORY = {"BACKEND": "django.core.files.storage.InMemoryStorage"}


def upload(request, content=PDF):
    file = SimpleUploadedFile("passport.pdf", content, content_type="application/pdf")
    return evidence_service.submit_evidence(request=request, upload=file)


@pytest.fixture
def folder(settings, tmp_path):
    settings.DSAR_EVIDENCE_DIR = str(tmp_path / "evidence")
    return tmp_path / "evidence"


@pytest.fixture
def memory_storage(settings):
    """Django's in-memory backend as the evidence storage, the file system out of reach."""
    settings.DSAR_EVIDENCE_DIR = "/nonexistent/never-written"
    settings.STORAGES = {**settings.STORAGES, "evidence": MEMORY}
    yield storages["evidence"]
    assert not Path("/nonexistent").exists()


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_an_owner_only_encrypted_file_deleted_when_staff_decide(
    folder, make_request, client, staff_user
):
    request = make_request()
    doc = upload(request)
    path = folder / doc.file
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    on_disk = path.read_bytes()
    assert b"%PDF" not in on_disk and fernet().decrypt(on_disk) == PDF

    agent = staff_user("agent")
    client.force_login(agent)
    shown = client.get(f"/staff/requests/{request.pk}/evidence/{doc.pk}/")
    assert shown.status_code == 200 and shown.content == PDF
    assert shown["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in shown["Content-Security-Policy"]

    services.verify_by_staff(request=request, user=agent, evidence_id=doc.pk)  # commits
    doc.refresh_from_db()
    assert doc.status == EvidenceStatus.ACCEPTED and doc.file == "" and doc.purged_at
    assert not path.exists()


@pytest.mark.django_db(transaction=True)
def test_another_backend_holds_serves_and_deletes_the_files(
    memory_storage, make_request, client, staff_user
):
    request = make_request()
    kept, rejected = upload(request), upload(request, content=PDF + b"% second page\n")
    for doc in (kept, rejected):
        assert memory_storage.exists(doc.file)
        with memory_storage.open(doc.file, "rb") as handle:
            assert b"%PDF" not in handle.read()

    agent = staff_user("agent")
    client.force_login(agent)
    assert client.get(f"/staff/requests/{request.pk}/evidence/{kept.pk}/").content == PDF

    evidence_service.reject_evidence(
        request=request, user=agent, evidence_id=rejected.pk, reason="photo unreadable"
    )
    assert not memory_storage.exists(rejected.file) and memory_storage.exists(kept.file)

    from dsar.portal.services import withdraw_request

    withdraw_request(request=request)  # the waiting upload is closed unreviewed and deleted
    assert not memory_storage.exists(kept.file)
    assert Evidence.objects.get(pk=kept.pk).status == EvidenceStatus.UNREVIEWED
    page = client.get(f"/staff/requests/{request.pk}/evidence/{kept.pk}/")
    assert page.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_purge_rolled_back_keeps_the_file(memory_storage, make_request):
    from django.db import transaction

    request = make_request()
    doc = upload(request)
    with pytest.raises(RuntimeError), transaction.atomic():
        evidence_service.purge_pending(request=request)
        raise RuntimeError("the caller's transaction fails")
    assert memory_storage.exists(doc.file)
    assert evidence_service.evidence_content(Evidence.objects.get(pk=doc.pk)) == PDF


@pytest.mark.django_db(transaction=True)
def test_record_retention_deletes_a_file_left_behind(memory_storage, make_request):
    from dsar.verification import retention

    request = make_request()
    doc = upload(request)
    retention.anonymise(request, now=None)
    assert not memory_storage.exists(doc.file) and not Evidence.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_moves_stored_documents_into_the_storage(memory_storage, make_request):
    request = make_request(status=Status.PENDING_VERIFICATION)
    executor = MigrationExecutor(connection)
    before = [("verification", "0002_staff_read_back_codes")]
    latest = executor.loader.graph.leaf_nodes("verification")
    executor.migrate(before)
    try:
        old = MigrationExecutor(connection).loader.project_state(before).apps
        OldEvidence = old.get_model("verification", "Evidence")
        kept = OldEvidence.objects.create(
            request_id=request.pk, content=fernet().encrypt(PDF), content_type="application/pdf",
            size=len(PDF), uploaded_at=request.received_at,
        )  # fmt: skip
        purged = OldEvidence.objects.create(
            request_id=request.pk, content=b"", content_type="application/pdf", size=1,
            uploaded_at=request.received_at, status="rejected", purged_at=request.received_at,
        )  # fmt: skip
    finally:
        MigrationExecutor(connection).migrate(latest)
    moved = Evidence.objects.get(pk=kept.pk)
    assert moved.file and memory_storage.exists(moved.file)
    assert evidence_service.evidence_content(moved) == PDF
    assert Evidence.objects.get(pk=purged.pk).file == ""
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(
            cursor, "verification_evidence")]  # fmt: skip
    assert "content" not in columns


def test_s3_is_chosen_from_the_environment():
    def evidence_storage(**env) -> dict:
        script = "import json; from config import settings; print(json.dumps(settings.STORAGES))"
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        )  # fmt: skip
        import json

        return json.loads(result.stdout)["evidence"]

    assert evidence_storage()["BACKEND"] == "dsar.verification.storage.EvidenceFileStorage"
    s3 = evidence_storage(DSAR_EVIDENCE_STORAGE="s3", DSAR_EXPORT_S3_BUCKET="dsar-files")
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "dsar-files"  # the export bucket unless set
    assert s3["OPTIONS"]["location"] == "evidence" and s3["OPTIONS"]["default_acl"] == "private"


def test_web_and_worker_mount_the_same_evidence_volume():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = set()
    for name in ("web", "worker"):
        service = compose["services"][name]
        folder = service["environment"]["DSAR_EVIDENCE_DIR"]
        [volume] = [v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == folder]
        mounts.add((volume, folder))
    [(volume, folder)] = mounts
    assert volume in compose["volumes"] and folder in (ROOT / "Dockerfile").read_text()
