"""Settings, read once from the environment.

With no variable set beyond the secrets, the product runs on the embedded default: SQLite,
tasks executed in-process and emails written to ``var/mail/``. Setting ``DATABASE_URL`` and
``REDIS_URL`` switches to the production shape: PostgreSQL, Redis as Celery broker, separate
worker and beat processes. Every ``DSAR_*`` product setting is defined and validated here;
code reads ``settings.DSAR_...``, never the environment.
"""

import ipaddress
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `make run` and `make test` write the generated secrets of this checkout to `.env`;
# variables already in the environment win over the file.
environ.Env.read_env(BASE_DIR / ".env")
# The embedded default's files: the SQLite database's neighbours, the demo's downstream
# systems, the emails written to disk.
VAR_DIR = Path(env("DSAR_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "dsar.audit",
    "dsar.branding",
    "dsar.workflow",
    "dsar.staff",
    "dsar.notifications",
    "dsar.sla",
    "dsar.verification",
    "dsar.legal",
    "dsar.fanout",
    "dsar.corrections",
    "dsar.portal",
    "dsar.exports",
    "dsar.effects",  # last: wires the parts' reactions into the core (see its docstring)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dsar.web.headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their own caching; every other answer is no-store.
    "dsar.web.headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything that reads a body (CSRF reads forms), after the language is known.
    "dsar.web.bodies.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: an outage raised by a view under /api/ answers 503 JSON (dsar/api/errors.py).
    "dsar.api.errors.OutageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsar.branding.context.branding",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, task runner) share the demo database file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ----------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Seconds a web process waits for Redis (broker or cache) before it calls it down: an outage
# answers 503 at once instead of holding the request (see dsar/api/errors.py).
DSAR_REDIS_TIMEOUT = env.float("DSAR_REDIS_TIMEOUT", default=1.0)
if REDIS_URL:
    # The broker may live apart from the cache (CELERY_BROKER_URL); by default both are REDIS_URL.
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # Embedded default: tasks run in the process that publishes them, so no broker is needed.
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing is bounded: a broker that does not answer within DSAR_REDIS_TIMEOUT is down, is
# tried once more, and the caller goes on (its rows stay pending; the outbox re-drive and the
# reconciler send them later). Workers keep retrying their own connection as before.
CELERY_BROKER_CONNECTION_TIMEOUT = DSAR_REDIS_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": DSAR_REDIS_TIMEOUT,
    "socket_timeout": max(DSAR_REDIS_TIMEOUT, 5.0),  # a blocking read of a worker waits longer
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
# Messages to people (the outbox: codes, receipts, notices, alerts) have a queue of their own,
# consumed by its own worker (`celery -A config worker -Q messages`, docs/operations.md), so a
# code never waits behind a fan-out or a dry run on the default queue ("celery").
CELERY_TASK_DEFAULT_QUEUE = "celery"
MESSAGES_QUEUE = "messages"
CELERY_TASK_ROUTES = {
    "dsar.notifications.tasks.*": {"queue": MESSAGES_QUEUE},
    # The audit sequencer is short and frequent; it must not wait behind a fan-out backlog either.
    "dsar.audit.tasks.*": {"queue": MESSAGES_QUEUE},
    # An intake's receipt and first code (dsar/verification/receipts.py), and their re-drive.
    "dsar.verification.tasks.send_receipts": {"queue": MESSAGES_QUEUE},
    "dsar.verification.tasks.send_receipt": {"queue": MESSAGES_QUEUE},
    "dsar.verification.tasks.redrive_receipts": {"queue": MESSAGES_QUEUE},
}
CELERY_TIMEZONE = "UTC"
AUDIT_SEQUENCE_SECONDS = 5.0
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs; each points at a thin task in the part that owns the job.
CELERY_BEAT_SCHEDULE: dict = {
    # Gives committed audit events their place in the chain (dsar/audit/sequencer.py). A message
    # not taken within the period is dropped: the next one does the same work.
    "audit-sequence": {
        "task": "dsar.audit.tasks.sequence",
        "schedule": AUDIT_SEQUENCE_SECONDS,
        "options": {"expires": AUDIT_SEQUENCE_SECONDS},
    },
    "redrive-outbox": {"task": "dsar.notifications.tasks.redrive_outbox", "schedule": 60.0},
    "redrive-receipts": {"task": "dsar.verification.tasks.redrive_receipts", "schedule": 60.0},
    "sla-sweep": {"task": "dsar.sla.tasks.sweep", "schedule": 60.0},
    "fanout-reconcile": {"task": "dsar.fanout.tasks.reconcile", "schedule": 60.0},
    "end-cooling-off": {"task": "dsar.fanout.tasks.end_cooling_off", "schedule": 300.0},
    "purge-exports": {"task": "dsar.exports.tasks.purge_expired", "schedule": 3600.0},
    "anonymise-old-records": {
        "task": "dsar.workflow.tasks.anonymise_expired_records",
        "schedule": crontab(hour=18, minute=30),  # 02:30 in Beijing
    },
    # 01:00 UTC is 09:00 in Beijing; the digest claims its local date, so a re-run sends nothing.
    "sla-daily-digest": {
        "task": "dsar.sla.tasks.daily_digest",
        "schedule": crontab(hour=1, minute=0),
    },
    "expire-unverified": {
        "task": "dsar.verification.tasks.expire_unverified",
        "schedule": 3600.0,
    },
    # Deferred deletions of statutorily retained data whose period has ended (dsar.legal).
    "legal-deferred-deletions": {
        "task": "dsar.legal.tasks.run_due_deletions",
        "schedule": 3600.0,
    },
}

# --- Cache (rate limits, throttles) -----------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis keeps one client per connection pool; Django's own backend builds a
            # new client (and its table of response callbacks) on every cache call.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": DSAR_REDIS_TIMEOUT,
                "SOCKET_TIMEOUT": DSAR_REDIS_TIMEOUT,
            },
        }
    }
else:
    # Embedded default: one table shared by the web server and the task runner.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "dsar_cache",
        }
    }

# --- Email -----------------------------------------------------------------------------
EMAIL_DIR = VAR_DIR / "mail"
_email_url = env("EMAIL_URL", default="filemail://")
_email = env.email_url_config(_email_url)
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend":
    # django-environ drops the leading slash of filemail:///abs/path (it wants four) and the
    # first segment of filemail://rel/path: the directory is read here instead. Everything
    # after "filemail://" is the path; absolute as written, relative to the checkout
    # otherwise; empty means var/mail/.
    _mail_path = _email_url.partition("://")[2].partition("?")[0]
    if _mail_path.startswith("/"):
        _mail_path = "/" + _mail_path.lstrip("/")
    _email["EMAIL_FILE_PATH"] = str(BASE_DIR / _mail_path) if _mail_path else str(EMAIL_DIR)
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="privacy@example.com")

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Every password check (staff login, admin login) goes through the throttled backend.
AUTHENTICATION_BACKENDS = ["dsar.staff.login.ThrottledModelBackend"]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:queue"
LOGOUT_REDIRECT_URL = "staff:login"

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded by the admin (the company's logo): the default storage, under MEDIA_ROOT.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON bounded in size and depth (dsar/api/parsers.py); forms and uploads as DRF has them,
    # their size capped before parsing by dsar.web.bodies.BodyLimitMiddleware.
    "DEFAULT_PARSER_CLASSES": [
        "dsar.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated API calls then get 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",  # integrations
        "rest_framework.authentication.SessionAuthentication",  # staff pages' own calls
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "dsar.api.errors.handle",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "DSAR workflow API",
    "DESCRIPTION": "Data-subject rights requests: public intake and status, staff queue and "
    "actions, downstream callbacks. Errors share one shape: "
    '{"error": {"code", "message", "fields"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # assets served locally, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"DownstreamKindEnum": "dsar.fanout.connectors.kind_choices"},
}

# --- Security --------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS is sent on HTTPS answers only, and only once the operator sets a lifetime: a wrong
# value cannot be taken back from browsers that saw it.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# One policy for every answer (django-csp). No inline script anywhere; the portal's inline
# stylesheet carries the answer's nonce. Served evidence, the API docs and DRF's browsable
# API relax or tighten it (dsar/staff/views.py, dsar/api/staff_urls.py, dsar.web.headers).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging: no personal data is ever passed to a logger; see docs/operations.md -------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- Product settings (DSAR_*) ----------------------------------------------------------
# Keys: Fernet keys (urlsafe base64, 32 bytes). The first encryption key encrypts; all of
# them decrypt, so a new key can be put in front and old rows re-encrypted at leisure.
DSAR_ENCRYPTION_KEYS = env.list("DSAR_ENCRYPTION_KEYS")
DSAR_HASH_KEY = env("DSAR_HASH_KEY")  # keyed hash of normalised email/phone
DSAR_AUDIT_KEY = env("DSAR_AUDIT_KEY")  # HMAC key of the audit hash chain

DSAR_SLA_DAYS = env.int("DSAR_SLA_DAYS", default=15)
DSAR_SLA_CALENDAR = env("DSAR_SLA_CALENDAR", default="calendar")
DSAR_SLA_WARN_DAYS = env.int("DSAR_SLA_WARN_DAYS", default=3)
DSAR_SLA_MAX_EXTENSION_DAYS = env.int("DSAR_SLA_MAX_EXTENSION_DAYS", default=30)
# Where a subject lives unless they say otherwise: picks the response policy (dsar.sla.policies).
DSAR_DEFAULT_JURISDICTION = env("DSAR_DEFAULT_JURISDICTION", default="cn-pipl")
DSAR_VERIFY_EXPIRY_DAYS = env.int("DSAR_VERIFY_EXPIRY_DAYS", default=30)
DSAR_COOLING_OFF_DAYS = env.int("DSAR_COOLING_OFF_DAYS", default=7)
DSAR_REPEAT_LIMIT = env.int("DSAR_REPEAT_LIMIT", default=2)
DSAR_RECORD_RETENTION_DAYS = env.int("DSAR_RECORD_RETENTION_DAYS", default=3 * 365)
DSAR_ESCALATION_EMAILS = env.list("DSAR_ESCALATION_EMAILS", default=[])
DSAR_PHONE_REGION = env("DSAR_PHONE_REGION", default="CN")

# Identity verification and intake guards (dsar.verification, dsar.portal). Rates are
# "<count>/<minute|hour|day>"; see dsar/verification/limits.py.
DSAR_VERIFY_CODE_TTL_MINUTES = env.int("DSAR_VERIFY_CODE_TTL_MINUTES", default=15)
DSAR_VERIFY_MAX_TRIES = env.int("DSAR_VERIFY_MAX_TRIES", default=5)
DSAR_RESEND_RATE_REQUEST = env("DSAR_RESEND_RATE_REQUEST", default="3/hour")
DSAR_RESEND_RATE_IP = env("DSAR_RESEND_RATE_IP", default="20/hour")
DSAR_INTAKE_RATE_IP = env("DSAR_INTAKE_RATE_IP", default="10/hour")
# Status lookups (reference + address → the status link re-sent) per sending IP.
DSAR_LOOKUP_RATE_IP = env("DSAR_LOOKUP_RATE_IP", default="10/hour")
# Verification messages (an intake's receipt and code, or a resent code) to one address or
# number, whoever asks: bounds flooding without letting strangers spend a subject's intake.
DSAR_CODE_RATE_ADDRESS = env("DSAR_CODE_RATE_ADDRESS", default="5/hour")
DSAR_EVIDENCE_MAX_BYTES = env.int("DSAR_EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
# Largest request body other than an upload; a multipart upload may carry one evidence file
# on top (dsar.web.bodies). Django's own form parsing is held to the same figure.
DSAR_MAX_BODY_BYTES = env.int("DSAR_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = DSAR_MAX_BODY_BYTES
# Password guesses (dsar.staff.login): per username whether or not it exists, and per IP.
# A locked door opens when its window ends, so a lockout lasts at most one period.
DSAR_LOGIN_RATE_ACCOUNT = env("DSAR_LOGIN_RATE_ACCOUNT", default="10/hour")
DSAR_LOGIN_RATE_IP = env("DSAR_LOGIN_RATE_IP", default="50/hour")
DSAR_STATUS_TOKEN_MAX_AGE_DAYS = env.int("DSAR_STATUS_TOKEN_MAX_AGE_DAYS", default=365)
# How long a browser that opened a request's link keeps its pages open without the link.
DSAR_STATUS_COOKIE_MINUTES = env.int("DSAR_STATUS_COOKIE_MINUTES", default=60)
DSAR_PUBLIC_BASE_URL = env("DSAR_PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
DSAR_SMS_BACKEND = env("DSAR_SMS_BACKEND", default="file")  # "file" (var/sms/) or "console"
DSAR_SMS_DIR = env("DSAR_SMS_DIR", default=str(VAR_DIR / "sms"))

# Legal decisions (dsar.legal): where a subject can complain to us about a refusal.
DSAR_COMPLAINT_CONTACT = env("DSAR_COMPLAINT_CONTACT", default=DEFAULT_FROM_EMAIL)

# Access exports (dsar.exports): where encrypted packages are kept, and the link's limits.
DSAR_EXPORT_DIR = env("DSAR_EXPORT_DIR", default=str(VAR_DIR / "exports"))
# Request types whose access package waits for staff review (and redaction) before its link
# goes out; empty for none.
DSAR_EXPORT_REVIEW_TYPES = [
    t for t in env.list("DSAR_EXPORT_REVIEW_TYPES", default=["access"]) if t.strip()
]
# "filesystem" (DSAR_EXPORT_DIR; web and worker must share it) or "s3" (django-storages,
# any S3-compatible store; credentials as boto3 reads them, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY). See docs/operations.md.
DSAR_EXPORT_STORAGE = env("DSAR_EXPORT_STORAGE", default="filesystem")
if DSAR_EXPORT_STORAGE == "s3":
    STORAGES["exports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("DSAR_EXPORT_S3_BUCKET", default=""),
            "endpoint_url": env("DSAR_EXPORT_S3_ENDPOINT", default="") or None,
            "region_name": env("DSAR_EXPORT_S3_REGION", default="") or None,
            "location": env("DSAR_EXPORT_S3_PREFIX", default="exports"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["exports"] = {"BACKEND": "dsar.exports.sealed.ExportFileStorage"}
# Identity evidence (dsar.verification): each upload one Fernet-encrypted file in
# STORAGES["evidence"], deleted when staff decide or the request stops waiting. "filesystem"
# (DSAR_EVIDENCE_DIR; web and worker must share it) or "s3" (django-storages; the bucket,
# endpoint and region default to the export storage's, under its own prefix).
DSAR_EVIDENCE_DIR = env("DSAR_EVIDENCE_DIR", default=str(VAR_DIR / "evidence"))
DSAR_EVIDENCE_STORAGE = env("DSAR_EVIDENCE_STORAGE", default="filesystem")
if DSAR_EVIDENCE_STORAGE == "s3":
    STORAGES["evidence"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("DSAR_EVIDENCE_S3_BUCKET", default="")
            or env("DSAR_EXPORT_S3_BUCKET", default=""),
            "endpoint_url": env("DSAR_EVIDENCE_S3_ENDPOINT", default="")
            or env("DSAR_EXPORT_S3_ENDPOINT", default="")
            or None,
            "region_name": env("DSAR_EVIDENCE_S3_REGION", default="")
            or env("DSAR_EXPORT_S3_REGION", default="")
            or None,
            "location": env("DSAR_EVIDENCE_S3_PREFIX", default="evidence"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["evidence"] = {"BACKEND": "dsar.verification.storage.EvidenceFileStorage"}
# Rows per encrypted chunk of a system's export part, and rows shown per table on index.html.
DSAR_EXPORT_CHUNK_ROWS = env.int("DSAR_EXPORT_CHUNK_ROWS", default=2000)
DSAR_EXPORT_PREVIEW_ROWS = env.int("DSAR_EXPORT_PREVIEW_ROWS", default=5)
# A password-protected (AES) ZIP, its password sent by SMS to the verified phone; off.
DSAR_EXPORT_ZIP_PASSWORD = env.bool("DSAR_EXPORT_ZIP_PASSWORD", default=False)
DSAR_EXPORT_LINK_DAYS = env.int("DSAR_EXPORT_LINK_DAYS", default=7)
DSAR_EXPORT_MAX_DOWNLOADS = env.int("DSAR_EXPORT_MAX_DOWNLOADS", default=3)

# Where downstream systems may point (dsar.fanout.destinations): decided by the operator, not
# by the admins who register systems. Hosts: names, ".suffix" names, IPs and networks; nothing
# else is reachable (private and link-local addresses included). Paths: folders whose existing
# SQLite files a system may open (relative to the project root).
DSAR_DOWNSTREAM_ALLOWED_HOSTS = env.list("DSAR_DOWNSTREAM_ALLOWED_HOSTS", default=[])
DSAR_DOWNSTREAM_ALLOWED_PATHS = env.list("DSAR_DOWNSTREAM_ALLOWED_PATHS", default=[])


def _validate_product_settings():
    if DSAR_SLA_CALENDAR not in {"calendar", "cn_workdays"}:
        raise ImproperlyConfigured("DSAR_SLA_CALENDAR must be 'calendar' or 'cn_workdays'.")
    if DSAR_DEFAULT_JURISDICTION not in {"cn-pipl", "eu-gdpr", "us-ca-ccpa"}:
        raise ImproperlyConfigured(
            "DSAR_DEFAULT_JURISDICTION must be one of cn-pipl, eu-gdpr, us-ca-ccpa."
        )
    for name in (
        "DSAR_SLA_DAYS",
        "DSAR_VERIFY_EXPIRY_DAYS",
        "DSAR_RECORD_RETENTION_DAYS",
        "DSAR_REPEAT_LIMIT",
    ):
        if globals()[name] < 1:
            raise ImproperlyConfigured(f"{name} must be a positive number of days.")
    for name in ("DSAR_SLA_WARN_DAYS", "DSAR_SLA_MAX_EXTENSION_DAYS", "DSAR_COOLING_OFF_DAYS"):
        if globals()[name] < 0:
            raise ImproperlyConfigured(f"{name} must not be negative.")
    if DSAR_EXPORT_STORAGE not in {"filesystem", "s3"}:
        raise ImproperlyConfigured("DSAR_EXPORT_STORAGE must be 'filesystem' or 's3'.")
    if DSAR_EXPORT_STORAGE == "s3" and not STORAGES["exports"]["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("DSAR_EXPORT_STORAGE=s3 needs DSAR_EXPORT_S3_BUCKET.")
    for name in ("DSAR_EXPORT_LINK_DAYS", "DSAR_EXPORT_MAX_DOWNLOADS", "DSAR_EXPORT_CHUNK_ROWS"):
        if globals()[name] < 1:
            raise ImproperlyConfigured(f"{name} must be at least 1.")
    if not DSAR_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("DSAR_ENCRYPTION_KEYS needs at least one Fernet key.")
    for name in (
        "DSAR_VERIFY_CODE_TTL_MINUTES",
        "DSAR_VERIFY_MAX_TRIES",
        "DSAR_EVIDENCE_MAX_BYTES",
        "DSAR_MAX_BODY_BYTES",
        "DSAR_STATUS_TOKEN_MAX_AGE_DAYS",
        "DSAR_STATUS_COOKIE_MINUTES",
    ):
        if globals()[name] < 1:
            raise ImproperlyConfigured(f"{name} must be a positive number.")
    if DSAR_REDIS_TIMEOUT <= 0:
        raise ImproperlyConfigured("DSAR_REDIS_TIMEOUT must be a positive number of seconds.")
    for name in (
        "DSAR_RESEND_RATE_REQUEST",
        "DSAR_RESEND_RATE_IP",
        "DSAR_INTAKE_RATE_IP",
        "DSAR_LOOKUP_RATE_IP",
        "DSAR_CODE_RATE_ADDRESS",
        "DSAR_LOGIN_RATE_ACCOUNT",
        "DSAR_LOGIN_RATE_IP",
    ):
        count, _, period = globals()[name].partition("/")
        if not count.isdigit() or int(count) < 1 or period not in {"minute", "hour", "day"}:
            raise ImproperlyConfigured(f"{name} must look like '5/hour' (minute, hour or day).")
    for gone in ("DSAR_INTAKE_RATE_IDENTITY", "DSAR_RESEND_RATE_IDENTITY"):
        if gone in os.environ:  # a limit that silently stopped applying would surprise
            raise ImproperlyConfigured(f"{gone} is replaced by DSAR_CODE_RATE_ADDRESS.")
    if SECURE_HSTS_SECONDS < 0:
        raise ImproperlyConfigured("SECURE_HSTS_SECONDS must not be negative.")
    if DSAR_SMS_BACKEND not in {"file", "console"}:
        raise ImproperlyConfigured("DSAR_SMS_BACKEND must be 'file' or 'console'.")
    for entry in DSAR_DOWNSTREAM_ALLOWED_HOSTS:
        if "/" in entry and not _is_network(entry):
            raise ImproperlyConfigured(
                f"DSAR_DOWNSTREAM_ALLOWED_HOSTS: {entry!r} is not a network such as 10.0.0.0/8."
            )


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False
    return True


_validate_product_settings()
