"""Rewriting two bars of a generated tune in a real browser (Chromium through Playwright): the rest is unchanged."""

from __future__ import annotations

import re

import pytest

from core.generation.infill import parse_tune
from tests.conftest import ROOT, SHIPPED
from tests.test_browser import _compose_page, _press, _settle, _worked_on, browser, server  # noqa: F401

pytestmark = pytest.mark.skipif(not __import__("shutil").which("chromium"), reason="Debian's chromium is not installed")
SHOTS = ROOT / "data" / "screenshots"


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _settle(page)


def test_rewrite_two_bars_keeps_the_rest_byte_for_byte(server, browser):  # noqa: F811
    page = _compose_page(browser, server)
    page.keyboard.press("Escape")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name=re.compile(SHIPPED[0])).click()
    _settle(page)
    page.get_by_label("Variations (1-8)", exact=True).fill("1")
    _press(page, "Generate")
    page.get_by_role("heading", name="Rewrite bars").wait_for(timeout=60_000)
    _, old = _worked_on(page)
    _set_number(page, "From bar", 3)
    _set_number(page, "To bar", 4)
    _press(page, "Rewrite bars")
    page.get_by_role("heading", name="Rewrite bars").wait_for(timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rewrite-bars.png"), full_page=True)
    _, new = _worked_on(page)
    assert new != old and page.locator("audio").count() >= 1
    a, b = parse_tune(old + "\n"), parse_tune(new + "\n")
    head = len(a.header) + a.bars[2].start
    assert new[:head] == old[:head]  # header and bars 1-2, to the character
    assert new[len(b.header) + b.bars[3].end :] == old[len(a.header) + a.bars[3].end :]  # bar 4's bar line onwards
    assert [x.length for x in b.bars] == [x.length for x in a.bars]
    page.close()
