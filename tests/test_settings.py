"""Configuration from environment variables: clear errors on bad input, the documented defaults otherwise."""

import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.utils import ConnectionHandler

from essaim.settings import base as base_settings

SETTING_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "REDIS_URL",
    "EMAIL_HOST",
    "ESSAIM_HTTPS",
    "ESSAIM_SSL_REDIRECT",
    "ESSAIM_BEHIND_PROXY",
    "ESSAIM_LOGIN_FAILURE_LIMIT",
    "ALLOWED_HOSTS",
    "MEDIA_ROOT",
)


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """Evaluate the production settings module afresh with the given environment; returns its namespace."""

    def load(**environ: str) -> dict:
        for name in SETTING_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ESSAIM_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("SECRET_KEY", "a-secret-only-for-this-test")
        for name, value in environ.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        # run_path executes a fresh copy of the file without touching the settings this test run uses.
        return runpy.run_path(base_settings.__file__)

    return load


def test_defaults_are_a_local_sqlite_database_under_the_var_directory(load_settings, tmp_path):
    namespace = load_settings()
    database = namespace["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str((tmp_path / "var" / "essaim.sqlite3").resolve())
    assert namespace["HUEY"]["huey_class"] == "huey.SqliteHuey"
    assert namespace["MEDIA_ROOT"] == (tmp_path / "var" / "media").resolve()
    assert namespace["DEBUG"] is False


def test_database_url_switches_to_postgresql(load_settings):
    namespace = load_settings(DATABASE_URL="postgres://essaim:secret@db.internal:5432/essaim")
    database = namespace["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5432, "essaim")


def test_redis_url_moves_cache_and_task_queue_to_redis(load_settings):
    namespace = load_settings(REDIS_URL="redis://127.0.0.1:6379/0")
    assert namespace["HUEY"]["huey_class"] == "huey.RedisHuey"
    assert namespace["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_smtp_delivery_when_an_email_host_is_configured(load_settings):
    assert load_settings()["ESSAIM_EMAIL_DELIVERY_BACKEND"].endswith("console.EmailBackend")
    assert load_settings(EMAIL_HOST="smtp.exemple.fr")["ESSAIM_EMAIL_DELIVERY_BACKEND"].endswith(
        "smtp.EmailBackend"
    )


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY est obligatoire"),
        ({"SECRET_KEY": "   "}, "SECRET_KEY est obligatoire"),
        ({"DATABASE_URL": "nimportequoi://x"}, "DATABASE_URL invalide"),
        ({"DATABASE_URL": "mysql://essaim@localhost/essaim"}, "seuls SQLite et PostgreSQL"),
        ({"ESSAIM_HTTPS": "peut-être"}, "ESSAIM_HTTPS='peut-être' : valeur booléenne attendue"),
        ({"ESSAIM_BEHIND_PROXY": "2"}, "ESSAIM_BEHIND_PROXY='2' : valeur booléenne attendue"),
        ({"ESSAIM_LOGIN_FAILURE_LIMIT": "cinq"}, "ESSAIM_LOGIN_FAILURE_LIMIT='cinq' : nombre entier attendu"),
    ],
)
def test_invalid_environment_fails_with_a_clear_french_message(load_settings, environ, expected):
    with pytest.raises(ImproperlyConfigured, match=expected):
        load_settings(**environ)


def test_booleans_accept_french_and_english_words(load_settings):
    assert load_settings(ESSAIM_HTTPS="non")["SESSION_COOKIE_SECURE"] is False
    assert load_settings(ESSAIM_HTTPS="Oui")["SESSION_COOKIE_SECURE"] is True
    assert "SECURE_PROXY_SSL_HEADER" in load_settings(ESSAIM_BEHIND_PROXY="true")
    assert "SECURE_PROXY_SSL_HEADER" not in load_settings(ESSAIM_BEHIND_PROXY="false")


@pytest.mark.django_db
def test_a_production_sqlite_connection_uses_wal_and_enforces_foreign_keys(load_settings, tmp_path):
    database = load_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'essaim.sqlite3'}")["DATABASES"]["default"]
    handler = ConnectionHandler({"default": database})
    sqlite = handler["default"]
    try:
        with sqlite.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 1  # NORMAL: safe with WAL, much faster than FULL
    finally:
        handler.close_all()


@pytest.mark.django_db
def test_the_test_database_connection_enforces_foreign_keys():
    if connection.vendor != "sqlite":
        pytest.skip("PRAGMA propre à SQLite ; PostgreSQL applique toujours les clés étrangères.")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
