"""Real headless Chromium (Debian's) driven by Playwright's sync API against pytest-django's live server.

Missing Chromium, Playwright or axe-core skips these tests with the reason, unless ESSAIM_REQUIRE_BROWSER=1
(set by CI), where it fails. The machine may be offline: every request to another host than the live server
is blocked and recorded, and tests assert that pages made none.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("ESSAIM_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 320, "height": 640}


def _unavailable(reason: str):
    if os.environ.get("ESSAIM_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"{reason} (ESSAIM_REQUIRE_BROWSER=1 : les tests navigateur sont obligatoires)", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def axe_path() -> Path:
    if not AXE.is_file():
        _unavailable(f"axe-core introuvable ({AXE}) : lancez « npm ci --ignore-scripts »")
    return AXE


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        _unavailable(f"Chromium introuvable ({CHROMIUM}) : installez le paquet Debian « chromium »")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright pour Python n'est pas installé (dépendances de développement)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProbe:
    """What a page did that it should not have: requests to other hosts, console errors, script errors."""

    def __init__(self):
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []

    def assert_clean(self):
        assert self.blocked == [], f"requêtes vers l'extérieur : {self.blocked}"
        assert self.console_errors == [], f"erreurs dans la console : {self.console_errors}"
        assert self.page_errors == [], f"erreurs JavaScript : {self.page_errors}"


def _open_page(browser, *, viewport, bypass_csp=False):
    context = browser.new_context(viewport=viewport, locale="fr-FR", bypass_csp=bypass_csp)
    probe = PageProbe()

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            probe.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda message: message.type == "error" and probe.console_errors.append(message.text))
    page.on("pageerror", lambda error: probe.page_errors.append(str(error)))
    page.probe = probe
    return context, page


@pytest.fixture
def page(browser, live_server):
    """A desktop-sized page; ``page.probe`` records what went wrong. The CSP is enforced."""
    context, page = _open_page(browser, viewport=DESKTOP)
    yield page
    context.close()


@pytest.fixture
def mobile_page(browser, live_server):
    """A 320 px wide page (the narrowest width WCAG reflow asks for)."""
    context, page = _open_page(browser, viewport=MOBILE)
    yield page
    context.close()


@pytest.fixture
def audit_page(browser, live_server, axe_path):
    """A page for axe-core: Playwright injects axe as an inline script, which our CSP would block."""
    context, page = _open_page(browser, viewport=DESKTOP, bypass_csp=True)
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Saves a full-page screenshot when ESSAIM_SCREENSHOT_DIR is set (handy in CI artifacts)."""
    directory = os.environ.get("ESSAIM_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


_OVERFLOWING = """(limit) => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
    .slice(0, 8)
    .map((el) => `<${el.tagName} class="${el.className}"> ${el.getBoundingClientRect().right}`)"""


def assert_fits_width(page, width: int = 320) -> None:
    """Fails when the page scrolls sideways at `width` (WCAG 1.4.10 reflow), naming what sticks out.

    Waits for the load event first: right after a form post the new document can be measured before its
    stylesheets apply, and an unstyled page is wider than the styled one."""
    page.wait_for_load_state("load")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (scroll_width, page.evaluate(_OVERFLOWING, width))
