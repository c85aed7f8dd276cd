"""The survey store on SQLite and on a real PostgreSQL server: schema, surveys, dealing, votes, the DataFrame."""

from __future__ import annotations

import random
import re
from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from core.errors import UserError
from survey_db import participants as P
from survey_db import store
from survey_db.engine import get_engine
from survey_db.migrate import current_revision, head_revision
from tests.survey_support import make_survey, real_clips


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'surveys.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


def _vote_all(token: str, participant: str, url: str, vote: str = "human", ms: int = 5000) -> list[str]:
    """Answer every clip dealt; returns the public ids in the order they were served."""
    served = []
    state = P.state(token, participant, url)
    while state.step == "clip":
        served.append(state.clip)
        assert P.record_vote(token, participant, state.clip, vote, None, ms, url) is True
        state = P.state(token, participant, url)
    return served


def test_first_use_migrates_to_head_with_the_tables(url):
    engine = get_engine(url)
    with engine.connect() as c:
        assert current_revision(c) == head_revision() == "0005_arena"
    assert {"survey", "clip", "participant", "response", "alembic_version"} <= set(inspect(engine).get_table_names())
    uniques = inspect(engine).get_unique_constraints("response")
    assert any(u["column_names"] == ["participant_id", "clip_id"] for u in uniques)


def test_the_migrations_match_the_models(url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from survey_db.models import Base

    with get_engine(url).connect() as c:
        assert compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata) == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_survey_and_clips_are_stored_with_opaque_ids(url):
    clips = [c for c in real_clips() if not c.is_catch]
    survey_id, token = make_survey(url, clips, status="draft", title="Jigs and reels")
    [info] = store.list_surveys(url)
    assert (info.id, info.title, info.status, info.clips) == (survey_id, "Jigs and reels", "draft",
                                                              {"human": 4, "machine": 4, "catch": 0})
    assert re.fullmatch(r"[0-9a-f]{16}", token)
    table = store.clip_table(survey_id, url)
    assert table["clip"].str.fullmatch(r"[0-9a-f]{16}").all() and table["clip"].is_unique
    assert list(table["truth"]) == [c.truth for c in clips]
    assert list(table["group"]) == ["oneills1850"] * 4 + ["r1-lstm-oneills1850", "r1-gru-oneills1850"] * 2
    assert table["dealt"].eq(0).all() and table["answers"].eq(0).all()


def test_participant_votes_become_one_row_each_in_the_frame(url):
    survey_id, token = make_survey(url, ask_demographics=True, ask_comment=True)
    participant = P.join(token, url)
    assert re.fullmatch(r"[0-9a-f]{32}", participant)
    assert P.state(token, participant, url).step == "demographics"
    P.save_demographics(token, participant, "25-34", "2-5 years", None, url)
    served = _vote_all(token, participant, url, vote="machine", ms=7250)
    assert len(served) == 8 and len(set(served)) == 8
    assert P.state(token, participant, url).step == "comment"
    P.finish(token, participant, "  Lovely tunes.  ", url)
    done = P.state(token, participant, url)
    assert (done.step, done.answered, done.total) == ("done", 8, 8)

    df = store.responses_frame(survey_id, url)
    assert list(df.columns) == list(store.RESPONSE_COLUMNS)
    assert len(df) == 8 and list(df["clip"]) == served  # stored in the order given
    truth = dict(zip(store.clip_table(survey_id, url)["clip"], store.clip_table(survey_id, url)["truth"], strict=True))
    assert list(df["truth"]) == [truth[c] for c in served]
    assert set(df["participant"]) == {"p1"} and df["vote"].eq("machine").all() and df["rating"].isna().all()
    assert df["listening_ms"].eq(7250).all() and df["listening_ms"].dtype == "int64"
    assert str(df["created_at"].dt.tz) == "UTC" and df["created_at"].is_monotonic_increasing
    assert not df["is_catch"].any() and df["is_catch"].dtype == bool
    assert df["age_band"].eq("25-34").all() and df["musical_training"].eq("2-5 years").all()
    assert df["listening_habits"].isna().all() and df["comment"].eq("Lovely tunes.").all()
    assert str(df["rating"].dtype) == "Int64"
    [info] = store.list_surveys(url)
    assert (info.participants, info.finished, info.responses) == (1, 1, 8)


def test_a_repeated_vote_is_stored_once_and_the_first_answer_kept(url):
    survey_id, token = make_survey(url)
    participant = P.join(token, url)
    clip = P.state(token, participant, url).clip
    assert P.record_vote(token, participant, clip, "human", None, 3000, url) is True
    assert P.record_vote(token, participant, clip, "machine", None, 9000, url) is False
    df = store.responses_frame(survey_id, url)
    assert len(df) == 1 and df.loc[0, "vote"] == "human" and df.loc[0, "listening_ms"] == 3000


@pytest.mark.parametrize(("question", "vote", "rating"), [("rating", None, 2), ("both", "machine", 5)])
def test_rating_surveys_store_the_rating(url, question, vote, rating):
    survey_id, token = make_survey(url, question=question)
    participant = P.join(token, url)
    clip = P.state(token, participant, url).clip
    assert P.record_vote(token, participant, clip, vote, rating, 4000, url)
    df = store.responses_frame(survey_id, url)
    assert df.loc[0, "rating"] == rating and (pd.isna(df.loc[0, "vote"]) if vote is None else df.loc[0, "vote"] == vote)


def test_clips_are_dealt_evenly_half_human_half_machine(url):
    survey_id, token = make_survey(url, clips_per_participant=4)
    truth = dict(zip(store.clip_table(survey_id, url)["clip"], store.clip_table(survey_id, url)["truth"], strict=True))
    for _ in range(20):
        participant = P.join(token, url)
        served = _vote_all(token, participant, url)
        assert sorted(truth[c] for c in served) == ["human", "human", "machine", "machine"]
    table = store.clip_table(survey_id, url)
    # 20 participants x 4 clips over 8 clips, least-dealt first: exactly 10 each
    assert table["dealt"].tolist() == [10] * 8 and table["answers"].tolist() == [10] * 8


def test_catch_clips_are_dealt_to_everyone_and_flagged(url):
    survey_id, token = make_survey(url, clips=real_clips(), clips_per_participant=2)
    for _ in range(3):
        assert len(_vote_all(token, P.join(token, url), url)) == 4  # 2 dealt + the 2 catch clips
    df = store.responses_frame(survey_id, url)
    catch = df[df["is_catch"]]
    assert len(catch) == 6 and set(catch["group"]) == {"catch"}
    assert sorted(catch.groupby("participant")["truth"].apply(sorted).iloc[0]) == ["human", "machine"]


def test_survey_status_rules(url):
    survey_id, token = make_survey(url, status="draft")
    with pytest.raises(UserError, match="not been opened"):
        store.set_status(survey_id, "paused", url)
    store.set_status(survey_id, "open", url)
    store.set_status(survey_id, "paused", url)
    store.set_status(survey_id, "open", url)
    store.set_status(survey_id, "closed", url)
    with pytest.raises(UserError, match="closed for good"):
        store.set_status(survey_id, "open", url)
    assert store.list_surveys(url)[0].status == "closed"


def test_a_finished_participant_sees_the_completion_code(url):
    _, token = make_survey(url, completion_code="C0FFEE42", clips_per_participant=2)
    participant = P.join(token, url)
    assert P.state(token, participant, url).completion_code is None
    _vote_all(token, participant, url)
    assert P.state(token, participant, url).completion_code == "C0FFEE42"


def test_foreign_keys_are_enforced(url):
    make_survey(url)
    with pytest.raises(Exception, match="(?i)foreign key"), get_engine(url).begin() as c:
        c.execute(text("INSERT INTO response (participant_id, clip_id, vote, listening_ms, created_at) "
                       "VALUES (999, 999, 'human', 0, CURRENT_TIMESTAMP)"))


def _slots(n_human: int, n_machine: int, catch: int = 0) -> list[P.Slot]:
    truths = ["human"] * n_human + ["machine"] * n_machine
    slots = [P.Slot(i, t, False, 0) for i, t in enumerate(truths)]
    return slots + [P.Slot(100 + i, "human" if i % 2 else "machine", True, 0) for i in range(catch)]


def test_deal_odd_share_short_side_and_all():
    rng = random.Random(3)
    sides = Counter()
    for _ in range(200):
        plan = P.deal(_slots(4, 4), 3, rng)
        humans = sum(1 for i in plan if i < 4)
        assert len(plan) == 3 and humans in (1, 2)
        sides[humans] += 1
    assert sides[1] > 60 and sides[2] > 60  # the odd clip goes to either side
    plan = P.deal(_slots(1, 6), 4, rng)
    assert 0 in plan and len(plan) == 4  # the only human clip, and three machine clips make up the share
    assert sorted(P.deal(_slots(2, 2, catch=2), 0, rng)) == [0, 1, 2, 3, 100, 101]
    assert sorted(P.deal(_slots(2, 2), 10, rng)) == [0, 1, 2, 3]


def test_deal_prefers_the_least_dealt_clips():
    slots = [P.Slot(0, "human", False, 5), P.Slot(1, "human", False, 2), P.Slot(2, "machine", False, 1),
             P.Slot(3, "machine", False, 0)]
    assert sorted(P.deal(slots, 2, random.Random(0))) == [1, 3]
