"""Smoke tests: the site answers, in-process and through the production server."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


@pytest.mark.django_db
def test_home_page_answers_in_french(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local test server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_essaim_serve_runs_gunicorn_with_hashed_static_files(tmp_path):
    """The production command for real: collectstatic, gunicorn, WhiteNoise serving hashed files."""
    essaim = Path(sys.executable).with_name("essaim")
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SECRET_KEY": "smoke-test-" + "x" * 50,
        "ESSAIM_VAR_DIR": str(tmp_path / "var"),
        "ESSAIM_HTTPS": "false",
        "ESSAIM_BIND": f"127.0.0.1:{port}",
    }
    subprocess.run([essaim, "migrate", "-v0"], env=env, cwd=tmp_path, check=True, timeout=120)  # noqa: S603
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    server = subprocess.Popen(  # noqa: S603
        [essaim, "serve", "--workers", "1"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert server.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, "essaim serve ne répond pas"
                time.sleep(0.3)
        assert status == 200
        page = body.decode()
        assert 'lang="fr"' in page
        stylesheet = re.search(r'href="(/static/essaim/css/app\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "la feuille de style doit avoir un nom haché (manifeste WhiteNoise)"
        status, headers, css = _get(f"http://127.0.0.1:{port}{stylesheet.group(1)}")
        assert status == 200
        assert "immutable" in headers["Cache-Control"]
        assert css
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
