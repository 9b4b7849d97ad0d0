"""Production settings: the base every other settings module overrides.

Everything that varies between deployments comes from environment variables (see the README's table).
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from essaim.settings.env import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Runtime state (SQLite database, task queue, media, collected static files) lives under ./var by default.
VAR_DIR = Path(env_str("ESSAIM_VAR_DIR", "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = False
ESSAIM_ENVIRONMENT = "production"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY est obligatoire en production : définissez la variable d'environnement SECRET_KEY "
        "(une longue chaîne aléatoire, par exemple : "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
    "huey.contrib.djhuey",
    "essaim.core",
    "essaim.accounts",
    "essaim.territories",
    "essaim.actors",
    "essaim.events",
    "essaim.exchange",
    "essaim.workshops",
    "essaim.demo",
    "essaim.www",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes must come last: it turns locked-out logins into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "essaim.urls"
WSGI_APPLICATION = "essaim.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "essaim.www.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------
DEFAULT_SQLITE_PATH = VAR_DIR / "essaim.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
except ValueError as exc:  # unknown scheme, malformed URL
    raise ImproperlyConfigured(
        f"DATABASE_URL invalide ({exc}). Exemples : sqlite:///var/essaim.sqlite3, "
        "postgres://utilisateur:motdepasse@hote:5432/essaim"
    ) from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    _db["CONN_HEALTH_CHECKS"] = False
    _db["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN so
        # concurrent writers queue (busy timeout) instead of failing with "database is locked" mid-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _db["ENGINE"] not in {"django.db.backends.postgresql"}:
    raise ImproperlyConfigured("DATABASE_URL : seuls SQLite et PostgreSQL sont pris en charge.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, queue -------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "essaim",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "essaim",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
    }

# --- Accounts -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "www:home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Login rate limiting: 5 failures for one account from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env_int("ESSAIM_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Login forms (ours and the admin's) post the email as "username"; axes would otherwise read "email".
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "essaim.accounts.lockout.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# Reverse proxies in front of the app: the client address is the Nth X-Forwarded-For entry from the right.
ESSAIM_PROXY_COUNT = env_int("ESSAIM_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "essaim.accounts.lockout.client_ip"
# Sign-up and password reset limits (django-ratelimit, counted in the default cache).
ESSAIM_SIGNUP_RATE = env_str("ESSAIM_SIGNUP_RATE", "5/h")
ESSAIM_PASSWORD_RESET_RATE = env_str("ESSAIM_PASSWORD_RESET_RATE", "5/h")
ESSAIM_PASSWORD_RESET_EMAIL_RATE = env_str("ESSAIM_PASSWORD_RESET_EMAIL_RATE", "3/h")
# Open-data downloads of the directory (/annuaire/export.*), per client address.
ESSAIM_EXPORT_RATE = env_str("ESSAIM_EXPORT_RATE", "20/h")
# Messages of "Entrer en relation" (offres & besoins) a person may send (django-ratelimit rate, per account).
ESSAIM_CONTACT_RATE = env_str("ESSAIM_CONTACT_RATE", "20/h")
# Score from which a matching suggestion is recorded and sent in the digest of new suggestions.
ESSAIM_MATCH_NOTIFY_SCORE = env_int("ESSAIM_MATCH_NOTIFY_SCORE", 7)
# Largest file a facilitator may upload for a directory import (bytes).
ESSAIM_IMPORT_MAX_BYTES = env_int("ESSAIM_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
# Retention (privacy page): sent or failed emails, and login logs/attempts, are purged after these delays.
ESSAIM_EMAIL_RETENTION_DAYS = env_int("ESSAIM_EMAIL_RETENTION_DAYS", 30)
ESSAIM_LOGIN_LOG_RETENTION_DAYS = env_int("ESSAIM_LOGIN_LOG_RETENTION_DAYS", 365)
# Agenda: participants' personal data is anonymised this many months after the event (0 keeps it); a
# reminder email goes to each confirmed participant this many days before the event.
ESSAIM_EVENTS_RETENTION_MONTHS = env_int("ESSAIM_EVENTS_RETENTION_MONTHS", 24)
ESSAIM_EVENTS_REMINDER_DAYS = env_int("ESSAIM_EVENTS_REMINDER_DAYS", 2)

# --- Email --------------------------------------------------------------------------------------------
# Every message is stored as a row, then delivered by a background task with retries.
EMAIL_BACKEND = "essaim.core.mail.QueuedEmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST")
ESSAIM_EMAIL_DELIVERY_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Essaim <ne-pas-repondre@essaim.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ESSAIM_EMAIL_MAX_ATTEMPTS = 5

# --- Internationalisation -----------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security -----------------------------------------------------------------------------------------
ESSAIM_HTTPS = env_bool("ESSAIM_HTTPS", True)
SESSION_COOKIE_SECURE = ESSAIM_HTTPS
CSRF_COOKIE_SECURE = ESSAIM_HTTPS
SECURE_SSL_REDIRECT = ESSAIM_HTTPS and env_bool("ESSAIM_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if ESSAIM_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
if env_bool("ESSAIM_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A French page inside the site layout instead of Django's English one.
CSRF_FAILURE_VIEW = "essaim.www.pages.views.csrf_failure"

# Map tiles are the only third-party origin pages may load (images only).
ESSAIM_MAP_TILES_URL = env_str("ESSAIM_MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
_tiles_origin = "/".join(ESSAIM_MAP_TILES_URL.split("/")[:3])

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", _tiles_origin],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# --- Logging ------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A handler here stops run_huey from adding its own, which printed every line twice.
        "huey": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO"), "propagate": False},
    },
}

# --- Essaim -------------------------------------------------------------------------------------------
ESSAIM_SITE_NAME = env_str("ESSAIM_SITE_NAME", "Essaim")
# Public root of the site ("https://annuaire.example.org") for links in emails sent by background tasks;
# defaults to the first host of ALLOWED_HOSTS.
ESSAIM_SITE_URL = env_str("ESSAIM_SITE_URL", "")
ESSAIM_ASSETS_DIR = PACKAGE_DIR / "www" / "static" / "vendor"
# Who runs this instance: shown in the legal notice, the privacy page and the accessibility statement.
ESSAIM_OPERATOR_NAME = env_str("ESSAIM_OPERATOR_NAME", "")
ESSAIM_OPERATOR_ADDRESS = env_str("ESSAIM_OPERATOR_ADDRESS", "")
ESSAIM_CONTACT_EMAIL = env_str("ESSAIM_CONTACT_EMAIL", "")
ESSAIM_PUBLICATION_DIRECTOR = env_str("ESSAIM_PUBLICATION_DIRECTOR", "")
ESSAIM_HOSTING_PROVIDER = env_str("ESSAIM_HOSTING_PROVIDER", "")
# AGPL section 13: where users of this instance can get its source code.
ESSAIM_SOURCE_CODE_URL = env_str("ESSAIM_SOURCE_CODE_URL", "")
