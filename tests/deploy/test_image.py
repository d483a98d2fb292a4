"""What the image build does from a clean clone: the Chinese catalogue is compiled (``.mo``
files are not in git), by the very command the Dockerfile runs."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_command(word: str) -> str:
    """The shell command of the Dockerfile's RUN instruction that contains ``word``."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    runs = [line[4:] for line in text.splitlines() if line.startswith("RUN ") and word in line]
    assert len(runs) == 1, f"expected one RUN with {word!r}, found {len(runs)}"
    return runs[0]


def clean_clone(target: Path) -> Path:
    """The files git knows (committed or not), as a fresh clone has them: no ``.mo``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def translated_pairs(po: Path) -> dict[str, str]:
    """Single-line, non-fuzzy entries of a .po file that have a translation."""
    pairs, fuzzy = {}, False
    entries = po.read_text().split("\n\n")
    for entry in entries:
        fuzzy = "#, fuzzy" in entry
        found = re.search(r'^msgid "(.+)"\nmsgstr "(.+)"$', entry, re.MULTILINE)
        if found and not fuzzy and "msgctxt" not in entry:
            pairs[found[1].replace('\\"', '"')] = found[2].replace('\\"', '"')
    return pairs


def test_the_image_build_compiles_the_chinese_catalogues(tmp_path):
    tree = clean_clone(tmp_path / "app")
    assert not list(tree.rglob("*.mo"))
    command = dockerfile_command("compilemessages")
    # The build's environment: the image's python on PATH, no settings beyond the command's.
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    subprocess.run(["sh", "-c", command], cwd=tree, env=env, check=True, timeout=120)

    catalogues = sorted(tree.rglob("zh_Hans/LC_MESSAGES/django.po"))
    assert len(catalogues) >= 5  # the templates' and each app's with its own locale/
    for po in catalogues:
        with po.with_suffix(".mo").open("rb") as compiled:
            chinese = gettext.GNUTranslations(compiled)
        pairs = translated_pairs(po)
        assert pairs, po
        assert {msgid: chinese.gettext(msgid) for msgid in pairs} == pairs
    portal = tree / "dsar/portal/locale/zh_Hans/LC_MESSAGES/django.mo"
    with portal.open("rb") as compiled:
        text = gettext.GNUTranslations(compiled).gettext(
            "Give an email address or a mobile number."
        )
    assert text == "请填写电子邮箱或手机号码。"


def test_the_image_ignores_local_secrets_and_build_output():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var", "*.mo"} <= set(ignored)
