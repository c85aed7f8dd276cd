"""Compose in a real browser (Debian's Chromium driven by Playwright), one fresh server for the whole module.

What AppTest cannot reach: a deep link as the first request of a fresh server, a reload, a link opened in a
fresh browser (another visitor), the score's cursor following the audio, and every request the page makes
(none may leave the host). Tunes are kept short (4 bars a part, one variation where one will do).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.generation.infill import parse_tune
from tests.server_support import start_streamlit, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
EDITOR = "ABC (edit the notes, then Play: audio, notation and downloads follow)"
LOOP_TUNE = "X:1\nT:Browser Jig\nM:6/8\nL:1/8\nK:D\n|:A2B c2d|e2f g2e|f2d e2c|d3 d3:|\n"
SHOTS = Path(os.environ.get("TUNELAB_SHOTS", "")) if os.environ.get("TUNELAB_SHOTS") else None

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server():
    proc, url = start_streamlit()
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def visitor(browser):
    """One browser context (one visitor: its cookies, its tunes) shared by the tests in order, and the log of
    every URL its pages requested."""
    context = browser.new_context(accept_downloads=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    yield context, requests
    context.close()


def shot(page, name: str, tmp_path: Path, full_page: bool = True) -> None:
    """A screenshot in the test's folder (and in ``$TUNELAB_SHOTS`` when set, to look at); ``full_page``: the
    whole of Streamlit's scrolling main area (a tall window for the moment)."""
    size = page.viewport_size
    if full_page:
        height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
        page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / name))
    page.set_viewport_size(size)
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, SHOTS / name)


def settle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the script run that the last action started has finished."""
    page.wait_for_timeout(400)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_ms)
    page.wait_for_timeout(200)


def caption_text(page) -> str:
    caption = page.locator("text=/^Seed \\d+ · /").first
    return caption.inner_text() if caption.count() else ""


def worked_on(page) -> tuple[int, str]:
    """The seed and ABC text of the tune in "Work on the tune"."""
    seed = int(re.match(r"Seed (\d+)", caption_text(page)).group(1))
    return seed, page.get_by_label(EDITOR, exact=True).input_value()


def press(page, name: str, new_tune: bool = True) -> None:
    """Click a button; with ``new_tune``, wait until the tune worked on is a new one (its caption changes)."""
    before = caption_text(page)
    page.get_by_role("button", name=name, exact=True).first.click()
    settle(page)
    if new_tune:
        page.wait_for_function(
            "before => { const c = [...document.querySelectorAll('p')].find(p => /^Seed \\d+ · /.test(p.innerText));"
            " return c && c.innerText !== before; }", arg=before, timeout=60_000)
        settle(page)


def midi_pitches(page, label: str = "Download MIDI") -> list[int]:
    import pretty_midi

    with page.expect_download() as info:
        page.get_by_role("button", name=label).first.click()
    midi = pretty_midi.PrettyMIDI(io.BytesIO(Path(info.value.path()).read_bytes()))
    return [n.pitch for inst in midi.instruments for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))]


def short_tunes(page, variations: int = 1) -> None:
    """Variations, 4 bars a part, copies allowed: quick presses."""
    page.get_by_label("Variations (1-8)", exact=True).fill(str(variations))
    page.get_by_label("Bars per part", exact=True).fill("4")
    copies = page.get_by_role("checkbox", name="Sample again when the tune copies a training tune")
    if copies.is_checked():
        page.get_by_text("Sample again when the tune copies a training tune").click()


def open_compose(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Generate").wait_for(timeout=120_000)
    settle(page)
    if page.locator('[role="dialog"]').count():
        page.keyboard.press("Escape")
    return page


def test_a_direct_link_on_a_fresh_server_opens_compose(server, visitor, tmp_path):
    page = open_compose(visitor[0], f"{server}/compose")  # the server's very first request
    text = page.locator("body").inner_text()
    assert "Page not found" not in text and page.locator('[role="dialog"]').count() == 0
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Compose" in nav and "Home" in nav and "common" not in nav
    assert "The slider's top" not in text  # no developer's note on the page
    shot(page, "compose-fresh.png", tmp_path, full_page=False)
    page.close()


def test_generate_edit_reload_and_the_link_in_a_fresh_browser(server, browser, visitor, tmp_path):
    page = open_compose(visitor[0], f"{server}/compose")
    short_tunes(page)
    press(page, "Generate")
    generated_seed, generated = worked_on(page)
    assert re.search(r"generated in \d+\.\d+ s from the press", caption_text(page))
    editor = page.get_by_label(EDITOR, exact=True)
    editor.fill(LOOP_TUNE)  # no Tab: Play must read the text as it is on screen
    press(page, "Play")
    assert midi_pitches(page)[:4] == [69, 71, 73, 74]  # A B c# d: the edit is what plays
    assert "edited and played again in" in caption_text(page)
    tune_id = page.evaluate("() => new URL(location.href).searchParams.get('tune')")
    assert tune_id and len(tune_id) == 12
    shot(page, "edited.png", tmp_path)

    page.reload()
    page.get_by_label(EDITOR, exact=True).wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_label(EDITOR, exact=True).input_value() == LOOP_TUNE  # the tune worked on is back
    page.get_by_role("heading", name="Earlier").wait_for()
    earlier = page.locator('[data-testid="stExpander"] summary').all_inner_texts()
    assert any(f"generated · seed {generated_seed}" in t for t in earlier)  # and the history
    assert "My tunes (2)" in page.locator("body").inner_text()
    link = page.locator("button.tl-copy").first.get_attribute("data-url")
    audio = page.locator("audio").first.get_attribute("src")
    shot(page, "reloaded.png", tmp_path)

    stranger = browser.new_context()  # another visitor: no cookie, read-only
    other = stranger.new_page()
    other.goto(link)
    other.get_by_text("A shared tune").wait_for(timeout=120_000)
    settle(other)
    other.get_by_text("ABC text").first.click()
    assert other.locator("pre code").first.inner_text().strip() == LOOP_TUNE.strip()
    assert other.locator("audio").first.get_attribute("src") == audio  # the same WAV (media URLs hash content)
    assert other.locator('.tl-score[role="img"]').first.get_attribute("aria-label").startswith("Score of Browser Jig")
    assert other.get_by_role("button", name="Delete").count() == 0
    assert "My tunes (0)" in other.locator("body").inner_text()
    shot(other, "shared-link.png", tmp_path)
    stranger.close()
    assert generated != LOOP_TUNE
    page.close()


def test_the_cursor_follows_the_audio_and_no_request_leaves_the_host(server, visitor, tmp_path):
    context, requests = visitor
    page = open_compose(context, f"{server}/compose")  # the tune worked on comes back with the address
    score = page.locator(".tl-score[data-ready] >> visible=true").first
    score.wait_for(timeout=60_000)
    assert int(score.get_attribute("data-events")) > 10
    page.evaluate("() => { const a = document.querySelector('audio'); a.currentTime = 0; return a.play(); }")
    seen = set()
    for _ in range(12):
        page.wait_for_timeout(250)
        seen.add(score.get_attribute("data-playing"))
    assert len(seen - {None, "-1"}) >= 3, seen  # the highlighted note changes as the audio plays
    assert page.locator(".tl-score .tl-playing").count() >= 1
    page.get_by_role("heading", name=re.compile("^Work on")).scroll_into_view_if_needed()
    shot(page, "cursor.png", tmp_path, full_page=False)
    page.evaluate("() => document.querySelector('audio').pause()")
    notes = score.locator(".abcjs-note")
    notes.nth(notes.count() // 2).click(force=True)  # a click on a note plays from there (abcjs finds the note)
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.querySelector('audio').currentTime") > 2
    hosts = {urlsplit(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, [u for u in requests if "127.0.0.1" not in u]
    assert any(u.endswith("/app/static/vendor/abcjs-basic-min.js") for u in requests)
    page.close()


def test_the_musicians_loop_variations_transpose_continue(server, visitor, tmp_path):
    page = open_compose(visitor[0], f"{server}/compose")
    short_tunes(page, variations=2)
    page.get_by_label("Seed", exact=True).first.fill("11")
    page.get_by_text("Lock seed").first.click()
    press(page, "Generate")
    assert worked_on(page)[0] == 11
    assert page.get_by_role("button", name="Work on this one").count() == 2
    page.get_by_role("button", name="Enlarge score").first.click()
    page.locator('[role="dialog"] .tl-score[data-ready]').wait_for(timeout=30_000)
    shot(page, "enlarged.png", tmp_path, full_page=False)
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="2 variations").scroll_into_view_if_needed()
    shot(page, "variations.png", tmp_path, full_page=False)

    played = midi_pitches(page)
    page.get_by_label("Transpose to", exact=True).click()
    page.get_by_role("option", name="E", exact=True).click()
    settle(page)
    press(page, "Transpose", new_tune=False)
    page.get_by_text("Transposed to E", exact=False).first.wait_for(timeout=60_000)
    settle(page)
    page.wait_for_timeout(1000)
    shifted = midi_pitches(page)
    assert len(shifted) == len(played) and "K:E" in page.get_by_label(EDITOR, exact=True).input_value()

    page.get_by_text("Continue my tune: paste or upload").click()
    page.get_by_label("Your tune (headers and body; up to 6,000 characters)", exact=True).fill(LOOP_TUNE)
    press(page, "Continue")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download ABC").first.click()
    continued = Path(info.value.path()).read_text(encoding="utf-8")
    assert continued.startswith(LOOP_TUNE) and len(continued) > len(LOOP_TUNE) + 20
    shot(page, "loop.png", tmp_path)
    page.close()


def test_rewrite_two_bars_keeps_the_rest_byte_for_byte(server, visitor, tmp_path):
    page = open_compose(visitor[0], f"{server}/compose")  # the continued tune is back
    page.get_by_role("heading", name="Rewrite bars").wait_for(timeout=60_000)
    _, old = worked_on(page)
    for label, value in (("From bar", 3), ("To bar", 4)):
        box = page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
        settle(page)
    press(page, "Rewrite bars")
    page.get_by_role("heading", name="Rewrite bars").wait_for(timeout=60_000)
    shot(page, "rewrite-bars.png", tmp_path)
    _, new = worked_on(page)
    assert new != old and re.search(r"bars 3-4 rewritten with seed \d+", caption_text(page))
    a, b = parse_tune(old + "\n"), parse_tune(new + "\n")
    head = len(a.header) + a.bars[2].start
    assert new[:head] == old[:head]  # header and bars 1-2, to the character
    assert new[len(b.header) + b.bars[3].end :] == old[len(a.header) + a.bars[3].end :]  # bar 4's bar line onwards
    page.close()
