"""Where exports are kept: the storage named in STORAGES, the same for web and worker."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.files.storage import storages

from dsar.exports import services
from dsar.exports.models import ExportPart, Package
from dsar.fanout.models import DownstreamSystem
from tests.exports.test_packages import completed_access, content, download, link_token

ROOT = Path(__file__).resolve().parents[2]


def test_web_and_worker_mount_the_same_export_volume():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = {}
    for name in ("web", "worker"):
        service = compose["services"][name]
        folder = service["environment"]["DSAR_EXPORT_DIR"]
        [volume] = [v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == folder]
        mounts[name] = (volume, folder)
        assert service["environment"]["DSAR_EXPORT_STORAGE"].endswith("filesystem}")
    assert mounts["web"] == mounts["worker"]
    assert mounts["web"][0] in compose["volumes"]  # a named volume, not a container's folder
    # The image makes the folder (owned by its user): a new volume takes that owner.
    made = re.findall(r"mkdir -p (\S+)", (ROOT / "Dockerfile").read_text())
    assert mounts["web"][1] in made


def settings_with(**env) -> dict:
    """STORAGES as config.settings builds it from ``env`` (a fresh interpreter)."""
    script = "import json; from config import settings; print(json.dumps(settings.STORAGES))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )  # fmt: skip
    return json.loads(result.stdout)["exports"]


def test_s3_is_chosen_from_the_environment():
    assert settings_with()["BACKEND"] == "dsar.exports.sealed.ExportFileStorage"
    s3 = settings_with(DSAR_EXPORT_STORAGE="s3", DSAR_EXPORT_S3_BUCKET="dsar-exports",
                       DSAR_EXPORT_S3_ENDPOINT="https://oss-cn-shanghai.aliyuncs.com")  # fmt: skip
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "dsar-exports"
    assert s3["OPTIONS"]["endpoint_url"] == "https://oss-cn-shanghai.aliyuncs.com"
    assert s3["OPTIONS"]["default_acl"] == "private"


@pytest.mark.django_db(transaction=True)
def test_parts_packages_and_purges_go_through_the_configured_storage(settings, shop_dsn, client):
    """With another backend configured (Django's in-memory one), nothing touches the file
    system, and a purge deletes the files from that backend."""
    settings.DSAR_EXPORT_DIR = "/nonexistent/never-written"
    memory = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    settings.STORAGES = {**settings.STORAGES, "exports": memory}
    DownstreamSystem.objects.create(
        name="shop", kind="sql", actions=["export"],
        config=json.dumps({"dsn": shop_dsn, "statements": {"export": [
            "SELECT account, total FROM customers JOIN orders USING (email) "
            "WHERE email = %(email)s ORDER BY total"]}}),
    )  # fmt: skip
    request = completed_access()
    store = storages["exports"]
    part, package = ExportPart.objects.get(), Package.objects.get()
    assert store.exists(package.file_name) and store.exists(f"{part.prefix}/manifest.enc")
    assert part.row_count == 2
    assert content(download(client, link_token(request))).startswith(b"PK")
    services.anonymise(request, now=package.created_at)
    assert not store.exists(package.file_name)
    assert not store.exists(f"{part.prefix}/manifest.enc")
    assert not Path("/nonexistent").exists()
