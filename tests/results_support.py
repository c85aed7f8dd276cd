"""A seeded survey for the Results tests: real clips, four participants who vote through them."""

from __future__ import annotations

from survey_db import participants as P
from tests.survey_support import make_survey


def seeded_survey(url: str) -> int:
    """An open survey of eight clips answered by four participants; returns its id.

    Participant i votes "machine" on every clip when i is even and "human" when odd, so the
    totals are exact: 32 votes, 16 each way, accuracy 50%.
    """
    survey_id, token = make_survey(url, min_listen_seconds=0, title="Seeded")
    for i in range(4):
        person = P.join(token, url)
        while (state := P.state(token, person, url)).step == "clip":
            P.record_vote(token, person, state.clip, "machine" if i % 2 == 0 else "human", None, 9000, url)
    return survey_id
