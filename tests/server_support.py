"""Start and stop real `streamlit run serve.py` servers for the browser, replica and load tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.replicas import free_port, wait_healthy  # noqa: F401  (the tests' server helpers too)

ROOT = Path(__file__).resolve().parent.parent


def start_streamlit(env: dict | None = None, port: int | None = None, address: str = "127.0.0.1",
                    log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """A server of the app on ``address:port`` with extra environment ``env``; returns (process, base URL)."""
    port = port or free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the process holds it
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", address, "--server.headless", "true"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
    except RuntimeError:
        proc.kill()
        raise
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
