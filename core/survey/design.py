"""A survey's design settings (issue 15), checked before anything is stored: the design, the equivalence margin
(fixed before the survey opens), what a failed headphone check does, the instructions."""

from __future__ import annotations

from core.errors import UserError
from core.survey.headphones import TESTS as SCREEN_TESTS
from core.survey.stats.equivalence import check_margin

DESIGNS = {"single": "One clip at a time (vote and/or rating)", "2afc": "Pairs: which of two was made by a person?"}
SCREEN_FAIL = {"flag": "Let them go on, flagged", "end": "End their visit politely"}
MAX_INSTRUCTIONS_CHARS = 5000
DEFAULT_INSTRUCTIONS = (
    "Use headphones in a quiet place. Each piece is short: listen to it to the end before you answer. "
    "There are no trick questions and no right number of 'person' answers; go with your impression."
)


def validate_design(design: str, margin: float, screen_fail: str, instructions: str,
                    screen_test: str = "woods") -> None:
    """UserError (one sentence) for an unknown design, headphone check or failure action, a margin outside
    (0, 0.25] or instructions over 5,000 characters."""
    if design not in DESIGNS:
        raise UserError(f"The design must be one of {', '.join(DESIGNS)}, not {design!r}.")
    check_margin(margin)
    if screen_test not in SCREEN_TESTS:
        raise UserError(f"The headphone check must be one of {', '.join(SCREEN_TESTS)}, not {screen_test!r}.")
    if screen_fail not in SCREEN_FAIL:
        raise UserError(f"A failed headphone check can {' or '.join(SCREEN_FAIL)}, not {screen_fail!r}.")
    if len(instructions) > MAX_INSTRUCTIONS_CHARS:
        raise UserError(f"The instructions may be at most {MAX_INSTRUCTIONS_CHARS:,} characters.")
