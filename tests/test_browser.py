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
from pathlib import Path

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
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
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
    page.get_by_label("Variations (1-8)", exact=True).fill("1")  # one tune (four by default)
    page.get_by_role("button", name="Generate").click()
    audio = page.locator("audio").first
    audio.wait_for(timeout=180_000)
    assert "/media/" in (audio.get_attribute("src") or "")
    # the browser fetches and decodes the WAV: the tune (~40 s asked) plus the 1 s release tail
    duration = page.evaluate(
        "async () => { const a = document.querySelector('audio');"
        " if (isNaN(a.duration)) await new Promise(r => a.addEventListener('loadedmetadata', r, {once: true}));"
        " return a.duration; }"
    )
    assert 25 < duration < 70
    page.close()


EDITOR = "ABC (edit the notes, then Play: audio, notation and downloads follow)"
LOOP_TUNE = "X:1\nT:Browser Jig\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|f2d e2c|d3 d3:|\n"


def _settle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the script run that the last action started has finished."""
    page.wait_for_timeout(400)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_ms)
    page.wait_for_timeout(200)


def _worked_on(page) -> tuple[int, str]:
    """The seed and ABC text of the tune in "Work on the tune"."""
    import re

    caption = page.locator("text=/^Seed \\d+ · /").first.inner_text()
    abc = page.get_by_label(EDITOR, exact=True).input_value()
    return int(re.match(r"Seed (\d+)", caption).group(1)), abc


def _midi_pitches(page, label: str = "Download MIDI") -> list[int]:
    import io

    import pretty_midi

    with page.expect_download() as info:
        page.get_by_role("button", name=label).first.click()
    data = Path(info.value.path()).read_bytes()
    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    return [n.pitch for inst in midi.instruments for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))]


def _press(page, name: str, new_tune: bool = True) -> None:
    """Click a button; with ``new_tune``, wait until the tune worked on is a new one (its caption changes:
    seed, length and the time it took)."""
    caption = page.locator("text=/^Seed \\d+ · /").first
    before = caption.inner_text() if caption.count() else ""
    page.get_by_role("button", name=name, exact=True).first.click()
    _settle(page)
    if new_tune:
        page.wait_for_function(
            "before => { const c = [...document.querySelectorAll('p')].find(p => /^Seed \\d+ · /.test(p.innerText));"
            " return c && c.innerText !== before; }", arg=before, timeout=180_000)
        _settle(page)


def test_the_musicians_loop_in_the_browser(server, browser, tmp_path):
    page = _compose_page(browser, server)
    page.keyboard.press("Escape")
    page.get_by_label("Variations (1-8)", exact=True).fill("1")
    page.get_by_text("Sample again when the tune copies a training tune").click()  # on by default: off
    _press(page, "Generate")
    first = _worked_on(page)
    _press(page, "Generate")
    second = _worked_on(page)
    assert first[0] != second[0] and first[1] != second[1]  # two presses: two seeds, two tunes
    page.get_by_label("Seed", exact=True).fill(str(second[0]))
    page.get_by_text("Lock seed").click()
    _press(page, "Generate")
    assert _worked_on(page) == second  # locked: the same tune again

    page.get_by_text("Lock seed").click()
    page.get_by_label("Variations (1-8)", exact=True).fill("4")
    _press(page, "Generate")
    assert page.get_by_role("button", name="Work on this one").count() == 4
    assert page.locator("audio >> visible=true").count() == 5  # four variations, the tune worked on; earlier: folded
    page.get_by_role("heading", name="4 variations").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "variations.png"))

    editor = page.get_by_label(EDITOR, exact=True)
    editor.fill(LOOP_TUNE)
    editor.press("Tab")
    _settle(page)
    _press(page, "Play")
    played = _midi_pitches(page)
    assert played[:4] == [69, 71, 73, 74]  # A B c# d: the edit is what plays

    page.get_by_label("Transpose to", exact=True).click()
    page.get_by_role("option", name="E", exact=True).click()
    _settle(page)
    _press(page, "Transpose", new_tune=False)
    page.wait_for_function("() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('K:E'))",
                           timeout=120_000)
    _settle(page)  # the editor shows first; the downloads below it follow when the run ends
    page.wait_for_timeout(1500)
    assert _midi_pitches(page) == [p + 2 for p in played]  # D -> E: every note up two semitones

    page.get_by_text("Continue my tune: paste or upload").click()
    page.get_by_label("Your tune (headers and body; up to 6,000 characters)", exact=True).fill(LOOP_TUNE)
    _press(page, "Continue")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download ABC").first.click()
    continued = Path(info.value.path()).read_text(encoding="utf-8")
    assert continued.startswith(LOOP_TUNE) and len(continued) > len(LOOP_TUNE) + 20
    page.screenshot(path=str(tmp_path / "loop.png"), full_page=True)
    page.close()
