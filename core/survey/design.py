"""A survey's design settings (issue 15), checked before anything is stored: the design, the equivalence margin
(fixed before the survey opens), what a failed headphone check does, the instructions; and the arena's question
and the names of the sources it rates (issue 19)."""

from __future__ import annotations

from core.errors import UserError
from core.survey.headphones import TESTS as SCREEN_TESTS
from core.survey.stats.equivalence import check_margin

DESIGNS = {"single": "One clip at a time (vote and/or rating)", "2afc": "Pairs: which of two was made by a person?",
           "arena": "Arena: which of two pieces from two sources does the listener prefer?"}
DEFAULT_ARENA_QUESTION = "Which sounds more like a tune a person wrote?"
MAX_QUESTION_CHARS = 300
CATCH_SOURCES = {"human": "catch: known tune", "machine": "catch: random notes"}
"""The arena's names for the two catch clips (a known human tune, random notes): never a rated source."""
SCREEN_FAIL = {"flag": "Let them go on, flagged", "end": "End their visit politely"}
MAX_INSTRUCTIONS_CHARS = 5000
DEFAULT_INSTRUCTIONS = (
    "Use headphones in a quiet place. Each piece is short: listen to it to the end before you answer. "
    "There are no trick questions and no right number of 'person' answers; go with your impression."
)


def arena_source(truth: str, group: str, is_catch: bool = False) -> str:
    """The source an arena rates a clip under: the model for a machine clip, "human (corpus)" for a human one, and
    :data:`CATCH_SOURCES` for the catch clips."""
    if is_catch:
        return CATCH_SOURCES[truth]
    return group if truth == "machine" else f"human ({group})"


def validate_design(design: str, margin: float, screen_fail: str, instructions: str,
                    screen_test: str = "woods", arena_question: str = DEFAULT_ARENA_QUESTION) -> None:
    """UserError (one sentence) for an unknown design, headphone check or failure action, a margin outside
    (0, 0.25], instructions over 5,000 characters, or an arena question empty or over 300 characters."""
    if design not in DESIGNS:
        raise UserError(f"The design must be one of {', '.join(DESIGNS)}, not {design!r}.")
    check_margin(margin)
    if screen_test not in SCREEN_TESTS:
        raise UserError(f"The headphone check must be one of {', '.join(SCREEN_TESTS)}, not {screen_test!r}.")
    if screen_fail not in SCREEN_FAIL:
        raise UserError(f"A failed headphone check can {' or '.join(SCREEN_FAIL)}, not {screen_fail!r}.")
    if len(instructions) > MAX_INSTRUCTIONS_CHARS:
        raise UserError(f"The instructions may be at most {MAX_INSTRUCTIONS_CHARS:,} characters.")
    if design == "arena" and not 1 <= len(arena_question.strip()) <= MAX_QUESTION_CHARS:
        raise UserError(f"The arena's question needs 1 to {MAX_QUESTION_CHARS} characters.")
