"""Headless Debian Chromium driven by Playwright, for the gallery and MCP App tests.

Playwright's own browser download cannot run here (``playwright install`` is never used): the
tests launch the system's ``/usr/bin/chromium`` with the flags that keep it from reaching for
Google's services, which a closed network refuses.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get update && apt-get install -y chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every wait in a browser test ends within this, so a broken page fails instead of hanging.
TIMEOUT_MS = 15_000


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A fresh headless Chromium with an empty profile; fails (never skips) when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing; install it with: {INSTALL}")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as driver:
        # Playwright passes the fresh profile as --user-data-dir itself.
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, timeout=TIMEOUT_MS
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


class Recorder:
    """Every request a page makes and every console message it logs."""

    def __init__(self, page: Page) -> None:
        self.requests: list[Request] = []
        self.console: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def foreign(self) -> list[str]:
        """URLs that would leave this machine's loopback (``blob:``/``data:`` stay in the page)."""
        return [
            r.url
            for r in self.requests
            if urlsplit(r.url).scheme not in ("blob", "data") and urlsplit(r.url).hostname != "127.0.0.1"
        ]

    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]
