"""One entry point for either design (single clips or 2AFC), its plain-text report, the "methods and results"
paragraph for a paper, and the per-clip chart as PNG or SVG."""

from __future__ import annotations

import io

import pandas as pd

from core.survey.stats.equivalence import DEFAULT_MARGIN, more_participants
from core.survey.stats.paired import is_paired, paired_summary
from core.survey.stats.summary import report_text, summary

QUESTION_TEXT = {
    "binary": "whether a person or a computer made it",
    "rating": "how sure they were that a person or a computer made it (1 surely a person, 5 surely a computer)",
    "both": "whether a person or a computer made it, and how sure they were (1-5)",
}


def analyse(df: pd.DataFrame, margin: float = DEFAULT_MARGIN, full: bool = False) -> dict:
    """The summary of either layout, with "equivalence" and "headline" (margin: TOST against 0.5 +/- margin) and
    "plan" (:func:`more_participants`: how many more participants 80% power needs)."""
    s = paired_summary(df, margin, full) if is_paired(df) else {"design": "single", **summary(df, full=full,
                                                                                            margin=margin)}
    return {**s, "plan": more_participants(s["n_participants"], s["equivalence"]["n"], margin)}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def report(s: dict) -> str:
    """Plain text for the CLI: the headline, then the design's own figures."""
    lines = [s["headline"]["sentence"]]
    eq = s["equivalence"]
    label = s.get("margin_choice", {}).get("label", "")
    label = f", {label}" if label else ""
    if eq["ci90"] is not None:
        lines.append(f"Equivalence (TOST, margin {eq['margin']:g}{label}): p = {eq['p_value']:.3g}; 90% interval "
                     f"of the accuracy {_pct(eq['ci90'][0])} to {_pct(eq['ci90'][1])}.")
    if s["design"] == "single":
        return "\n".join([*lines, report_text(s)])
    o = s["overall"]
    lines.append(f"{o['correct']} of {o['n']} paired trials correct ({_pct(o['accuracy'])}), binomial p = "
                 f"{o['p_value']:.3g}; d' = {s['sdt']['d_prime']:.2f} (2AFC: sqrt(2) z(accuracy))."
                 if o["n"] else "No paired trials.")
    lines += ["", f"{'model':24s} {'n':>5s} {'correct':>8s} {'accuracy':>9s} {'p (Holm)':>9s}"]
    for m in s["models"]:
        lines.append(f"{m['model'][:24]:24s} {m['n']:5d} {m['correct']:8d} {_pct(m['accuracy']):>9s} "
                     f"{m['p_holm']:9.3g}")
    return "\n".join(lines)


SCREENS = {
    "woods": "a headphone check (Woods et al., 2017: which of three 200-Hz tones, one in antiphase between the ears, "
             "is quietest; six trials, passed with five or more)",
    "huggins": "a headphone check (Huggins pitch, Milne et al., 2021: which of three noises hides a faint tone heard "
               "only over headphones; six trials, passed with five or more)",
}


def screening_sentence(setup: dict) -> str:
    """The screening in words: the headphone check and what a failure did, the catch trial, the practice."""
    parts = []
    if setup.get("headphone_screen"):
        fate = "ended their visit" if setup.get("screen_fail") == "end" else "was recorded and they went on"
        parts.append(f"Before listening, participants took {SCREENS[setup.get('screen_test', 'woods')]}; a "
                     f"failure {fate}, and only those who passed counted towards the quota")
    if setup.get("catch"):
        parts.append("attention checks (a well-known human melody and random notes) were mixed in")
    if setup.get("practice"):
        parts.append("a practice trial with another melody came first and was not analysed")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:] if parts else ""


def _design_sentence(s: dict, question: str, per_participant: int, setup: dict) -> str:
    if s["design"] == "2afc":
        pairings = setup.get("pairings") or s["n_pairs"]
        each = f"{per_participant} trials each" if per_participant else "every pairing"
        return (f"In a two-alternative forced-choice design, each trial played one human-composed and one "
                f"machine-generated excerpt in random, balanced order, and participants chose the one made by a "
                f"person ({pairings} human-machine pairings in the design, {each}, dealt so that each pairing "
                f"collected about the same number of answers; {s['n_pairs']} were answered).")
    each = f"{per_participant} excerpts each" if per_participant else "every excerpt"
    clips = setup.get("clips") or s["n_clips"]
    return (f"Participants heard {clips} excerpts, human-composed and machine-generated, one at a time ({each}, "
            f"balanced between the two), and judged {QUESTION_TEXT.get(question, question)}.")


def methods_paragraph(s: dict, excluded: list[dict], question: str = "binary", per_participant: int = 0,
                      setup: dict | None = None) -> str:
    """A "methods and results" paragraph generated from the figures: design (counted from ``setup``: the survey's
    "pairings" or "clips", its screening), participants, exclusions, tests, results and the verdict, ready to
    edit into a report. ``excluded``: the exclusion table's records."""
    setup = setup or {}
    eq, o = s["equivalence"], s["overall"]
    n_people = s["n_participants"]
    design = " ".join(p for p in (_design_sentence(s, question, per_participant, setup),
                                  screening_sentence(setup)) if p)
    if s["design"] == "2afc":
        result = (f"Participants chose the human excerpt in {o['correct']} of {o['n']} trials ({_pct(o['accuracy'])}, "
                  f"95% Wilson interval {_pct(o['ci95'][0])}-{_pct(o['ci95'][1])}; exact binomial test against "
                  f"50%, p = {o['p_value']:.3g}; d' = {s['sdt']['d_prime']:.2f}).") if o["n"] else ""
    else:
        acc = o.get("accuracy")
        result = (f"{o['correct']} of {o['n']} votes named the true source ({_pct(acc)}, 95% Wilson interval "
                  f"{_pct(o['accuracy_ci95'][0])}-{_pct(o['accuracy_ci95'][1])}; exact binomial test against 50%, "
                  f"p = {o['p_value']:.3g}).") if acc is not None else ""
    reasons = sorted({r["reason"] for r in excluded})
    exclusion = (f"{len(excluded)} participant{'s were' if len(excluded) != 1 else ' was'} excluded before analysis "
                 f"({'; '.join(reasons)}), leaving {n_people}." if excluded else
                 f"No participant was excluded; {n_people} took part.")
    choice = s.get("margin_choice") or {"exploratory": False}
    fixed = ("chosen after data collection (exploratory; the pre-registered margin was "
             f"{100 * choice['preregistered']:.0f} points)" if choice["exploratory"] and choice.get("preregistered")
             else "fixed before data collection")
    tost = (f"Equivalence was tested with two one-sided exact binomial tests (TOST) against a margin of "
            f"{100 * eq['margin']:.0f} percentage points around chance, {fixed}"
            + (f" (p = {eq['p_value']:.3g}; 90% Clopper-Pearson interval {_pct(eq['ci90'][0])}-"
               f"{_pct(eq['ci90'][1])})." if eq["ci90"] else "."))
    return " ".join(p for p in (design, exclusion, result, tost, s["headline"]["sentence"]) if p)


def clip_chart(s: dict, fmt: str = "png") -> bytes:
    """The per-clip (single design) or per-pair (2AFC) chart of accuracy with 95% intervals, as PNG or SVG bytes;
    the dashed line is chance, the band the equivalence region."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt is png or svg, not {fmt!r}")
    if s["design"] == "2afc":
        rows = [(p["pair"], p["accuracy"], p["ci95"], p["n"]) for p in s["pairs"]]
        ylabel, title = "chose the human clip", "Accuracy per pair"
    else:
        from core.survey.stats.binary import wilson_interval

        rows = [(c["clip"], 1 - c["error_rate"], wilson_interval(c["correct"], c["n_votes"]), c["n_votes"])
                for c in s["clips"] if c["error_rate"] is not None]
        ylabel, title = "votes naming the true source", "Accuracy per clip"
    fig = Figure(figsize=(max(4.0, 0.5 * len(rows) + 2), 3.2), dpi=150)
    ax = fig.subplots()
    m = s["equivalence"]["margin"]
    ax.axhspan(0.5 - m, 0.5 + m, color="0.9", label=f"equivalence region ±{m:g}")
    ax.axhline(0.5, color="0.4", ls="--", lw=1)
    for i, (_, acc, ci, _) in enumerate(rows):
        lo, hi = ci if ci else (acc, acc)
        ax.errorbar(i, acc, yerr=[[acc - lo], [hi - acc]], fmt="o", color="C0", capsize=3)
    ax.set_xticks(range(len(rows)), [f"{r[0][:14]}\n(n={r[3]})" for r in rows], fontsize=6, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=6)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Software": None} if fmt == "png" else {"Date": None})
    return buffer.getvalue()
