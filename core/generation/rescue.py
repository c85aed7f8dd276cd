"""No dead end: when no attempt passes the checks, the best attempt anyway, its broken bars marked.

:class:`NoPlayableTune` is the one-sentence error a caller shows; it carries the attempt with the
fewest broken bars as a playable :class:`~core.data.piece.Piece` (or None when no attempt played),
each broken bar marked above the staff with ``"^✗ bar N"`` (abc2midi ignores annotations).
"""

from __future__ import annotations

from core.data.abc import analyse_body, normalise_meter
from core.data.piece import Piece, UnplayableABC
from core.errors import UserError


class NoPlayableTune(UserError):
    """No attempt passed the checks; ``best`` is the best attempt (marked) or None, ``broken`` its bad bars."""

    def __init__(self, settings, reasons: list[str], attempts: list[str | None]):
        self.best, self.broken = best_attempt(attempts, getattr(settings, "program", 0))
        shown = (" The best attempt is shown below with its broken bars marked." if self.best is not None else "")
        last = reasons[-1] if reasons else "none"
        super().__init__(
            f"No tune passed the checks in {len(reasons)} attempts (last: {last}).{shown} "
            "Press Try again for another seed, or lower the temperature."
        )


def mark_broken_bars(abc: str) -> tuple[str, list[int]]:
    """``abc`` with ``"^✗ bar N"`` before each bar that breaks the meter, and those bar numbers (from 1)."""
    lines = abc.splitlines(keepends=True)
    k_line = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if k_line is None:
        return abc, []
    header, body = "".join(lines[: k_line + 1]), "".join(lines[k_line + 1 :])
    fields = {line[0]: line[2:].strip() for line in lines[: k_line + 1] if line[1:2] == ":"}
    meter = normalise_meter(fields.get("M", "none"))
    analysis = analyse_body(body, meter, fields.get("L", "1/8"))
    for i in reversed(analysis.bad):
        start = analysis.bars[i].start
        body = body[:start] + f'"^✗ bar {i + 1}"' + body[start:]
    return header + body, [i + 1 for i in analysis.bad]


def best_attempt(attempts: list[str | None], program: int = 0) -> tuple[Piece | None, list[int]]:
    """The playable attempt with the most bars that fit the meter, marked; (None, []) when none plays."""
    ranked = []
    for abc in attempts:
        if not abc:
            continue
        marked, broken = mark_broken_bars(abc)
        bars = len(analyse_body(abc.split("K:", 1)[-1].split("\n", 1)[-1], "none", "1/8").bars)
        ranked.append((bars - 2 * len(broken), marked, broken))
    for _, marked, broken in sorted(ranked, key=lambda r: -r[0]):
        try:
            piece = Piece.from_abc(marked, program, meta={"best_attempt": True, "broken_bars": broken})
        except UnplayableABC:
            continue
        return piece, broken
    return None, []
