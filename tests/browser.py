"""A page opened in a real headless browser (Debian's chromium, driven through Playwright): what it
shows, what it logged and what it asked the network for, and a screenshot kept as a test artefact.

Playwright drives the distribution's ``/usr/bin/chromium`` (``executable_path``): no browser is
downloaded. Screenshots go to ``$NATSIM_TEST_ARTEFACTS`` (default ``test-artefacts/`` at the top of
the project, ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = Path(os.environ.get("NATSIM_TEST_ARTEFACTS", Path(__file__).parents[1] / "test-artefacts"))


@dataclass
class OpenedPage:
    """A page as the browser showed it: ``page`` (a Playwright page), the console's errors and every
    URL the page requested."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Save the whole page as ``ARTEFACTS/name.png``; returns the path."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def open_in_browser(html: Path, width: int = 1280, height: int = 900) -> Iterator[OpenedPage]:
    """Open ``html`` (a file) in headless chromium, wait until it has loaded, yield what it shows."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make packages` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            opened = OpenedPage(page)
            page.on("console", lambda msg: opened.console_errors.append(msg.text)
                    if msg.type == "error" else None)
            page.on("pageerror", lambda err: opened.console_errors.append(str(err)))
            page.on("request", lambda request: opened.requests.append(request.url))
            page.goto(html.resolve().as_uri(), wait_until="load")
            yield opened
        finally:
            browser.close()
