"""Debian's Chromium, headless, driven by Playwright against the real stack on loopback.

Never ``playwright install``: it downloads a browser build, which fails offline. The
system browser at /usr/bin/chromium is launched with flags that keep it off the network.
Every test gets a fresh browser context that records each request the page makes and each
CSP violation or page error the console reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.prerequisites import CHROMIUM, require_chromium
from tests.e2e.conftest import Stack, start_stack
from tests.support.prerequisites import require
from tests.support.processes import running

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, ViewportSize

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WAIT_MS = 10_000  # the longest any single step may take: a page load, a click, a query
WALL: ViewportSize = {"width": 1920, "height": 1080}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per module; each test opens its own context.

    Not per session: sync Playwright keeps an event loop running in this thread while it is
    open, and the async tests of later modules need the thread's loop to themselves.
    """
    require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python is not installed: pip install -e '.[dev]'")
        raise  # unreachable: require() skipped or failed
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, timeout=WAIT_MS * 3
        )
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page in a fresh context, with what it asked for and what went wrong in it."""

    page: Page
    requests: list[str] = field(default_factory=list)
    posts: list[Request] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)
        if request.method == "POST":
            self.posts.append(request)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def foreign_requests(self, origin: str) -> list[str]:
        """Requests that went anywhere but ``origin`` (data: URLs stay in the page)."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme != "data" and not url.startswith(f"{origin}/")
        ]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path)
        return path


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A 1920×1080 page in a new context, French locale, Paris time, recording its traffic."""
    context = browser.new_context(
        viewport=WALL,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        service_workers="block",
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    recorded = Tab(page)
    context.on("request", recorded._on_request)
    page.on("console", recorded._on_console)
    page.on("pageerror", lambda error: recorded.page_errors.append(str(error)))
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three services as real processes, shared by the tests that stop none of them."""
    yield from start_stack(tmp_path_factory.mktemp("stack"))


@pytest.fixture
def own_jokes(stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """The shared weather service with a joke service and a gateway of the test's own, for a
    test that stops the joke service (the weather service is the slow one to start)."""
    with (
        running("joke_service", env={"JOKE_DB_PATH": str(tmp_path / "jokes.sqlite3")}) as jokes,
        running("gateway", env={"WEATHER_URL": stack.weather.url, "JOKE_URL": jokes.url}) as gw,
    ):
        yield Stack(stack.weather, jokes, gw)


@pytest.fixture
def own_gateway(stack: Stack) -> Iterator[Stack]:
    """The shared services behind a gateway of the test's own, for a test that stops it."""
    env = {"WEATHER_URL": stack.weather.url, "JOKE_URL": stack.jokes.url}
    with running("gateway", env=env) as gateway:
        yield Stack(stack.weather, stack.jokes, gateway)
