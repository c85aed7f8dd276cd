"""Survey load: several processes record votes into one database at once, as several app replicas would.

Each process joins participants to an open survey and answers every clip dealt to them, one vote per
transaction, then submits one vote again (it must be refused as a duplicate). Prints votes per second over
the whole run and the p50/p99 latency of recording one vote (the ``record_vote`` call, milliseconds).

Usage (from the project root):
    python benchmarks/survey_load.py                                   # SQLite file in a temp folder
    python benchmarks/survey_load.py --url postgresql+psycopg://user@host/db
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass
class LoadResult:
    """What :func:`run_load` measured: votes stored, seconds of wall time, per-vote latencies in ms."""

    stored: int
    duplicates_refused: int
    seconds: float
    latencies_ms: list[float]
    errors: list[str]
    lock_retries: int

    @property
    def votes_per_second(self) -> float:
        return self.stored / self.seconds if self.seconds else float("nan")

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def voter(url: str, token: str, participants: int, barrier, results) -> None:
    """One process's work: join ``participants`` people and answer all their clips; errors are reported.

    Puts a dict (counts, latencies, errors, start and end times) on the ``results`` queue.
    """
    from survey_db import participants as P
    from survey_db.engine import LOCK_RETRIES, get_engine

    get_engine(url)  # connect and check the schema before the clock starts
    out = {"stored": 0, "duplicates_refused": 0, "latencies_ms": [], "errors": [], "lock_retries": 0}
    barrier.wait(timeout=120)  # every process starts together
    out["start"] = time.time()
    for i in range(participants):
        try:
            person = P.join(token, url)
            state = P.state(token, person, url)
            first = state.clip
            while state.step == "clip":
                t0 = time.perf_counter()
                stored = P.record_vote(token, person, state.clip, "human" if i % 2 else "machine", None, 1000, url)
                out["latencies_ms"].append((time.perf_counter() - t0) * 1000)
                out["stored"] += stored
                state = P.state(token, person, url)
            if first is not None and not P.record_vote(token, person, first, "human", None, 1000, url):
                out["duplicates_refused"] += 1
        except Exception as exc:  # noqa: BLE001 - every error is reported to the caller, none is hidden
            out["errors"].append(f"{type(exc).__name__}: {exc}")
    out["lock_retries"] = LOCK_RETRIES[0]
    out["end"] = time.time()
    results.put(out)


def run_load(url: str, token: str, processes: int = 8, participants: int = 25) -> LoadResult:
    """Run ``processes`` voter processes (spawned, released together) against one open survey."""
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=voter, args=(url, token, participants, barrier, queue)) for _ in range(processes)]
    for w in workers:
        w.start()
    try:
        results = [queue.get(timeout=600) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
    return LoadResult(
        stored=sum(r["stored"] for r in results), duplicates_refused=sum(r["duplicates_refused"] for r in results),
        seconds=max(r["end"] for r in results) - min(r["start"] for r in results),
        latencies_ms=[x for r in results for x in r["latencies_ms"]],
        errors=[e for r in results for e in r["errors"]], lock_retries=sum(r["lock_retries"] for r in results),
    )


def abc_model() -> str:
    """The best ABC model on offer (test bits per character), for the machine clips of the load survey.

    The survey's machine clips are ABC tunes; a MIDI model (the autoencoder, listed first by name) composes
    no ABC. Raises UserError saying how to get one when there is none.
    """
    from core.errors import UserError
    from core.training.checkpoint import list_models

    abc = [c for c in list_models() if not c.is_midi]
    if not abc:
        raise UserError("The load test needs an ABC model and none is installed: train one with "
                        "`python -m core train --preset r1-lstm` or restore assets/models.")
    return min(abc, key=lambda c: (c.metrics.get("test_bpc") is None, c.metrics.get("test_bpc") or 0.0, c.name)).name


def prepare_survey(url: str, clips_per_side: int = 5, excerpt_seconds: float = 4.0,
                   min_listen_seconds: float = 0.0) -> tuple[int, str]:
    """An open survey of real clips: human tunes from O'Neill's test split, machine tunes from the best ABC
    model (:func:`abc_model`)."""
    from core.data.corpus import load_corpus
    from core.generation.compose import ComposeSettings, compose
    from core.survey.clips import ClipPolicy, human_clip, machine_clip
    from survey_db import store

    policy = ClipPolicy(excerpt_seconds=excerpt_seconds, fade_seconds=0.5)
    model = abc_model()
    clips = [human_clip(t, "oneills1850", policy) for t in load_corpus("oneills1850").split("test")[:clips_per_side]]
    clips += [machine_clip(compose(ComposeSettings(model=model, seed=s, seconds=12)), policy)
              for s in range(clips_per_side)]
    spec = store.SurveySpec(title="Load test", min_listen_seconds=min_listen_seconds)
    survey_id = store.create_survey(spec, clips, url)
    store.set_status(survey_id, "open", url)
    return survey_id, next(s.token for s in store.list_surveys(url) if s.id == survey_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL of an empty database (default: a new SQLite file)")
    parser.add_argument("--processes", type=int, default=8, help="voter processes")
    parser.add_argument("--participants", type=int, default=25, help="participants per process")
    parser.add_argument("--clips", type=int, default=10, help="clips in the survey (half human, half machine)")
    args = parser.parse_args()
    from core.errors import UserError

    try:
        abc_model()
    except UserError as exc:
        sys.exit(f"error: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'load.sqlite'}"
        _, token = prepare_survey(url, args.clips // 2)
        result = run_load(url, token, args.processes, args.participants)
    backend = url.split(":", 1)[0]
    print(f"{backend}: {args.processes} processes, {result.stored} votes in {result.seconds:.1f} s: "
          f"{result.votes_per_second:.0f} votes/s; record_vote latency p50 {result.percentile_ms(50):.1f} ms, "
          f"p99 {result.percentile_ms(99):.1f} ms; duplicates refused {result.duplicates_refused}; "
          f"lock retries {result.lock_retries}; errors {len(result.errors)}")
    for error in result.errors[:5]:
        print("  ", error)


if __name__ == "__main__":
    main()
