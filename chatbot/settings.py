"""Settings for the chatbot project, read from the environment.

Every value comes through the one ``env`` object (django-environ). With no
variable set the project runs on its embedded default: SQLite, a local-memory
cache, a filesystem Celery broker and the console email backend. The README
has a table of every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from chatbot.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
env.read_env(BASE_DIR / ".env")

# --- core -----------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random string of at least 32 characters "
        "when DEBUG is off."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute links in emails (alerts) are built from this; by default the
# address `make run` serves on (PORT, as the Makefile and Procfile read it).
PORT = env.int("PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}")

INSTALLED_APPS = [
    # Django's admin, whose site also serves the perfdash dashboard pages.
    "perfdash.dashboard.apps.PerformanceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "conversations",
    "perfdash",
    "perfdash.loadtests",
    "perfdash.alerts",
]

MIDDLEWARE = [
    # First, so every other middleware's time is measured (perfdash).
    "perfdash.middleware.PerfdashMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatbot.urls"
WSGI_APPLICATION = "chatbot.wsgi.application"
ASGI_APPLICATION = "chatbot.asgi.application"

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

# --- database -------------------------------------------------------------

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    ),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's native psycopg pool; it requires persistent connections off.
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    if _db["CONN_MAX_AGE"] != 0:
        raise ImproperlyConfigured(
            "CONN_MAX_AGE must be 0 with the PostgreSQL connection pool; "
            "size the pool with DB_POOL_MAX_SIZE instead."
        )
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        # Seconds a request waits for a free connection before a 503.
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    }
    _db["OPTIONS"].setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3)
    )
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web server and the Celery worker
    # share the file without "database is locked" errors.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
_db.setdefault("TEST", {})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="chatbot")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis; the subclass logs a dead Redis at WARNING.
            "BACKEND": "chatbot.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                # django-redis' client, skipping Redis for a second after
                # a failure (chatbot.cache).
                "CLIENT_CLASS": "chatbot.cache.BreakerClient",
                # Redis is an accelerator: a dead or paused server must cost a
                # request milliseconds, not seconds, before PostgreSQL answers.
                "SOCKET_CONNECT_TIMEOUT": env.float(
                    "REDIS_CONNECT_TIMEOUT", default=0.25
                ),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=0.25),
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "chatbot.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "chatbot",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

# --- auth -----------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
REGISTRATION_OPEN = env.bool("REGISTRATION_OPEN", default=True)

SIMPLE_JWT = {
    # Chat requests trust the token alone (no user query), so a deactivated
    # user keeps access until the access token expires: keep it short.
    "ACCESS_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_ACCESS_LIFETIME_SECONDS", default=300)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_LIFETIME_SECONDS", default=86400)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_CLAIM": "user_id",
    "USER_ID_FIELD": "id",
    "TOKEN_REFRESH_SERIALIZER": "chatbot.auth.RefreshSerializer",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # simplejwt's stateless class, telling an expired token apart.
        "chatbot.auth.StatelessJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["chatbot.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatbot.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chatbot API",
    "DESCRIPTION": "Stateless chat API with its own performance dashboard.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Routes that answer with and without the slash are documented once.
    "PREPROCESSING_HOOKS": ["chatbot.routing.drop_slashless_twins"],
}

# --- chat -----------------------------------------------------------------

CHAT = {
    "BACKEND": env.str("CHAT_BACKEND", default="local"),
    "OPENAI_BASE_URL": env.str("OPENAI_BASE_URL", default="http://127.0.0.1:11434/v1"),
    "OPENAI_API_KEY": env.str("OPENAI_API_KEY", default=""),
    "MODEL": env.str("CHAT_MODEL", default="local-echo"),
    "CONNECT_TIMEOUT": env.float("CHAT_CONNECT_TIMEOUT", default=5.0),
    "READ_TIMEOUT": env.float("CHAT_READ_TIMEOUT", default=60.0),
    "CONTEXT_MESSAGES": env.int("CHAT_CONTEXT_MESSAGES", default=20),
    "MAX_MESSAGE_CHARS": env.int("CHAT_MAX_MESSAGE_CHARS", default=8000),
    # A claim outlives a crashed worker by at most this many seconds.
    "TURN_CLAIM_SECONDS": env.int("CHAT_TURN_CLAIM_SECONDS", default=120),
    "HISTORY_CACHE_SECONDS": env.int("CHAT_HISTORY_CACHE_SECONDS", default=3600),
    "HISTORY_MODE": env.str("CHAT_HISTORY_MODE", default="stateless"),
}

# Choices that cannot work are refused at start, like a missing SECRET_KEY,
# rather than failing every chat turn later.
CHAT_BACKENDS = ("local", "openai")
CHAT_HISTORY_MODES = ("stateless", "stateful")
for _variable, _value, _allowed in (
    ("CHAT_BACKEND", CHAT["BACKEND"], CHAT_BACKENDS),
    ("CHAT_HISTORY_MODE", CHAT["HISTORY_MODE"], CHAT_HISTORY_MODES),
):
    if _value not in _allowed:
        raise ImproperlyConfigured(
            f"{_variable}={_value!r} is not supported; use one of: "
            f"{', '.join(_allowed)}."
        )

# --- perfdash -------------------------------------------------------------

PERFDASH = {
    "ENABLED": env.bool("PERFDASH_ENABLED", default=True),
    "FLUSH_SECONDS": env.float("PERFDASH_FLUSH_SECONDS", default=5.0),
    # The dashboard reloads itself this often (twice as slowly past 1 h).
    "REFRESH_SECONDS": env.int("PERFDASH_REFRESH_SECONDS", default=30),
    "SLOW_STATEMENT_MS": env.float("PERFDASH_SLOW_STATEMENT_MS", default=50.0),
    "N_PLUS_ONE_THRESHOLD": env.int("PERFDASH_N_PLUS_ONE_THRESHOLD", default=5),
    "RETENTION_MINUTE_DAYS": env.int("PERFDASH_RETENTION_MINUTE_DAYS", default=7),
    "RETENTION_HOUR_DAYS": env.int("PERFDASH_RETENTION_HOUR_DAYS", default=90),
    "RETENTION_DAY_DAYS": env.int("PERFDASH_RETENTION_DAY_DAYS", default=365),
    "METRICS_TOKEN": env.str("PERFDASH_METRICS_TOKEN", default=""),
    "SILK_ENABLED": env.bool("SILK_ENABLED", default=False),
    "SILK_PERCENT": env.int("SILK_PERCENT", default=10),
    "DELETE_BATCH_SIZE": env.int("PERFDASH_DELETE_BATCH_SIZE", default=5000),
}

if PERFDASH["ENABLED"]:
    # Count cache hits and misses per request around the configured backend.
    CACHES["default"]["MEASURED_BACKEND"] = CACHES["default"]["BACKEND"]
    CACHES["default"]["BACKEND"] = "perfdash.cache.MeasuredCache"

# django-silk, the optional deep profiler: sampled, staff only, and storing
# no bodies, credentials or parameter values (see perfdash/silk.py).
if PERFDASH["SILK_ENABLED"]:
    INSTALLED_APPS.append("silk")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("perfdash.middleware.PerfdashMiddleware") + 1,
        "silk.middleware.SilkyMiddleware",
    )
    SILKY_INTERCEPT_PERCENT = PERFDASH["SILK_PERCENT"]
    SILKY_AUTHENTICATION = True
    SILKY_AUTHORISATION = True  # silk's default permission: is_staff
    SILKY_PYTHON_PROFILER = False
    SILKY_ANALYZE_QUERIES = False
    SILKY_META = False
    # 0 keeps no body at all (-1 would keep every body).
    SILKY_MAX_REQUEST_BODY_SIZE = 0
    SILKY_MAX_RESPONSE_BODY_SIZE = 0
    SILKY_HIDE_COOKIES = True
    SILKY_SENSITIVE_KEYS = {
        "username", "password", "token", "access", "refresh", "secret", "key",
        "api", "signature", "authorization", "message", "content", "title",
    }  # fmt: skip
    SILKY_MAX_RECORDED_REQUESTS = env.int("SILK_MAX_RECORDED_REQUESTS", default=10_000)
    # Never collect inside a request; Celery runs perfdash.collect_silk_garbage.
    SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 0
    LOGIN_URL = "admin:login"

# --- load tests and the pre-deployment checklist ---------------------------

LOADTESTS = {
    # Processes that each hold a DB pool: web workers (gunicorn reads the same
    # variable) plus Celery workers and beat; perfcheck sizes pools with it.
    "WEB_PROCESSES": env.int("WEB_CONCURRENCY", default=1),
    "WORKER_PROCESSES": env.int("CELERY_PROCESSES", default=2),
    # Resident memory one web process may use, in MiB (perfcheck, compare_modes).
    "PROCESS_MEMORY_LIMIT_MB": env.float("PROCESS_MEMORY_LIMIT_MB", default=512.0),
    "CACHE_HIT_RATIO_MIN": env.float("PERFCHECK_CACHE_HIT_RATIO_MIN", default=0.7),
    "ERROR_RATE_MAX": env.float("PERFCHECK_ERROR_RATE_MAX", default=0.01),
}

# --- celery ---------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker that needs no server. Producer
    # and consumer share one folder.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _done_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _done_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_done_dir),
        # Exchange tables; kombu's default is ./control in the working folder.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Each app adds its periodic tasks here (see the apps' celery modules).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE.update(
    {
        "perfdash-roll-up-hours": {"task": "perfdash.roll_up_hours", "schedule": 300.0},
        "perfdash-roll-up-days": {"task": "perfdash.roll_up_days", "schedule": 3600.0},
        "perfdash-delete-expired": {
            "task": "perfdash.delete_expired",
            "schedule": 6 * 3600.0,
        },
        "perfdash-sample-db-connections": {
            "task": "perfdash.sample_db_connections",
            "schedule": 60.0,
        },
    }
)
if PERFDASH["SILK_ENABLED"]:
    CELERY_BEAT_SCHEDULE["perfdash-collect-silk-garbage"] = {
        "task": "perfdash.collect_silk_garbage",
        "schedule": 3600.0,
    }

# --- alerts ---------------------------------------------------------------

ALERTS = {
    # Beat runs the evaluator this often; each run is one claimed tick.
    "TICK_SECONDS": env.float("ALERTS_TICK_SECONDS", default=60.0),
    # The dashboard warns when the last run is older than this; 0 means three
    # ticks.
    "LATE_AFTER_SECONDS": env.float("ALERTS_LATE_AFTER_SECONDS", default=0.0),
    # Signed "silence" links in emails stop working after this long.
    "SILENCE_LINK_MAX_AGE_SECONDS": env.int(
        "ALERTS_SILENCE_LINK_MAX_AGE_SECONDS", default=7 * 86400
    ),
    "SILENCE_LINK_MINUTES": env.int("ALERTS_SILENCE_LINK_MINUTES", default=60),
    # Where the dashboard lives; emails link to it with a custom UTC range.
    "DASHBOARD_PATH": env.str(
        "ALERTS_DASHBOARD_PATH", default="/admin/performance/"
    ),
}
CELERY_BEAT_SCHEDULE["alerts-evaluate"] = {
    "task": "perfdash.alerts.tasks.evaluate_alerts",
    "schedule": timedelta(seconds=ALERTS["TICK_SECONDS"]),
    # A message older than one tick is stale: after a restart or an outage,
    # the queue must not replay a storm of evaluations.
    "options": {"expires": ALERTS["TICK_SECONDS"]},
}

# --- email ----------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="chatbot@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- i18n, static ---------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- security (production) ------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# The header only allows a later submission to the browsers' preload list;
# check --deploy asks for it in production (as cookiecutter-django sets it).
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Number of reverse proxies in front of the app whose X-Forwarded-For is
# trusted for the client address (throttling); 0 trusts none.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

# --- reliability: throttling, API headers, database outages ---------------

# Requests per window ("N/s", "N/min", "N/hour", "N/day"; "none" turns a
# limit off), counted atomically in the cache by chatbot.throttling.
THROTTLE_RATES = {
    "user": env.str("THROTTLE_USER_RATE", default="600/min"),
    "chat": env.str("THROTTLE_CHAT_RATE", default="60/min"),
    "token_ip": env.str("THROTTLE_TOKEN_IP_RATE", default="60/min"),
    "token_user": env.str("THROTTLE_TOKEN_USER_RATE", default="10/min"),
}
for _scope, _rate in THROTTLE_RATES.items():
    try:
        parse_rate(_rate)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"THROTTLE_{_scope.upper()}_RATE: {_exc}"
        ) from None
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["chatbot.throttling.UserRateThrottle"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
    "chatbot.middleware.ApiHeadersMiddleware",
)
# Every /api/ error in the one JSON shape, also with DEBUG on; inside
# ApiHeadersMiddleware (which adds its headers to the rewritten answer) and
# outside CommonMiddleware (whose APPEND_SLASH answers it rewrites too).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
    "chatbot.middleware.ApiJsonErrorsMiddleware",
)
if _db["ENGINE"] == "django.db.backends.postgresql":
    # With the pool, Django turns this into psycopg_pool's check on checkout
    # (one empty round trip): after a database restart only the requests in
    # flight fail, not one request per dead idle connection.
    _db["CONN_HEALTH_CHECKS"] = env.bool("DB_HEALTH_CHECKS", default=True)
    # Refused connections trip a breaker: requests fail fast with a 503 while
    # the database is down instead of each waiting DB_POOL_TIMEOUT.
    from chatbot.dbhealth import BreakerConnection

    _db["OPTIONS"]["pool"]["connection_class"] = BreakerConnection
    _measured = "perfdash.middleware.PerfdashMiddleware"
    MIDDLEWARE.insert(
        MIDDLEWARE.index(_measured) + 1 if _measured in MIDDLEWARE else 0,
        "chatbot.middleware.DatabaseBreakerMiddleware",
    )

# --- logging --------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
