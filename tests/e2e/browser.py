"""Headless Chromium for the console's browser tests: Debian's `chromium` driven by Playwright, with
no browser download. In CI (`CI` set) a missing browser fails the tests instead of skipping them."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.chromium import CHROMIUM, FLAGS
from dispatch_common.paths import REPO_ROOT
from tests.helpers import missing

ARTIFACTS = REPO_ROOT / ".artifacts" / "console"
"""Screenshots of the browser tests (ignored by git; CI keeps the folder as an artifact)."""


def _missing(reason: str) -> None:
    missing(reason)  # a developer's machine without chromium skips; CI fails, so nothing is hidden there


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser for a module; each test opens its own contexts (separate sign-ins). Never for the
    session: while Playwright's synchronous API is open, the thread has a running event loop, and every
    asynchronous test after it would fail (pytest-asyncio's runner cannot start inside one)."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        _missing(f"no chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (make venv)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Keep a screenshot of the page as a test artifact."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


SIZES = {"wall": {"width": 1920, "height": 1080}, "laptop": {"width": 1366, "height": 768}}


def signed_in(chromium, stack, role: str, unit: str | None = None, size: str = "wall"):
    """A fresh browser context (its own sessionStorage) signed in with the development picker."""
    context = chromium.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.console_url)
    page.select_option("#role", role)
    if unit:
        page.select_option("#unit", unit)
    page.click("#dev-sign-in")
    page.wait_for_selector(f"#who [data-role='{role}']")
    page.errors = errors
    return page
