"""Participants through the real server: concurrent websocket sessions take a survey, as browsers would.

Each participant is a light client of Streamlit's protocol (scripts/st_client.py): it opens the survey link,
consents, and for every clip fetches the audio over HTTP, "listens" for ``--listen`` seconds (the survey's
minimum listening time is set just below it: shortened from a real survey's), then answers. Printed: p50/p95
seconds per answer (from pressing Next until the next clip's page has arrived), votes lost (answers the page
acknowledged that are not in the database) and doubled, errors, and server memory per session (resident
memory with every session open, minus before any, divided by the participants). Participants start spread
over ``--ramp`` seconds.

Usage (from the project root):
    python benchmarks/survey_participants.py --participants 50                 # one server, SQLite
    python benchmarks/survey_participants.py --participants 50 --replicas 2    # two replicas, PostgreSQL, nginx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from http.cookiejar import CookieJar
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.replicas import Replicas, free_port, wait_healthy  # noqa: E402
from scripts.st_client import StreamlitClient, choose, trigger  # noqa: E402


async def participant(url: str, token: str, listen: float, delay: float, out: dict) -> None:
    """One participant's whole visit; adds answer times, acknowledged answers and errors to ``out``."""
    await asyncio.sleep(delay)
    client = StreamlitClient(url, "survey", f"s={token}", CookieJar())
    try:
        await client.connect()
        page = await client.run()
        page = await client.run([trigger(page.button("I agree: start"))])
        while page.of("radio"):
            audio = [a.url for a in page.of("audio")] + [json.loads(b.json).get("src", "")
                                                         for b in page.of("bidi_component")]
            for src in audio[:1]:
                await asyncio.to_thread(client.fetch, src)  # the browser loads the clip
            await asyncio.sleep(listen)
            start = time.perf_counter()
            page = await client.run([choose(page.of("radio")[0], "A person"), trigger(page.button("Next"))])
            out["answer_s"].append(time.perf_counter() - start)
            if "Please listen" in page.texts() or not (page.of("radio") or "Thank you" in page.texts()):
                out["errors"].append(page.texts()[-200:])
                break
            out["acknowledged"] += 1
        out["finished"] += "Thank you" in page.texts()
    except Exception as exc:  # noqa: BLE001 - every failure is counted and shown, none hidden
        out["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()


async def crowd(url: str, token: str, n: int, listen: float, ramp: float, sample_rss) -> dict:
    out = {"answer_s": [], "acknowledged": 0, "finished": 0, "errors": [], "peak_rss_mb": 0.0}
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            out["peak_rss_mb"] = max(out["peak_rss_mb"], sum(sample_rss()))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    start = time.perf_counter()
    await asyncio.gather(*(participant(url, token, listen, ramp * i / max(n - 1, 1), out) for i in range(n)))
    out["seconds"] = time.perf_counter() - start
    stop.set()
    await watcher
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def torch_loaded(pid: int) -> bool:
    """Whether a process has torch's library mapped (Linux /proc)."""
    return any("libtorch" in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def _single_server(db: str, run: Path):
    """One participant-only server on ``db``; returns (url, rss sampler, stop, its pid)."""
    import subprocess

    port = free_port()
    env = {**os.environ, "TUNELAB_MODE": "survey", "SURVEY_DB_URL": db, "TUNELAB_JOINS_PER_MINUTE": "100000"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=ROOT,
                            stdout=open(run / "server.log", "ab"), stderr=subprocess.STDOUT, env=env)  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, 120)

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=20)

    return url, lambda: [rss_mb(proc.pid)], stop, proc.pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=50, help="concurrent participants (default 50)")
    parser.add_argument("--replicas", type=int, default=1, help="1: one server; 2+: replicas behind nginx")
    parser.add_argument("--clips", type=int, default=10, help="clips each participant answers (default 10)")
    parser.add_argument("--listen", type=float, default=2.0, help="seconds each clip is 'listened' to (default 2)")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which participants arrive")
    parser.add_argument("--postgres", action="store_true", help="one server on a private PostgreSQL, not SQLite")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    from benchmarks.survey_load import prepare_survey
    from survey_db import store

    pg = None
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        if args.replicas > 1 or args.postgres:
            from tests.survey_support import PostgresServer

            pg = PostgresServer.start(durable=True)
            db = pg.new_database()
        else:
            db = f"sqlite:///{run / 'survey.sqlite'}"
        survey_id, token = prepare_survey(db, args.clips // 2, min_listen_seconds=max(args.listen - 0.5, 0.0))
        if args.replicas > 1:
            cluster = Replicas(args.replicas, db, run / "replicas", env={"TUNELAB_JOINS_PER_MINUTE": "100000"})
            cluster.start()
            url, sample, stop = cluster.url, cluster.rss_mb, cluster.stop
            warm = [f"http://127.0.0.1:{port}" for port in cluster.ports]  # each replica directly
            pids = [p.pid for p in cluster.procs if p is not None]
        else:
            url, sample, stop, pid = _single_server(db, run)
            warm, pids = [url], [pid]
        stored_before = 0
        started = sum(sample())  # after the server's own warm-up session, before any participant
        try:
            for server in warm:  # warm-up: the first session of a server imports torch and music21
                asyncio.run(crowd(server, token, 1, 0.0, 0.0, sample))
            before = sum(sample())
            with_torch = any(torch_loaded(p) for p in pids)
            stored_before = len(store.responses_frame(survey_id, db))
            result = asyncio.run(crowd(url, token, args.participants, args.listen, args.ramp, sample))
        finally:
            stop()
            stored = len(store.responses_frame(survey_id, db)) - stored_before
            if pg is not None:
                pg.stop()
    answers = np.array(result["answer_s"]) if result["answer_s"] else np.array([np.nan])
    figures = {
        "participants": args.participants, "replicas": args.replicas, "database": db.split(":", 1)[0],
        "clips": args.clips, "listen_s": args.listen, "answers": len(result["answer_s"]),
        "p50_s": round(float(np.percentile(answers, 50)), 3), "p95_s": round(float(np.percentile(answers, 95)), 3),
        "max_s": round(float(answers.max()), 3), "finished": result["finished"],
        "votes_lost": max(result["acknowledged"] - stored, 0),
        "votes_doubled": max(stored - result["acknowledged"], 0),
        "errors": len(result["errors"]), "seconds": round(result["seconds"], 1),
        "memory_per_session_mb": round((result["peak_rss_mb"] - before) / args.participants, 1),
        "server_rss_start_mb": round(started), "server_rss_before_mb": round(before),
        "server_rss_peak_mb": round(result["peak_rss_mb"]), "torch_loaded": with_torch,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end",
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{figures['participants']} participants, {figures['replicas']} server(s) on {figures['database']}: "
              f"answer p50 {figures['p50_s']} s, p95 {figures['p95_s']} s (max {figures['max_s']} s) over "
              f"{figures['answers']} answers; finished {figures['finished']}; votes lost {figures['votes_lost']}, "
              f"doubled {figures['votes_doubled']}; errors {figures['errors']}; memory per session "
              f"{figures['memory_per_session_mb']} MB ({figures['server_rss_before_mb']} -> "
              f"{figures['server_rss_peak_mb']} MB; {figures['server_rss_start_mb']} MB at start; torch "
              f"{'loaded' if figures['torch_loaded'] else 'not loaded'}); {figures['seconds']} s; {figures['machine']}")
    for error in result["errors"][:5]:
        print("  ", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
