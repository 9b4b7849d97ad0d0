"""The strict Content-Security-Policy holds: no inline code, nonces on scripts, a header on every page."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

import essaim
from tests.www.html import tags

SOURCE_DIR = Path(essaim.__file__).resolve().parent
TEMPLATES = sorted(path for path in SOURCE_DIR.rglob("templates/**/*") if path.suffix in {".html", ".svg"})

# A start tag (attribute values may contain ">" inside quotes, e.g. Django tags or hx-* JSON).
TAG = re.compile(r"<(?P<name>[a-zA-Z][\w-]*)(?P<attrs>(?:\"[^\"]*\"|'[^']*'|[^'\">])*)>", re.S)
INLINE_HANDLER = re.compile(r"(?:^|[\s\"'])on[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"(?:^|[\s\"'])style\s*=", re.I)
SRC_ATTRIBUTE = re.compile(r"(?:^|\s)src\s*=", re.I)
HTMX_INLINE_HANDLER = re.compile(r"(?:^|\s)(?:data-)?hx-on\b", re.I)
COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|<!--.*?-->", re.S)


def csp_problems(source: str) -> list[str]:
    """What in a template would break (or weaken) a strict CSP, one French line per problem."""
    problems = []
    source = COMMENTS.sub("", source)
    if re.search(r"javascript\s*:", source, re.I):
        problems.append("URL javascript:")
    for match in TAG.finditer(source):
        name, attrs = match["name"].lower(), match["attrs"]
        if INLINE_HANDLER.search(attrs):
            problems.append(f"gestionnaire d'événement en ligne dans <{name}>")
        if HTMX_INLINE_HANDLER.search(attrs):
            problems.append(f"attribut hx-on (code en ligne) dans <{name}>")
        if STYLE_ATTRIBUTE.search(attrs):
            problems.append(f"attribut style dans <{name}>")
        if name == "script" and not SRC_ATTRIBUTE.search(attrs):
            problems.append("<script> sans src (script en ligne)")
        if name == "style":
            problems.append("élément <style> en ligne")
    return problems


def test_templates_are_found():
    names = {path.relative_to(SOURCE_DIR).as_posix() for path in TEMPLATES}
    assert "www/templates/base.html" in names
    assert len(names) > 10


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.relative_to(SOURCE_DIR).as_posix())
def test_template_has_no_inline_code(path):
    assert csp_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ('<button onclick="go()">', "gestionnaire d'événement en ligne dans <button>"),
        ("<body onload='start()'>", "gestionnaire d'événement en ligne dans <body>"),
        ('<p class="x" style="color: red">', "attribut style dans <p>"),
        ('<a href="javascript:void(0)">', "URL javascript:"),
        ("<script>alert(1)</script>", "<script> sans src (script en ligne)"),
        ('<script nonce="{{ request.csp_nonce }}">go()</script>', "<script> sans src (script en ligne)"),
        ("<style>p { color: red }</style>", "élément <style> en ligne"),
        ('<div hx-vals=\'{"a": ">"}\' onmouseover="x()">', "gestionnaire d'événement en ligne dans <div>"),
        ('<form hx-on::after-request="this.reset()">', "attribut hx-on (code en ligne) dans <form>"),
    ],
)
def test_scanner_catches_inline_code(snippet, problem):
    assert problem in csp_problems(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="{% static \'essaim/js/app.js\' %}" nonce="{{ request.csp_nonce }}" defer></script>',
        '<div data-online="yes" hx-get="/x/">',
        "{# an explanation that mentions <style> and onclick= #}",
        "<p>Les sessions online=oui</p>",
        '<a href="{% url \'www:home\' %}" data-style="x">',
    ],
)
def test_scanner_accepts_safe_markup(snippet):
    assert csp_problems(snippet) == []


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["www:home", "www:accessibility", "accounts:login", "accounts:signup"])
def test_pages_send_a_strict_csp_with_the_nonce_of_their_scripts(client, url_name):
    response = client.get(reverse(url_name))

    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    nonces = [value for value in directives["script-src"] if value.startswith("'nonce-")]
    assert len(nonces) == 1
    scripts = tags(response.content.decode(), "script")
    assert scripts
    for script in scripts:
        assert f"'nonce-{script['nonce']}'" == nonces[0]


@pytest.mark.django_db
def test_each_response_gets_a_new_nonce(client):
    first = client.get(reverse("www:home")).headers["Content-Security-Policy"]
    second = client.get(reverse("www:home")).headers["Content-Security-Policy"]

    assert re.search(r"'nonce-[^']+'", first)[0] != re.search(r"'nonce-[^']+'", second)[0]
