"""Rewrite bars i..j of a tune: every other character kept byte for byte, the new bars exact.

A model trained to fill in the middle (its tokenizer has the FIM tokens, see
:mod:`core.tokenizers.fim`) reads ``PRE header+bars before SUF bars after MID`` and writes the
middle, so the new bars lead into what follows. Any other ABC model (the LSTM, the GRU, a GPT
without FIM training) rewrites from the bars before only: it does not see what follows.

Either way the meter-exact sampler (:mod:`core.generation.meter`) writes the bars, each as long
as the bar it replaces (a full bar, or the original length of a pick-up or closing bar), with the
original whitespace and bar lines between them forced, so the text outside the bar contents,
and the bar lines inside the range, stay as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from core.data.abc import analyse_body, default_unit, meter_length, normalise_meter, parse_fraction
from core.errors import UserError
from core.generation.meter import TICKS, BarRule, MeterConstraint
from core.generation.sampler import Sampler
from core.tokenizers.fim import SPECIALS, fim_ids, has_fim, order_of

MAX_TUNE_CHARS = 20_000
_FIELD = re.compile(r"^([A-Za-z]):[ \t]*(.*?)[ \t]*$", re.M)


@dataclass
class ParsedTune:
    """A tune cut where its body starts; offsets into ``body`` come from ``analyse_body``."""

    header: str  # every line up to and including the K: line
    body: str
    meter: str
    unit: str
    bars: list = field(default_factory=list)
    bar_length: Fraction | None = None


@dataclass
class InfillResult:
    abc: str
    bars: tuple[int, int]  # 1-based, inclusive
    mode: str  # "fill-in-the-middle" or "prefix"
    seed: int
    kept: tuple[int, int]  # characters kept before and after the rewritten span
    seconds: float = 0.0


def parse_tune(abc: str) -> ParsedTune:
    """Split one ABC tune into header and body and find its bars; raises UserError for what cannot be rewritten."""
    if len(abc) > MAX_TUNE_CHARS:
        raise UserError(f"The tune is {len(abc):,} characters long; rewriting takes tunes up to {MAX_TUNE_CHARS:,}.")
    if len(re.findall(r"(?m)^X:", abc)) > 1:
        raise UserError("The ABC holds more than one tune; give one tune (one X: field).")
    key = re.search(r"(?m)^K:.*$\n?", abc)
    if key is None:
        raise UserError("The ABC has no K: (key) line, so its body cannot be found.")
    header, body = abc[: key.end()], abc[key.end():]
    fields = {m.group(1): m.group(2) for m in _FIELD.finditer(header)}
    meter = normalise_meter(fields.get("M", "none"))
    if meter == "none":
        raise UserError(f"The tune's meter {fields.get('M', '(none)')!r} is not readable, so its bars cannot be "
                        "measured; give an M: line such as 6/8.")
    unit = fields.get("L", "").replace(" ", "") or default_unit(meter)
    parse_fraction(unit)
    if re.search(r"(?m)\[[MLK]:|^[MLK]:", body):
        raise UserError("The tune changes meter, unit or key inside its body; rewriting bars needs one of each.")
    analysis = analyse_body(body, meter, unit)
    return ParsedTune(header, body, meter, unit, analysis.bars, meter_length(meter))


def parse_bars(text: str, n_bars: int) -> tuple[int, int]:
    """``"3-4"`` or ``"5"`` -> (first, last), 1-based; raises UserError outside 1..n_bars."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text or "")
    if not match:
        raise UserError(f"Bars {text!r} are not a range such as 3-4.")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if not (1 <= first <= last <= n_bars):
        raise UserError(f"Bars {first}-{last} are outside the tune, which has {n_bars} bars (1-{n_bars}).")
    return first, last


class _SpanPlan:
    """Bar rules that rebuild bars first..last with their original lengths and the text between them."""

    def __init__(self, tune: ParsedTune, first: int, last: int):
        self.rules: list[BarRule] = []
        unit = parse_fraction(tune.unit)
        full = tune.bar_length
        for k in range(first - 1, last):
            bar = tune.bars[k]
            content = tune.body[bar.start : bar.end]
            lead = content[: len(content) - len(content.lstrip())]
            trail = content[len(content.rstrip()):] if content.strip() else ""
            if k < last - 1:
                closing = trail + tune.body[bar.end : tune.bars[k + 1].start]
            else:
                closing = trail + (tune.body[bar.end : bar.close_end] or "|")
            length = bar.length if 0 < bar.length < full else full  # keep a short bar short; mend a long one
            self.rules.append(BarRule(int(length / unit * TICKS), closing, lead))
        self.final_bar_line = tune.body[tune.bars[last - 1].end : tune.bars[last - 1].close_end]

    def rule(self, index: int, elapsed: int) -> BarRule | None:
        return self.rules[index] if index < len(self.rules) else None


def infill(abc: str, bars: str, loaded, seed: int = 0, temperature: float = 0.8, top_k: int = 0,
           top_p: float = 1.0) -> InfillResult:
    """Rewrite bars ``bars`` ("I-J", 1-based) of one ABC tune with ``loaded`` (an ABC model)."""
    import time

    from core.tokenizers import CharTokenizer

    if not isinstance(loaded.tokenizer, CharTokenizer):
        raise UserError(f"{loaded.card.name} is a MIDI model; rewriting bars needs an ABC model.")
    tune = parse_tune(abc)
    if not tune.bars:
        raise UserError("The tune has no bars to rewrite.")
    first, last = parse_bars(bars, len(tune.bars))
    plan = _SpanPlan(tune, first, last)
    start, end = tune.bars[first - 1].start, tune.bars[last - 1].end
    before, after = tune.header + tune.body[:start], tune.body[end:]
    t0 = time.perf_counter()
    sampler = Sampler(loaded.model, loaded.tokenizer, torch.Generator().manual_seed(seed), temperature, top_k, top_p)
    fim = has_fim(loaded.tokenizer) and loaded.card.family == "transformer"
    vocab = set(loaded.tokenizer.vocab) - set(SPECIALS)
    if fim:
        ids = fim_ids(loaded.tokenizer, _readable(before, vocab), _readable(after, vocab).rstrip("\n") + "\n\n",
                      order=order_of(loaded.card.training))
        block = int(loaded.card.model.get("block_size", 1024))
        middle_room = sum(r.length for r in plan.rules) // TICKS * 4 + 50  # generous: characters of the new bars
        if len(ids) + middle_room > block:
            raise UserError(f"The tune is too long for {loaded.card.name}'s context of {block} characters "
                            "to see both sides; rewrite bars of a shorter tune.")
        sampler.feed_ids(ids)
    else:
        sampler.feed(_readable(before, vocab))
    constraint = MeterConstraint(loaded.tokenizer, tune.meter, tune.unit, plan)
    sampler.constraint = constraint
    out: list[int] = []
    while not constraint.done:
        if len(out) > 40 * len(plan.rules) * max(1, plan.rules[0].length // TICKS):
            raise UserError("The model did not close the bars; try another seed or a lower temperature.")
        out.append(sampler.next_token())
    text = loaded.tokenizer.decode(out)
    drop = len(plan.final_bar_line) if plan.final_bar_line else 1
    middle = text[: len(text) - drop]
    new = before + middle + after
    return InfillResult(new, (first, last), "fill-in-the-middle" if fim else "prefix", seed,
                        (len(before), len(after)), round(time.perf_counter() - t0, 3))


def _readable(text: str, vocab: set[str]) -> str:
    """What the model reads of the kept text: no comment lines, no characters it never saw (the tune keeps both)."""
    text = re.sub(r"(?m)^%.*\n?", "", text)
    return "".join(c for c in text if c in vocab)


def check_kept(old: str, new: str, kept: tuple[int, int]) -> bool:
    """Whether ``new`` keeps ``old``'s first and last characters byte for byte, as ``kept`` says."""
    head, tail = kept
    return new[:head] == old[:head] and (tail == 0 or new[-tail:] == old[-tail:])
