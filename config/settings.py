"""Settings for the whole monolith, driven by environment variables.

Every variable is documented in the README's configuration table. Nothing
here connects to anything: it only describes where things are.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

from config.databases import database_config
from config.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = (BASE_DIR / env_str("VAR_DIR", "var")).resolve()  # relative to the project
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Absolute base URL used in emails and notifications to link back into the admin.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "config.apps.MonitorAdminConfig",  # django.contrib.admin with our AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_prometheus",
    "django_celery_beat",
    "config.apps.CoreConfig",
    "monitoring",
    "rum",
    "dataquality",
    "alerts",
    "axes",
    "security",
    "audit",
]

MIDDLEWARE = [
    # First, so the whole stack is timed (off with MONITORING_ENABLED=false).
    "monitoring.middleware.RequestMetricsMiddleware",
    # Next: pages wait for a page thread, /healthz and beacons do not (config/page_pool.py).
    "config.page_pool.PagePoolMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "config.security_headers.PermissionsPolicyMiddleware",
    "config.query_string.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: events know who is signed in; 403s are recorded.
    "security.middleware.SecurityEventsMiddleware",
    # After authentication: what a request changes is recorded with its user and address.
    "audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {"default": database_config(env_str("DATABASE_URL"), VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker and the shared aggregation point ------------------
REDIS_URL = env_str("REDIS_URL")
# Prefix of every key we write to Redis, so several deployments (or test runs)
# can share one server.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "perfmon")
# How long a request waits on a hung Redis before the breaker skips Redis (it then
# writes to and reads from the database), and for how long it is skipped before a probe.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.5)
REDIS_BREAKER_SECONDS = env_float("REDIS_BREAKER_SECONDS", 5.0)
# The Celery broker's connect timeout (its own connections, not behind the breaker).
# Replies are waited for without a limit: a worker whose ack timed out during a Redis
# stall stopped consuming for good; waiting, it goes on when Redis does.
REDIS_BROKER_TIMEOUT = env_float("REDIS_BROKER_TIMEOUT", 2.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.BreakerRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": REDIS_BROKER_TIMEOUT,
        "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    }
else:
    # The embedded broker: kombu's filesystem transport, one file per message.
    # It needs no server, and works across the web, worker and beat processes.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_BROKER_TIMEOUT
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often the heartbeat task runs, and how old it may be before /healthz fails.
HEARTBEAT_INTERVAL_SECONDS = env_int("HEARTBEAT_INTERVAL_SECONDS", 15)
HEARTBEAT_MAX_AGE_SECONDS = env_int("HEARTBEAT_MAX_AGE_SECONDS", 120)

# --- Security ---------------------------------------------------------------
# HTTPS: served over TLS only (redirect, secure cookies, HSTS). On by default
# outside DEBUG; turn it off for a plain-HTTP local run.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz is polled by load balancers over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) of every response; config/security_headers.py says
# why, and adds the Permissions-Policy. No inline script: 'self' only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        # plotly.js styles its charts with <style> elements and style attributes.
        "style-src": [CSP_SELF, "'unsafe-inline'"],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "object-src": [CSP_NONE],
    },
}
# Proxies (addresses or CIDRs) whose X-Forwarded-For is believed: config/client_address.py.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# /metrics: a bearer token, or a client address in the allow-list (CIDRs).
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")
# django-prometheus would query the database at start-up and export migration
# gauges named *_total, which promtool rejects; config/metrics.py exports them
# at scrape time instead, under valid names.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- Auth, i18n, static -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
# The display zone: every time shown (pages, admin, e-mails, charts) is in it, and says so.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# The admin writes times as the dashboards do (2026-01-31 17:25), not "5:25 p.m.".
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders when collectstatic has not been run (tests, dev).
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "admin").exists()

# --- Email ------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "perfmon@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Retention (days) -------------------------------------------------------
RETENTION_SLOW_SAMPLES_DAYS = env_int("RETENTION_SLOW_SAMPLES_DAYS", 14)
RETENTION_SYSTEM_SAMPLES_DAYS = env_int("RETENTION_SYSTEM_SAMPLES_DAYS", 30)
RETENTION_MINUTE_ROLLUPS_DAYS = env_int("RETENTION_MINUTE_ROLLUPS_DAYS", 7)
RETENTION_HOURLY_ROLLUPS_DAYS = env_int("RETENTION_HOURLY_ROLLUPS_DAYS", 400)
RETENTION_RUM_EVENTS_DAYS = env_int("RETENTION_RUM_EVENTS_DAYS", 30)
RETENTION_ALERT_HISTORY_DAYS = env_int("RETENTION_ALERT_HISTORY_DAYS", 180)
RETENTION_SECURITY_EVENTS_DAYS = env_int("RETENTION_SECURITY_EVENTS_DAYS", 400)

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    # Documents each operation's refusals (400, 403, 404...) with their JSON bodies.
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # The API takes JSON bodies only (else a 415), within DATA_UPLOAD_MAX_MEMORY_SIZE.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",  # past that size, a 413
}
SPECTACULAR_SETTINGS = {
    "TITLE": "perfmon API",
    "DESCRIPTION": "Staff read API and the Real User Monitoring beacon endpoint.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get components of their own, which say which strings may not be blank.
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replace Django's own console handler, which would print everything twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}

# --- alerts -------------------------------------------------------------------
# How often beat evaluates the alert rules (seeded schedule; editable in the admin).
ALERTS_EVALUATION_INTERVAL_SECONDS = env_int("ALERTS_EVALUATION_INTERVAL_SECONDS", 60)
# Tries per notification, and the exponential backoff between them.
ALERTS_DELIVERY_MAX_ATTEMPTS = env_int("ALERTS_DELIVERY_MAX_ATTEMPTS", 6)
ALERTS_DELIVERY_BACKOFF_SECONDS = env_float("ALERTS_DELIVERY_BACKOFF_SECONDS", 30.0)
ALERTS_DELIVERY_BACKOFF_MAX_SECONDS = env_float("ALERTS_DELIVERY_BACKOFF_MAX_SECONDS", 1800.0)
# Timeout of each outbound webhook / Slack request.
ALERTS_HTTP_TIMEOUT_SECONDS = env_float("ALERTS_HTTP_TIMEOUT_SECONDS", 10.0)
# Addresses or CIDRs that webhook and Slack notifications may reach although they
# are loopback, private, link-local or reserved (e.g. a receiver on this host).
ALERTS_ALLOWED_NETWORKS = env_list("ALERTS_ALLOWED_NETWORKS")
# Messages one client address may post to the built-in webhook receiver ("N/min").
ALERTS_SINK_THROTTLE_RATE = env_str("ALERTS_SINK_THROTTLE_RATE", "60/min")
# Acknowledge links in notifications stop working after this.
ALERTS_ACK_LINK_MAX_AGE_DAYS = env_int("ALERTS_ACK_LINK_MAX_AGE_DAYS", 7)

# --- dataquality ---------------------------------------------------------------
# Largest statement file the import accepts (admin upload and command), in MB.
DATAQUALITY_IMPORT_MAX_MB = env_int("DATAQUALITY_IMPORT_MAX_MB", 20)
# Statements shown in a scheduled email report's "worst statements" list.
DATAQUALITY_REPORT_WORST = env_int("DATAQUALITY_REPORT_WORST", 10)

# --- rum ----------------------------------------------------------------------
# Beacons one client address may send per period ("N/s", "N/min", "N/hour").
RUM_THROTTLE_RATE = env_str("RUM_THROTTLE_RATE", "120/min")
# Seconds after which a batch claimed by a worker that died is inserted by another.
RUM_CLAIM_LEASE_SECONDS = env_float("RUM_CLAIM_LEASE_SECONDS", 60.0)
# Pages with rollups of their own per site and hour (the first seen); the rest share one row.
RUM_MAX_PAGES_PER_HOUR = env_int("RUM_MAX_PAGES_PER_HOUR", 500)
# Serve the demo shop page at /rum/demo/ (`make demo` turns it on); 404 otherwise.
RUM_DEMO_PAGE = env_bool("RUM_DEMO_PAGE", False)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "RumEventTypeEnum": "rum.beacon.EVENT_TYPES",
        "RumNavigationTypeEnum": "rum.beacon.NAVIGATION_TYPES",
    }
)

# --- audit ------------------------------------------------------------------------
# Audit rows older than this are purged (daily job).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 400)

# --- monitoring ---------------------------------------------------------------
# Request, database and task metrics. Off: the middleware steps aside, no query timing.
MONITORING_ENABLED = env_bool("MONITORING_ENABLED", True)
# django-prometheus's own per-request middleware and database wrappers: off by
# default, since /metrics already carries our request and DB metrics for free.
DJANGO_PROMETHEUS_INSTRUMENTATION = env_bool("DJANGO_PROMETHEUS_INSTRUMENTATION", False)
if DJANGO_PROMETHEUS_INSTRUMENTATION:
    MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
    MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")
    for _database in DATABASES.values():
        _database["ENGINE"] = _database["ENGINE"].replace(
            "django.db.backends.", "django_prometheus.db.backends."
        )
MONITORING_SERVER_TIMING = env_bool("MONITORING_SERVER_TIMING", True)
MONITORING_FLUSH_SECONDS = env_float("MONITORING_FLUSH_SECONDS", 5.0)
MONITORING_SLOW_REQUEST_MS = env_float("MONITORING_SLOW_REQUEST_MS", 1000.0)
MONITORING_N_PLUS_ONE_THRESHOLD = env_int("MONITORING_N_PLUS_ONE_THRESHOLD", 5)
MONITORING_SYSTEM_SAMPLE_SECONDS = env_int("MONITORING_SYSTEM_SAMPLE_SECONDS", 15)

# --- web server -----------------------------------------------------------------
# Page threads per gunicorn worker (config/page_pool.py); WEB_THREADS etc. are in gunicorn.py.
WEB_PAGE_CONCURRENCY = env_int("WEB_PAGE_CONCURRENCY", 2)
# A dashboard's figures (and the staff API's answers) are reused this long per range,
# filters and permission set; 0 computes every request anew.
DASHBOARD_CACHE_SECONDS = env_float("DASHBOARD_CACHE_SECONDS", 5.0)
# /healthz runs its checks at most this often per process (under gunicorn).
HEALTHZ_CACHE_SECONDS = env_float("HEALTHZ_CACHE_SECONDS", 1.0)
# Largest believable queue time from X-Request-Start, ms; beyond it the header is ignored.
MONITORING_MAX_QUEUE_MS = env_float("MONITORING_MAX_QUEUE_MS", 60000.0)

# --- security -----------------------------------------------------------------
# Login lockout (django-axes): this many failures for one username, or from one client
# address, lock it out for LOGIN_LOCKOUT_MINUTES. 0 turns the lockout off.
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
AXES_ENABLED = LOGIN_LOCKOUT_FAILURES > 0
AXES_FAILURE_LIMIT = max(LOGIN_LOCKOUT_FAILURES, 1)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_CLIENT_IP_CALLABLE = "security.lockout.lockout_address"  # config.client_address
# Refused attempts during a lock do not prolong it: it ends on time for the real user.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the failures: with the address lock it would also wipe other
# usernames' failures from that address (anyone with an account could reset the count).
AXES_RESET_ON_SUCCESS = False
# The same page whether the username exists or not.
AXES_LOCKOUT_CALLABLE = "security.lockout.lockout_response"
# Logins are security events already (security/); axes keeps only the failure counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
