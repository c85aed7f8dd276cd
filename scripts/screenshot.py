"""Screenshots for the README: start the app, compose a tune in a real browser, save PNGs.

Needs Debian's chromium and `pip install playwright` (no browser download: it drives
/usr/bin/chromium). Usage: .venv/bin/python scripts/screenshot.py --out docs/
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("Streamlit did not become healthy in time.")


@contextmanager
def app_in_browser() -> Iterator[tuple[str, object]]:
    """Start the app on a free loopback port and Chromium; yields (base URL, browser).

    The home page is opened once first: a fresh server's first run is the app's (pages/__init__.py).
    """
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            first = browser.new_page()
            first.goto(url)
            first.get_by_role("heading", name="TuneLab").wait_for(timeout=60_000)
            first.close()
            yield url, browser
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNG files")
    parser.add_argument("--seed", type=int, default=2, help="seed of the tune composed")
    args = parser.parse_args()
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    with app_in_browser() as (url, browser):
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(f"{url}/compose")
        page.get_by_role("button", name="Generate").wait_for(timeout=60_000)
        seed = page.get_by_label("Seed")
        seed.fill(str(args.seed))
        seed.press("Enter")
        page.get_by_role("button", name="Generate").click()
        page.locator("audio").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "compose.png"), full_page=True)
    print(out / "compose.png")


if __name__ == "__main__":
    main()
