"""PostgreSQL databases for the benchmarks: each script creates its own throwaway database and drops it."""

from django.conf import settings
from django.db import connections


def _admin():
    import psycopg

    params = settings.DATABASES["default"]
    return psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres", autocommit=True
    )


def create_postgres_database() -> None:
    """(Re)create the configured database; refuses any name not starting with essaim_bench (it is dropped)."""
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("essaim_bench"):
        raise SystemExit(
            "Sur PostgreSQL, le nom de la base doit commencer par essaim_bench (elle est supprimée)."
        )
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database() -> None:
    """Drop the configured benchmark database, closing this process's connections (and others') first."""
    connections.close_all()
    with _admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{settings.DATABASES["default"]["NAME"]}" WITH (FORCE)')
