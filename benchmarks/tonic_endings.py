"""Endings by ear: the last sounding pitch of every part, read from the MIDI abc2midi makes of it, against
the key's tonic pitch class; and open slurs, chords and ties at the end of parts. Issue #21's check.

Each part (up to ``:|``, ``||`` or ``|]``) of each tune is played on its own with the tune's header, so
the last note of the MIDI is the last note of that part as a listener hears it (accidentals, key
signature and all). Usage:

    .venv/bin/python benchmarks/tonic_endings.py [--n 200] [--model NAME ...] [--temperature 0.8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.piece import Piece  # noqa: E402
from core.generation.compose import ComposeSettings, compose, load_model  # noqa: E402
from core.generation.header import KEYS, METERS  # noqa: E402
from core.generation.rescue import NoPlayableTune  # noqa: E402
from core.training.checkpoint import cpu_name  # noqa: E402

SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
PART_END = re.compile(r"(:\||\|\||\|\])")


def tonic_pitch_class(key: str) -> int:
    """``"F#m"`` -> 6, ``"Bb"`` -> 10, ``"Ador"`` -> 9."""
    letter, rest = key[0].upper(), key[1:]
    return (SEMITONE[letter] + (1 if rest.startswith("#") else -1 if rest.startswith("b") else 0)) % 12


def parts(abc: str) -> tuple[list[str], list[str]]:
    """The header lines and the body's parts, each part's text up to and including its closing bar line."""
    lines = abc.strip().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("K:"))
    body = "\n".join(lines[k + 1 :])
    pieces = PART_END.split(body)
    return lines[: k + 1], [pieces[i] + pieces[i + 1] for i in range(0, len(pieces) - 1, 2)]


def check(abc: str) -> list[dict]:
    """Per part: the last sounding pitch class, the tonic's, and whether a slur, chord or tie is left open."""
    header, body_parts = parts(abc)
    key = next(line[2:].strip() for line in header if line.startswith("K:"))
    rows = []
    for text in body_parts:
        if not re.search(r"[A-Ga-g]", re.sub(r'"[^"]*"', "", text)):
            continue  # a bar line alone (":|" then "|]")
        midi = Piece.from_abc("\n".join(header) + "\n" + text.strip().lstrip("|:").strip() + "\n").midi
        notes = sorted((n for inst in midi.instruments for n in inst.notes), key=lambda n: (n.start, n.pitch))
        last = [n for n in notes if n.start == notes[-1].start]
        stripped = re.sub(r'"[^"]*"', "", text)
        rows.append({"last_pc": min(n.pitch for n in last) % 12, "tonic_pc": tonic_pitch_class(key),
                     "open_slur": stripped.count("(") - len(re.findall(r"\(\d", stripped)) != stripped.count(")"),
                     "open_chord": stripped.count("[") != stripped.count("]"),
                     "open_tie": bool(re.search(r"-\s*(:\||\|\||\|\])\s*$", stripped))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="tunes per model (seeds 0..n-1)")
    parser.add_argument("--model", action="append", help="model (repeatable; default: the four ABC models)")
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    for name in args.model or ["r1-lstm-oneills1850", "r1-gru-oneills1850", "gpt-folk", "gpt-folk-fim"]:
        loaded, t, rows, invalid, best = load_model(name), time.perf_counter(), [], 0, 0
        for seed in range(args.n):
            try:
                abc = compose(ComposeSettings(name, seed=seed, temperature=args.temperature), loaded).abc
            except NoPlayableTune:  # Compose shows the best attempt, its broken bars marked
                best += 1
                continue
            fields = dict(line.split(":", 1) for line in abc.splitlines() if line[1:2] == ":" and line[:1] in "MK")
            invalid += fields.get("M", "").strip() not in METERS or fields.get("K", "").strip() not in KEYS
            rows += check(abc)
        on_tonic = sum(r["last_pc"] == r["tonic_pc"] for r in rows)
        row = {"model": name, "tunes": args.n - best, "best_attempts_shown": best, "parts": len(rows),
               "temperature": args.temperature, "parts_ending_on_tonic_by_ear": f"{on_tonic}/{len(rows)}",
               "invalid_K_or_M": invalid}
        row.update({f"open_{what}s": sum(r[f"open_{what}"] for r in rows) for what in ("slur", "chord", "tie")})
        row.update(seconds=round(time.perf_counter() - t, 1),
                   machine=f"{cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
