"""One settings module, driven by environment variables.

Defaults give a private, embedded instance: SQLite and local files under the data
directory, DEBUG off. Production changes only the environment (see docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("AMPARO_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def _secret_key() -> str:
    """Read the key from the environment, or from a 0600 file made on first run."""
    if os.environ.get("AMPARO_SECRET_KEY"):
        return os.environ["AMPARO_SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    # Written whole to a private temporary file, then linked into place: a process starting
    # at the same moment sees either no key file or a complete one, never an empty one.
    fd, temporary = tempfile.mkstemp(dir=DATA_DIR, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # If another process linked its key first, that one is used.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
# Plain HTTP is only for an instance on loopback (make run); production sits behind TLS.
HTTPS = envbool("AMPARO_HTTPS", True)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("AMPARO_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
NETWORK_NAME = os.environ.get("AMPARO_NETWORK_NAME", "Amparo")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "amparo.web",
    "amparo.audit",
    "amparo.accounts",
    "amparo.notify",
    "amparo.training",
    "amparo.directory",
    "amparo.hotline",
    "amparo.custody",
    "amparo.field",
    "amparo.preparedness",
    "amparo.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "amparo.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "amparo.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "amparo.web.policy.AccessPolicyMiddleware",
]

ROOT_URLCONF = "amparo.urls"
WSGI_APPLICATION = "amparo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "amparo.web.context.site",
            ],
        },
    }
]


# libpq settings for a PostgreSQL server reached over TCP (a Unix socket ignores them). A
# connection to another machine can die without a word, a firewall dropping an idle flow or a
# host gone: keepalives notice it within about a minute, and tcp_user_timeout bounds how long
# a write waits to be acknowledged, so that a process's public-form writer, which keeps its
# connection between requests, gives up on a dead one and opens another instead of waiting
# until a restart. Values given in DATABASE_URL win.
POSTGRES_CONNECTION_DEFAULTS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


def _databases() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
        if "postgresql" in str(config.get("ENGINE", "")):
            given: dict[str, Any] = dict(config.get("OPTIONS") or {})
            config["OPTIONS"] = {**POSTGRES_CONNECTION_DEFAULTS, **given}
        return {"default": config}
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "amparo.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the writer; FULL sync keeps a commit on power loss.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions live in the database so that sign-out, disabling an account or a
# coordinator's "end all sessions" ends them for real.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_SECONDS = envint("AMPARO_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = envint("AMPARO_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True

# Sign-in throttling: per (username, address), so a stranger cannot lock a real person out.
LOGIN_FAILURE_LIMIT = envint("AMPARO_LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOL_OFF_SECONDS = envint("AMPARO_LOGIN_COOL_OFF_SECONDS", 15 * 60)
# The request header (as Django names it, e.g. HTTP_X_REAL_IP) that the reverse proxy
# overwrites with the client's address; empty means REMOTE_ADDR.
AMPARO_CLIENT_ADDRESS_HEADER = os.environ.get("AMPARO_CLIENT_ADDRESS_HEADER", "")
INVITATION_LIFETIME_SECONDS = envint("AMPARO_INVITATION_LIFETIME_SECONDS", 7 * 24 * 60 * 60)
MFA_ISSUER = NETWORK_NAME

SECURE_SSL_REDIRECT = HTTPS and not DEBUG
SECURE_HSTS_SECONDS = 63072000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": with it Chromium sends `Origin: null` on form posts, which CSRF refuses.
# "same-origin" still tells other sites nothing.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("ar", _("Arabic")),
]
# Languages whose translations no fluent reviewer has checked yet; pages say so.
UNREVIEWED_LANGUAGES = ["es", "ar"]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("AMPARO_TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "/static/"
# Only production collects static files (for nginx); embedded mode serves them from the package.
STATIC_ROOT = os.environ.get("AMPARO_STATIC_ROOT") or None
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
# collectstatic writes a gzip copy beside each file, served to browsers that accept it (by
# WhiteNoise, or by nginx's gzip_static): the field capture page loads on a slow 3G link.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Collected files when there are any (with their compressed copies), else the package's own.
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
WHITENOISE_AUTOREFRESH = DEBUG

# Background work: django-tasks with its database backend; `amparo worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

EVIDENCE_DIR = Path(os.environ.get("AMPARO_EVIDENCE_DIR", str(DATA_DIR / "evidence")))

EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
# A mail server that hangs must not hold a sender for ever: alerts retry what timed out.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "amparo@localhost")

DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # uploads stream to disk, never held in memory

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusal_summary": {"()": "amparo.web.log_filters.RefusalSummary"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AMPARO_LOG_LEVEL", "WARNING")},
    # A flood's 429 answers: one line a minute, with how many were not logged.
    "loggers": {"django.request": {"filters": ["refusal_summary"]}},
}

# Capabilities: each app reads these through django.conf.settings.
AMPARO_HOTLINE_NUMBER = os.environ.get("AMPARO_HOTLINE_NUMBER", "")  # printed on rights cards
AMPARO_SMS_GATEWAY_URL = os.environ.get("AMPARO_SMS_GATEWAY_URL", "")
AMPARO_SMS_GATEWAY_TOKEN = os.environ.get("AMPARO_SMS_GATEWAY_TOKEN", "")
AMPARO_LOG_ORIGIN = os.environ.get("AMPARO_LOG_ORIGIN", "")  # default: <site host>/log
AMPARO_CERTIFICATION_MONTHS = envint("AMPARO_CERTIFICATION_MONTHS", 12)
AMPARO_RSVP_RETENTION_DAYS = envint("AMPARO_RSVP_RETENTION_DAYS", 30)
AMPARO_TRAINING_ATTACHMENT_MAX_BYTES = envint(
    "AMPARO_TRAINING_ATTACHMENT_MAX_BYTES", 50 * 1024 * 1024
)
AMPARO_VAULT_MAX_BYTES = envint("AMPARO_VAULT_MAX_BYTES", 20 * 1024 * 1024)
AMPARO_HOTLINE_DOCUMENT_MAX_BYTES = envint("AMPARO_HOTLINE_DOCUMENT_MAX_BYTES", 25 * 1024 * 1024)
AMPARO_FIELD_STAGING_ABANDONED_HOURS = envint("AMPARO_FIELD_STAGING_ABANDONED_HOURS", 48)

# Operations
# Evidence blobs in S3-compatible object storage (amparo.evidence.s3store) when a bucket is
# named; amparo.ops.objectstore builds the client. Credentials come from the environment only.
AMPARO_S3_BUCKET = os.environ.get("AMPARO_S3_BUCKET", "")
AMPARO_S3_ENDPOINT_URL = os.environ.get("AMPARO_S3_ENDPOINT_URL", "")
AMPARO_S3_REGION = os.environ.get("AMPARO_S3_REGION", "us-east-1")
AMPARO_S3_PREFIX = os.environ.get("AMPARO_S3_PREFIX", "evidence/")
AMPARO_S3_ACCESS_KEY_ID = os.environ.get("AMPARO_S3_ACCESS_KEY_ID", "")
AMPARO_S3_SECRET_ACCESS_KEY = os.environ.get("AMPARO_S3_SECRET_ACCESS_KEY", "")
AMPARO_S3_PART_SIZE = envint("AMPARO_S3_PART_SIZE", 8 * 1024 * 1024)
