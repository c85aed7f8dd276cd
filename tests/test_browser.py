"""The app in a real browser (Debian's Chromium driven by Playwright): what AppTest cannot reach.

A fresh server is started for these tests; the first request is a deep link, as a shared
link would be, and a tune is composed and played through the page's audio element.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("streamlit did not start")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _compose_page(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/compose")
    page.get_by_role("heading", name="Compose").wait_for(timeout=60_000)
    page.get_by_role("button", name="Generate").wait_for(timeout=60_000)
    page.wait_for_timeout(500)
    return page


def test_deep_link_shows_the_compose_page_with_the_app_navigation(server, browser):
    # The very first run of a fresh server goes through Streamlit's legacy pages/ discovery
    # (see pages/__init__.py): it finds no page there, says "Page not found" once, then runs
    # app.py, whose st.navigation shows the right page. Later visits go straight there.
    first = _compose_page(browser, server)
    nav = first.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Compose" in nav and "Home" in nav and "common" not in nav and "app" not in nav.split()
    first.close()
    second = _compose_page(browser, server)
    assert second.locator('[role="dialog"]').count() == 0
    second.close()


def test_generate_plays_a_tune_in_the_browser(server, browser):
    page = _compose_page(browser, server)
    page.keyboard.press("Escape")  # a leftover first-run dialog, if this test runs alone
    page.get_by_role("button", name="Generate").click()
    audio = page.locator("audio")
    audio.wait_for(timeout=60_000)
    assert "/media/" in (audio.get_attribute("src") or "")
    # the browser fetches and decodes the WAV: the tune (~40 s asked) plus the 1 s release tail
    duration = page.evaluate(
        "async () => { const a = document.querySelector('audio');"
        " if (isNaN(a.duration)) await new Promise(r => a.addEventListener('loadedmetadata', r, {once: true}));"
        " return a.duration; }"
    )
    assert 25 < duration < 70
    page.close()
