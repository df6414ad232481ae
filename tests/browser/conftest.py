"""Headless Chromium for browser tests: Debian's chromium driven by Playwright.

Playwright's own browser download is never used: the project tests the browser a
clinician's workstation has, found on PATH (or via MMRESIST_CHROMIUM). Without it the
tests skip with a message saying how to install it, except under CI=true, where a
missing browser fails the run rather than letting the escaping checks pass unseen.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MISSING_CHROMIUM = (
    "headless Chromium not found: install Debian chromium (apt-get install chromium) "
    "to run browser tests"
)
MISSING_PLAYWRIGHT = (
    "Playwright for Python not importable: install the test extras "
    "(pip install -e '.[test]') to run browser tests"
)


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(message)


def find_chromium() -> str | None:
    configured = os.environ.get("MMRESIST_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        _unavailable(MISSING_CHROMIUM)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable(MISSING_PLAYWRIGHT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page plus everything it tried to do: dialogs, requests, console errors."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open(self, path: Path) -> str:
        url = path.resolve().as_uri()
        self.page.goto(url, wait_until="load")
        # Give onerror/onload handlers a chance to fire if anything had slipped through.
        self.page.wait_for_timeout(300)
        return url


@pytest.fixture
def watched(browser):
    context = browser.new_context(java_script_enabled=True, viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def only_files(route):
        # Nothing may leave the machine even if a test fails: abort and remember it.
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    try:
        watcher = Watched(page)
        watcher.blocked = blocked
        yield watcher
    finally:
        context.close()
