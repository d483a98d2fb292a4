"""Settings for bench/intake.py: the product plus one bare endpoint to compare with.

The product runs as in production (PostgreSQL, Redis as broker and cache, tasks published,
not executed). ``/bare/`` inserts one row into the same database with no framework beyond a
Django view: the floor any intake endpoint can reach here.
"""

import os

os.environ.setdefault("DSAR_INTAKE_RATE_IP", "100000000/hour")
os.environ.setdefault("DSAR_CODE_RATE_ADDRESS", "100000000/hour")

from config.test_settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = False  # publish to Redis like production; no worker consumes
ROOT_URLCONF = "bench._intake_urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
