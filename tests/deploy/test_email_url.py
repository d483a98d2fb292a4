"""EMAIL_URL's file backend: the directory is the path after ``filemail://`` as written
(django-environ alone turns ``filemail:///abs/path`` into the relative ``abs/path``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def settings_with(email_url: str) -> tuple[str, str]:
    """EMAIL_BACKEND and EMAIL_FILE_PATH of the production settings, read in a fresh process
    (the test settings put the secrets in this process's environment, which it inherits)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "EMAIL_URL": email_url}
    script = (
        "from django.conf import settings as s;"
        "print(s.EMAIL_BACKEND);print(getattr(s, 'EMAIL_FILE_PATH', ''))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.split("\n")  # fmt: skip
    return out[0], out[1]


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("filemail:///srv/dsar/mail", "/srv/dsar/mail"),  # three slashes: absolute, as written
        ("filemail:////srv/dsar/mail", "/srv/dsar/mail"),  # django-environ's own spelling
        ("filemail://var/outbox", str(ROOT / "var/outbox")),  # relative to the checkout
        ("filemail://", str(ROOT / "var/mail")),  # the default directory
    ],
)
def test_a_file_mail_url_keeps_its_path(url, path):
    assert settings_with(url) == ("django.core.mail.backends.filebased.EmailBackend", path)


def test_other_mail_urls_are_django_environs():
    backend, _ = settings_with("smtp+tls://user:pass@mail.example.com:587")
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
