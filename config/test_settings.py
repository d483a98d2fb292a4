"""Settings for the test suite: real PostgreSQL and Redis on their standard ports.

The keys below are fixed test values and protect nothing; real keys come from the
environment (see docs/operations.md).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/dsar")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist every worker has a Redis database of its own, counting down from the one
# above (gw0 → 15, gw1 → 14, …), as pytest-django gives each its own test database. Set in
# the environment, so the servers and Celery workers a test starts use the same one.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker and os.environ.get("DSAR_TEST_REDIS_WORKER") != _xdist_worker:
    _base, _, _db = os.environ["REDIS_URL"].rpartition("/")
    _worker_db = int(_db or 0) - int(_xdist_worker.removeprefix("gw"))
    if _worker_db < 0:
        raise RuntimeError(
            f"REDIS_URL ends in database {_db}: pytest-xdist worker {_xdist_worker} needs the "
            "one below it. End REDIS_URL in a higher number (the default is 15)."
        )
    os.environ["REDIS_URL"] = f"{_base}/{_worker_db}"
    os.environ["DSAR_TEST_REDIS_WORKER"] = _xdist_worker
os.environ.setdefault("DSAR_ENCRYPTION_KEYS", "b5Hsj0vqW4nH0qKp3yJm6m0zQk1Zc9g3Hq2R8yC6b1E=")
os.environ.setdefault("DSAR_HASH_KEY", "test-only-hash-key")
os.environ.setdefault("DSAR_AUDIT_KEY", "test-only-audit-key")
# The suite's downstream systems are real servers and databases on this machine.
os.environ.setdefault("DSAR_DOWNSTREAM_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DSAR_DOWNSTREAM_ALLOWED_PATHS", "var,/tmp")
# Packages go out at once unless a test asks for review before release (tests/exports/
# test_review.py, the browser's redacted export); the product's default reviews access.
os.environ.setdefault("DSAR_EXPORT_REVIEW_TYPES", "")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks in-process; tests of asynchronous behaviour start a real worker.
# A worker subprocess started by a test sets DSAR_TEST_EAGER=0 to consume from real Redis.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("DSAR_TEST_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
WHITENOISE_AUTOREFRESH = True  # no collected static files under test
WHITENOISE_USE_FINDERS = True  # serve app static files without collectstatic
