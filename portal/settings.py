"""Settings of the provisioning portal, all read from the environment (see .env.example).

The embedded defaults (SQLite under var/, a broker on the local filesystem) let the portal run on
one laptop with nothing else installed; production points DATABASE_URL and CELERY_BROKER_URL at
real services. With DJANGO_DEBUG off the process refuses to start without a real secret key.
"""

from datetime import time as time_of_day
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Development-only fallbacks: they are refused below as soon as DEBUG is off.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"
_DEV_FIELD_KEY = "dev-only-field-encryption-key"

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off. "
            "For local development set DJANGO_DEBUG=true (see .env.example)."
        )
    SECRET_KEY = _DEV_SECRET_KEY
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

# Keys that platform credentials are encrypted with (django-fernet-encrypted-fields calls them
# SALT_KEY). The first key encrypts, every key is tried to decrypt: prepend a new one to rotate.
SALT_KEY = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not SALT_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is required when DJANGO_DEBUG is off: it encrypts the "
            "platform credentials stored in the database."
        )
    SALT_KEY = [_DEV_FIELD_KEY]

# Where the portal may send requests to PBX platforms (see telephony/backends/guard.py). Link-local
# and cloud-metadata addresses are always refused. Empty allow-list: public addresses only.
PBX_ALLOWED_NETWORKS = env.list("PBX_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else [])
PBX_ALLOW_PLAIN_HTTP = env.bool("PBX_ALLOW_PLAIN_HTTP", default=DEBUG)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "tenants.admin_apps.PortalAdminConfig",  # django.contrib.admin, with labelled autocomplete
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "crispy_forms",
    "crispy_bootstrap5",
    "treebeard",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
    "tenants",
    "telephony",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language, or the cookie the language menu sets) …
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # … unless the login chose its own (kept in the session when it signs in: no query per request).
    "portal.middleware.LoginLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.TwoFactorMiddleware",
    "portal.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the audit context (its own end entries name the actor) and the messages it leaves.
    "portal.selfservice.acting.ActingAsCustomerMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"

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
                "portal.selfservice.acting.banner",
                "portal.views.language.language_menu",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once: the web server, the worker and the
    # sweep share one file. WAL lets readers go on while one of them writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))

# A running import tells its progress through this cache, not the database: the import's own
# transaction holds its rows until it ends (SQLite lets nobody else write meanwhile, PostgreSQL shows
# nobody what it has not committed). The default, files under var/, serves one machine; with web
# servers and workers on several machines, point it at a shared cache (redis://host:6379/1).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "import_progress": env.cache(
        "IMPORT_PROGRESS_CACHE_URL", default=f"filecache://{VAR_DIR / 'cache' / 'import-progress'}"
    ),
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- the REST API (/api/v1/, portal/api) ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the portal's own pages, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.api.authentication.TokenScopeAllows",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.base.Cursor",
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.base.PerTokenRate"],
    # Requests per token (per login for a session) and period: beyond it a 429 with Retry-After.
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_RATE_LIMIT", default="600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.base.handle_exception",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PBX provisioning portal API",
    "DESCRIPTION": (
        "The portal's own REST API: the same scope, rules, history and provisioning jobs as the admin. "
        "Authenticate with `Authorization: Bearer <token>` (tokens are made in the admin or on the "
        "self-service site) or a signed-in session with its CSRF token."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # signed in or a token
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a `kind` or a `status`: their enums are named after what they are.
    "ENUM_NAME_OVERRIDES": {
        "ImportKindEnum": "telephony.models.ImportKind",
        "JobStatusEnum": "telephony.models.JobStatus",
        "ImportStatusEnum": "telephony.models.ImportStatus",
        "DriftScanStatusEnum": "telephony.models.ScanStatus",
        "WebhookDeliveryStatusEnum": "telephony.models.webhooks.DeliveryStatus",
        "WebhookEventEnum": "telephony.models.webhooks.SUBSCRIBABLE",
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- login protection (django-axes) --------------------------------------------------------------------
# Repeated failures lock the username + address pair, not the username alone (which would let an
# attacker lock anybody out) nor the address alone (one office behind one NAT).
AUTHENTICATION_BACKENDS = ["portal.auth.LoginProtectionBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The client's address: REMOTE_ADDR, or behind N trusted proxies the Nth address from the right of
# X-Forwarded-For (addresses further left are whatever the client claimed). See portal/auth.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "portal.auth.client_address"

# --- audit history (django-auditlog; see tenants/audit.py) ----------------------------------------------
AUDITLOG_MASK_CALLABLE = "tenants.audit.mask_secret"

# --- two-factor sign-in for staff (django-otp) ----------------------------------------------------------
# Required for superusers and organization administrators in the admin; on by default in production.
PORTAL_REQUIRE_2FA = env.bool("PORTAL_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="PBX provisioning portal")
# Nobody, not even a superuser, sees another login's key, QR code or backup codes in the admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- the self-service site: signing in, idle sessions, password-reset e-mail -------------------------

LOGIN_URL = "selfservice:login"
LOGIN_REDIRECT_URL = "selfservice:home"
LOGOUT_REDIRECT_URL = "selfservice:login"
# A session ends after this many seconds without a request: every request renews it.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=2 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# Where password-reset mails go: printed on the console in development, SMTP otherwise
# (e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.net:587).
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

LANGUAGE_CODE = "en"
# The markets of Xelion and XiVO. Each name in its own language, as a language menu shows it.
LANGUAGES = [("en", "English"), ("nl", "Nederlands"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- transport security (defaults are production-safe; development turns them off) -------------------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Behind one TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content security policy (django-csp): nothing inline, nothing from elsewhere. The admin and the
# self-service pages are written for it (no inline scripts or style attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")

# Everything goes to the console once, through the root logger: Django's own console handler on
# the "django" logger (in DEBUG) is dropped, or each of its messages would print twice. A refused
# or missing page (4xx) is one line, without the traceback of the exception that answered it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_errors_without_traceback": {"()": "portal.log_filters.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_errors_without_traceback"]},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# --- provisioning and Celery ------------------------------------------------------------------------

PROVISIONING_MAX_ATTEMPTS = env.int("PROVISIONING_MAX_ATTEMPTS", default=8)
PROVISIONING_BACKOFF_BASE_SECONDS = env.float("PROVISIONING_BACKOFF_BASE_SECONDS", default=2.0)
PROVISIONING_BACKOFF_MAX_SECONDS = env.float("PROVISIONING_BACKOFF_MAX_SECONDS", default=300.0)
PROVISIONING_SERVER_CONCURRENCY = env.int("PROVISIONING_SERVER_CONCURRENCY", default=4)
PROVISIONING_LEASE_SECONDS = env.float("PROVISIONING_LEASE_SECONDS", default=180.0)
# Every active platform is tested this often (its servers' free slots and its health kept current); 0: on request only.
PLATFORM_CHECK_INTERVAL_MINUTES = env.float("PLATFORM_CHECK_INTERVAL_MINUTES", default=60.0)
PROVISIONING_SWEEP_INTERVAL_SECONDS = env.float("PROVISIONING_SWEEP_INTERVAL_SECONDS", default=30.0)
PROVISIONING_REDISPATCH_AFTER_SECONDS = env.float("PROVISIONING_REDISPATCH_AFTER_SECONDS", default=120.0)
# Succeeded jobs (and their HTTP exchanges) older than this leave the jobs table, the newest of each
# object and operation excepted (telephony/provisioning/retention.py); 0 keeps them all.
JOB_RETENTION_DAYS = env.int("JOB_RETENTION_DAYS", default=90)

# --- the Xelion Configurator ---------------------------------------------------------------------------
# Where the Configurator reaches this portal's webhooks (each order gets its own URL below it).
PORTAL_PUBLIC_URL = env.str("PORTAL_PUBLIC_URL", default="http://127.0.0.1:8000")
# An order that has reported nothing for this long is asked for its status.
CONFIGURATOR_ORDER_POLL_SECONDS = env.float("CONFIGURATOR_ORDER_POLL_SECONDS", default=60.0)

# --- alerts by e-mail (portal/alerts.py): immediate ones within a minute, digests once a day ---------
# The time of day (HH:MM, in DJANGO_TIME_ZONE) from which each day's digest is sent.
ALERT_DIGEST_TIME = env.str("ALERT_DIGEST_TIME", default="07:00")
try:
    time_of_day.fromisoformat(ALERT_DIGEST_TIME)
except ValueError as error:
    raise ImproperlyConfigured(f"ALERT_DIGEST_TIME must be a time of day like 07:00: {ALERT_DIGEST_TIME!r}") from error

# --- outgoing webhooks (telephony/webhooks/) -------------------------------------------------------
# Where webhook URLs may point. A customer types them, so by default only public addresses over
# https; a network listed here (e.g. a reseller's own billing host) is allowed instead. Development
# (DJANGO_DEBUG) allows loopback and plain http, for a receiver on this machine.
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else [])
WEBHOOK_ALLOW_PLAIN_HTTP = env.bool("WEBHOOK_ALLOW_PLAIN_HTTP", default=DEBUG)
# A delivery is retried with exponential backoff (base, doubling, capped) for this many hours.
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=10.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# A due delivery that no worker took this long (its message lost) is sent again by the sweep.
WEBHOOK_SWEEP_GRACE_SECONDS = env.float("WEBHOOK_SWEEP_GRACE_SECONDS", default=20.0)
# After a secret's rotation the previous secret signs as well for this many hours.
WEBHOOK_SECRET_OVERLAP_HOURS = env.float("WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0)
# Deliveries that are over (delivered or given up) leave the delivery log this many days after
# they were made, then the events left without one (telephony/webhooks/retention.py); 0 keeps them.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)

# --- drift: the mirror checked against the PBX ------------------------------------------------------
DRIFT_SCAN_INTERVAL_MINUTES = env.float("DRIFT_SCAN_INTERVAL_MINUTES", default=60.0)  # 0: no scheduled scans
DRIFT_SCAN_STALE_SECONDS = env.float(
    "DRIFT_SCAN_STALE_SECONDS", default=1800.0
)  # a scan still "running" after this died
# Calls a scan may have in flight at once, taken from the server's free slots when it starts
DRIFT_SCAN_READERS = env.int("DRIFT_SCAN_READERS", default=4)
# A scan that finds more than this share of a tenant's users missing or changed repairs nothing
# there without a staff member's confirmation (an accidental mass deletion looks like this).
DRIFT_MASS_CHANGE_SHARE = env.float("DRIFT_MASS_CHANGE_SHARE", default=0.2)
DRIFT_MASS_CHANGE_MINIMUM = env.int("DRIFT_MASS_CHANGE_MINIMUM", default=3)  # ... and at least this many users

BROKER_DIR = Path(env.str("CELERY_FILESYSTEM_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# A hand-over to the broker (after a service's commit, a worker's retry) gives up at once when the
# broker is down instead of retrying the connection for seconds inside a web request: the job stays
# pending and the sweep hands it over later. (The worker's own consumer reconnects as usual.)
_PUBLISH_FAILOVER = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
if CELERY_BROKER_URL.startswith("filesystem"):
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT = "portal.celery:SafeFilesystemTransport"  # atomic writes (see portal/celery.py)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # How long a worker sleeps before looking again when its slots were full or the queue was
        # empty: every job start waits half of it on average. A look costs one directory listing.
        "polling_interval": env.float("CELERY_FILESYSTEM_POLLING_INTERVAL", default=0.01),
        **_PUBLISH_FAILOVER,
    }
else:
    # Every retry delay stays well below the visibility timeout, so no task is delivered twice
    # just because it waited for its countdown.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(PROVISIONING_BACKOFF_MAX_SECONDS * 4) + 3600,
        **_PUBLISH_FAILOVER,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=150)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "sweep-provisioning-jobs": {
        "task": "telephony.sweep_provisioning_jobs",
        "schedule": PROVISIONING_SWEEP_INTERVAL_SECONDS,
    },
    "plan-drift-scans": {"task": "telephony.plan_drift_scans", "schedule": 60.0},
    "check-platforms": {"task": "telephony.check_platforms_due", "schedule": 300.0},
    "sweep-configurator-orders": {"task": "telephony.sweep_configurator_orders", "schedule": 30.0},
    "check-crm-integrations": {"task": "telephony.check_crm_integrations", "schedule": 300.0},
    "close-expired-acting-sessions": {"task": "tenants.close_expired_acting_sessions", "schedule": 60.0},
    "send-alerts": {"task": "portal.send_alerts", "schedule": 60.0},
    "sweep-webhook-deliveries": {"task": "telephony.sweep_webhook_deliveries", "schedule": 15.0},
    "follow-server-health": {"task": "telephony.follow_server_health", "schedule": 60.0},
    "remove-old-jobs": {"task": "telephony.remove_old_jobs", "schedule": 3600.0},
    "catch-up-search-indexes": {"task": "telephony.catch_up_search_indexes", "schedule": 60.0},
    "remove-old-webhook-deliveries": {"task": "telephony.remove_old_webhook_deliveries", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
