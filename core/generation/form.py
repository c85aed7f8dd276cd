"""Form control: the shape of a folk tune (AABB, AB, AABBCC or free), enforced bar by bar.

A form is a :class:`core.generation.meter.BarPlan`: it tells the meter-exact sampler which bar
line closes each bar (``:|`` at the end of a repeated part, ``||`` between unrepeated parts,
``|]`` at the end), what opens each part (``|:`` on a new line) and which bars must end on the
key's tonic. A form fixes the tune's length (parts x bars per part); only the free form samples
to a length in seconds, closing the tune at the bar where it is reached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from core.data.abc import analyse_body, meter_length, parse_fraction
from core.errors import UserError
from core.generation.meter import ANY_STYLE, TICKS, BarRule, MeterConstraint, Style

FORMS = {"AABB": (True, True), "AB": (False, False), "AABBCC": (True, True, True), "free": ()}
"""Each form's parts: whether each is played twice."""
DEFAULT_FORM, DEFAULT_BARS = "AABB", 8
MIN_BARS, MAX_BARS = 4, 16
MAX_SECONDS = 600


class NoBody(Exception):
    """The model wrote nothing the machine could close in the room given; the caller samples again."""


@dataclass(frozen=True)
class FormSpec:
    """What the musician asks: the form, bars per part and whether parts end on the tonic."""

    form: str = DEFAULT_FORM
    bars_per_part: int = DEFAULT_BARS
    tonic_ending: bool = True

    def validate(self) -> None:
        if self.form not in FORMS:
            raise UserError(f"Form {self.form!r} is not one of {', '.join(FORMS)}.")
        if not (MIN_BARS <= self.bars_per_part <= MAX_BARS):
            raise UserError(f"Bars per part must be between {MIN_BARS} and {MAX_BARS}, not {self.bars_per_part}.")

    @property
    def parts(self) -> tuple[bool, ...]:
        return FORMS[self.form]

    def played_bars(self) -> int:
        """Bars heard, repeats included (0 for the free form)."""
        return sum(2 if repeated else 1 for repeated in self.parts) * self.bars_per_part


def tonic_of(key: str) -> str:
    """The tonic letter of an ABC key (``"Ador"`` -> ``"A"``, ``"Bb"`` -> ``"B"``); "" when there is none."""
    match = re.match(r"\s*([A-Ga-g])", key)
    return match.group(1).upper() if match and not key.strip().lower().startswith(("none", "hp")) else ""


@dataclass
class FormPlan:
    """Bar rules of a fixed form."""

    spec: FormSpec
    bar_ticks: int
    tonic: str
    tonic_min: int = TICKS
    style: Style = ANY_STYLE

    def rule(self, index: int, elapsed: int) -> BarRule | None:
        parts, n = self.spec.parts, self.spec.bars_per_part
        part, k = divmod(index, n)
        if part >= len(parts):
            return None
        repeated, last_part = parts[part], part == len(parts) - 1
        opening = ""
        if k == 0:
            opening = ("|:" if repeated else "") if part == 0 else ("\n|:" if repeated else "\n")
        closing = "|"
        if k == n - 1:
            closing = ":|" if repeated else ("|]" if last_part else "||")
        tonic = self.tonic if self.spec.tonic_ending and k == n - 1 else ""
        return BarRule(self.bar_ticks, closing, opening, tonic, self.tonic_min, style=self.style)


@dataclass
class FreePlan:
    """Bars until the tune lasts ``target`` ticks, an anacrusis allowed, the last bar on the tonic if asked."""

    bar_ticks: int
    target: int
    tonic: str
    tonic_min: int = TICKS
    style: Style = ANY_STYLE

    def rule(self, index: int, elapsed: int) -> BarRule | None:
        if elapsed >= self.target and index >= MIN_BARS:
            return None
        last = elapsed + self.bar_ticks >= self.target and index + 1 >= MIN_BARS
        return BarRule(self.bar_ticks, "|]" if last else "|", "", self.tonic if last else "", self.tonic_min,
                       pickup=index == 0, style=self.style)


def make_plan(spec: FormSpec, meter: str, unit: str, key: str, seconds: float, qpm: float,
              style: Style = ANY_STYLE):
    """The bar plan for a form; the free form lasts ``seconds`` at ``qpm`` quarter notes a minute; every bar
    in ``style`` (a tune's rhythmic vocabulary) where it can be."""
    spec.validate()
    bar = meter_length(meter)
    if bar is None:
        raise UserError(f"Meter {meter!r} is not readable, so a form cannot be laid out; use one such as 6/8.")
    unit_len = parse_fraction(unit)
    bar_ticks = int(bar / unit_len * TICKS)
    tonic = tonic_of(key) if spec.tonic_ending else ""
    tonic_min = int(min(bar / unit_len, max(Fraction(1, 4), Fraction(1, 8) / unit_len)) * TICKS)  # an eighth or more
    if spec.form == "free":
        target = Fraction(seconds) * Fraction(qpm).limit_denominator(1000) / 240 / unit_len * TICKS
        return FreePlan(bar_ticks, int(target), tonic, tonic_min, style)
    form_seconds = float(spec.played_bars() * bar * 240 / Fraction(qpm).limit_denominator(1000))
    if form_seconds > MAX_SECONDS:
        raise UserError(f"Form {spec.form} with {spec.bars_per_part} bars a part lasts {form_seconds:.0f} seconds at "
                        f"this tempo, more than {MAX_SECONDS}; ask for fewer bars or a faster tempo.")
    return FormPlan(spec, bar_ticks, tonic, tonic_min, style)


def sample_body(sampler, plan, meter: str, unit: str, opening: str = "", max_chars: int = 6000,
                steer=None) -> str:
    """Sample a tune body under the meter-exact constraint until the plan ends the tune.

    ``opening`` (bars the musician wrote) is read after the first bar's forced opening text; it
    must follow the plan's bar lines. ``steer``, given the constraint, makes the sampler's logits hook
    for the body (see core.generation.steer). Raises UserError when it does not, NoBody when the model
    runs past ``max_chars`` characters.
    """
    constraint = MeterConstraint(sampler.tokenizer, meter, unit, plan)
    sampler.constraint = constraint
    if steer is not None:  # a logits hook made for this constraint (core.generation.steer)
        sampler.logits_hook = steer(constraint)
    ids: list[int] = []
    try:
        while constraint.state.mode == "literal" and not constraint.done:
            ids.append(sampler.next_token())
        if opening:
            closed = len(constraint.bars)
            try:
                sampler.feed(opening)
            except UserError:
                bar = len(constraint.bars) - closed + 1  # the opening's bar that broke (its earlier ones fit)
                text = [b.strip() for b in opening.split("|") if b.strip()][bar - 1:bar] or [""]
                raise UserError(f"Opening bar {bar} ({text[0]!r}) does not fit the meter {meter} and form asked "
                                "for (each bar must be full, bar lines plain |); shorten or correct it.") from None
            ids += sampler.tokenizer.encode(opening)
        while not constraint.done:
            if len(ids) > max_chars:
                raise NoBody(f"the body ran past {max_chars} characters: {sampler.tokenizer.decode(ids)[-200:]!r}")
            ids += sampler.next_tokens()
    finally:
        sampler.constraint = None
        if steer is not None:
            sampler.logits_hook = None
    return sampler.tokenizer.decode(ids).strip()


def parts_of(body: str, meter: str, unit: str) -> list[tuple[int, bool]]:
    """The sections of a body as (bars, repeated): a section ends at ``:|``, ``||``, ``|]`` or the end.

    Full bars count one each; short bars (a pick-up and the bar that completes it) count together
    as many bars as they add up to. Second-ending bars (``[2``) replace the first ending's and are
    not counted again.
    """
    analysis = analyse_body(body, meter, unit)
    full = analysis.bar_length
    out: list[tuple[int, bool]] = []
    bars, short, second = 0, Fraction(0), False
    for bar in analysis.bars:
        if bar.ending.lstrip("[").startswith("2"):
            second = True
        if not second:
            if full is None or bar.length >= full:
                bars += 1
            else:
                short += bar.length
        if bar.closing.startswith(":") or bar.closing in ("||", "|]", ":||"):
            if not second:
                out.append((bars + round(short / full if full else 0), bar.closing.startswith(":")))
            elif out:
                out[-1] = (out[-1][0], True)
            bars, short, second = 0, Fraction(0), False
    if bars or short:
        out.append((bars + round(short / full if full else 0), False))
    return out


def in_form(body: str, meter: str, unit: str, spec: FormSpec) -> bool:
    """Whether a body has exactly the parts the form asks for (bars per part, repeats)."""
    want = [(spec.bars_per_part, repeated) for repeated in spec.parts]
    return parts_of(body, meter, unit) == want
