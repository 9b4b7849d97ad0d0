"""The ``essaim`` console script and the project's own commands (serve, worker, demo)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ESSAIM = Path(sys.executable).with_name("essaim")


def run_essaim(*args: str, tmp_path: Path, **environ: str) -> subprocess.CompletedProcess:
    """Run the installed console script with a clean environment (nothing inherited but PATH)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env["ESSAIM_VAR_DIR"] = str(tmp_path / "var")
    env.update(environ)
    return subprocess.run(  # noqa: S603 - fixed program, arguments from the test itself
        [str(ESSAIM), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )


def test_production_without_secret_key_stops_with_a_clear_message(tmp_path):
    result = run_essaim("check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY est obligatoire en production" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_database_url_stops_with_a_clear_message(tmp_path):
    result = run_essaim("check", tmp_path=tmp_path, SECRET_KEY="x" * 50, DATABASE_URL="oracle://db/essaim")
    assert result.returncode != 0
    assert "seuls SQLite et PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_passes_with_development_settings(tmp_path):
    result = run_essaim("check", tmp_path=tmp_path, DJANGO_SETTINGS_MODULE="essaim.settings.dev")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_help_lists_the_project_commands_without_production_secrets(tmp_path):
    result = run_essaim("help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("demo", "serve", "worker"):
        assert f"    {command}\n" in result.stdout


@pytest.mark.parametrize(
    ("command", "options", "environ", "message"),
    [
        ("serve", {"workers": 0}, {}, "au moins 1"),
        ("serve", {}, {"WEB_CONCURRENCY": "beaucoup"}, "WEB_CONCURRENCY='beaucoup' : nombre entier attendu"),
        ("worker", {"workers": 0}, {}, "au moins 1"),
        ("worker", {}, {"ESSAIM_WORKERS": "deux"}, "ESSAIM_WORKERS='deux' : nombre entier attendu"),
    ],
)
def test_server_and_worker_refuse_bad_worker_counts(monkeypatch, command, options, environ, message):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=message):
        call_command(command, **options)


def test_demo_refuses_a_missing_la_poste_file(tmp_path):
    with pytest.raises(CommandError, match="Fichier La Poste introuvable"):
        call_command("demo", laposte=tmp_path / "absent.csv", no_serve=True)
