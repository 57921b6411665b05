"""The admin UI in a real browser: Debian's Chromium driven by Playwright, against a live
server (werkzeug, in a thread) over a SQLite file with the standard-product preset and a
small demo load. Each step saves a screenshot under ``test-artifacts/screenshots/``.

Without Chromium the tests skip with the reason; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import make_server

from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from engine.web import create_app
from tests.support import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CRM_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
ADMIN = ("ada", "correct horse")
REP = ("rita", "rep password")
#: Playwright waits at most this long for one thing (the pages answer in milliseconds).
TIMEOUT_MS = 10_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium (skipped without one, failure under CI=true)")


def _chromium_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@dataclass
class LiveServer:
    url: str
    engine: CrmEngine


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 (a free port), over its own SQLite file."""
    folder = tmp_path_factory.mktemp("browser")
    engine = CrmEngine(f"sqlite:///{folder / 'crm.db'}")
    load_preset(engine, "standard_product")
    generate_demo(engine, "standard_product", 150, seed=11)
    engine.scoring.run()
    engine.users.create(ADMIN[0], roles=["admin"], display_name="Ada Admin")
    engine.users.set_password(*ADMIN)
    engine.users.create(REP[0], roles=["rep"], team="east", display_name="Rita Rep")
    engine.users.set_password(*REP)
    app = create_app({"CRM_ENGINE": engine, "SECRET_KEY": "browser-tests", "CRM_RELOAD_INTERVAL": 0.2})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", engine)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = _chromium_missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; under CI=true the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot of this step."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, user: tuple[str, str] = ADMIN) -> None:
    page.goto("/admin/login/")
    page.fill("#name", user[0])
    page.fill("#password", user[1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/(my-day/)?$"))  # administrators: the dashboard; others: their day
