"""The paired design, screening and preview/edit in the survey database (SQLite and PostgreSQL): balanced
dealing, the participant's steps, the headphone check, the export read back the same, the read-only link."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from core.cli import main
from core.errors import UserError
from core.survey import headphones
from survey_db import drafts, paired, screening, store
from survey_db import participants as P


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'surveys.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


@dataclass
class FakeClip:
    truth: str
    group: str
    source: dict = field(default_factory=dict)
    wav: bytes = b"RIFF-test-audio"
    duration_s: float = 5.0
    loudness_lufs: float = -20.0
    is_catch: bool = False


def clips(n_human: int = 3, n_machine: int = 2, catch: bool = False) -> list[FakeClip]:
    out = [FakeClip("human", "oneills", {"kind": "corpus", "title": f"Tune {i}"}) for i in range(n_human)]
    out += [FakeClip("machine", f"model{i % 2}", {"kind": "model", "model": f"model{i % 2}",
                                                   "settings": {"seed": i, "temperature": 0.8}})
            for i in range(n_machine)]
    if catch:
        out += [FakeClip("human", "catch", is_catch=True), FakeClip("machine", "catch", is_catch=True)]
    return out


def paired_survey(url, status="open", **spec):
    spec = {"design": "2afc", "title": "Pairs", **spec}
    chosen = spec.pop("clips", None) or clips()
    survey_id = store.create_survey(store.SurveySpec(**spec), chosen, url)
    if status != "draft":
        store.set_status(survey_id, status, url)
    return survey_id, next(s.token for s in store.list_surveys(url) if s.id == survey_id)


def test_deal_pairs_balances_pairings_and_positions():
    rng = random.Random(0)
    slots = {(h, m): 0 for h in range(3) for m in range(10, 12)}  # 6 pairings
    positions = Counter()
    for _ in range(30):  # 30 participants x 2 trials = 60 = 10 per pairing
        trials = paired.deal_pairs([paired.PairSlot(h, m, n) for (h, m), n in slots.items()], 2, rng)
        assert len({t.human for t in trials}) == 2 and len({t.machine for t in trials}) == 2  # no clip twice
        assert sorted(t.human_position for t in trials) == [1, 2]  # one human-first, one human-second
        for t in trials:
            slots[(t.human, t.machine)] += 1
            positions[t.human_position] += 1
    assert max(slots.values()) - min(slots.values()) <= 1 and positions[1] == positions[2] == 30


def test_a_participant_takes_a_paired_survey_with_the_headphone_check(url):
    survey_id, token = paired_survey(url, headphone_screen=True, instructions="Use headphones.",
                                     clips_per_participant=4)
    person = P.join(token, url)
    assert P.state(token, person, url).step == "screen"
    wav = screening.screen_trial_wav(token, person, 0, url)
    assert wav[:4] == b"RIFF" and len(wav) > 44_100 * 4 * 3  # three 1 s stereo tones and two gaps
    with pytest.raises(UserError, match="answer every trial"):
        screening.submit_screen(token, person, [1, 2, None, 1, 1, 1], url)
    from survey_db.engine import transaction
    from survey_db.models import Participant

    with transaction(url) as session:
        key = session.query(Participant).filter_by(token=person).one().screen_key
    answers = [k["quiet"] for k in key]
    answers[0] = 1 + answers[0] % 3  # one wrong: 5 of 6 passes
    assert screening.submit_screen(token, person, answers, url) is True
    state = P.state(token, person, url)
    assert state.step == "instructions" and state.survey.instructions == "Use headphones."
    screening.finish_instructions(token, person, url)
    seen = 0
    state = P.state(token, person, url)
    while state.step == "pair":
        t = state.trial
        assert P.clip_audio(token, person, t.first, url) and P.clip_audio(token, person, t.second, url)
        assert screening.record_choice(token, person, t.position, 1, 6000, plays=2, url=url) is True
        assert screening.record_choice(token, person, t.position, 2, 6000, url=url) is False  # a repeat changes nothing
        seen += 1
        state = P.state(token, person, url)
    assert seen == 4 and state.step == "done" and (state.answered, state.total) == (4, 4)
    frame, design = screening.raw_responses(survey_id, url)
    assert design == "2afc" and len(frame) == 4 and frame["headphone_passed"].eq(True).all()
    assert frame["chosen_position"].eq(1).all() and frame["plays"].eq(2).all()
    df, margin = screening.survey_responses(survey_id, url)
    assert margin == 0.1 and len(df) == 4 and int((df["chosen_position"] == df["human_position"]).sum()) == int(
        (frame["human_position"] == 1).sum())


def test_failed_check_ends_the_visit_when_the_researcher_says_so(url):
    _, token = paired_survey(url, headphone_screen=True, screen_fail="end")
    person = P.join(token, url)
    assert screening.submit_screen(token, person, [1, 1, 1, 1, 1, 1], url) in (True, False)
    state = P.state(token, person, url)
    # the key is random: all "1" passes only when at least 5 of 6 quiet tones were first
    assert state.step in ("screened_out", "pair")
    _, token2 = paired_survey(url, headphone_screen=True, screen_fail="flag")
    person2 = P.join(token2, url)
    screening.submit_screen(token2, person2, [1, 1, 1, 1, 1, 1], url)
    assert P.state(token2, person2, url).step == "pair"  # flagged, never stopped


def test_catch_trial_and_cli_reads_the_database(url, capsys, monkeypatch):
    survey_id, token = paired_survey(url, clips=clips(2, 2, catch=True), clips_per_participant=2)
    person = P.join(token, url)
    state = P.state(token, person, url)
    assert state.total == 3  # two real trials and the catch pair
    while state.step == "pair":
        screening.record_choice(token, person, state.trial.position, 2, 100, url=url)
        state = P.state(token, person, url)
    frame, _ = screening.raw_responses(survey_id, url)
    assert frame["is_catch"].sum() == 1 and frame.loc[frame["is_catch"], "model"].isna().all()
    monkeypatch.setenv("SURVEY_DB_URL", url)
    assert main(["survey-stats", "--survey", str(survey_id), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"] == "2afc" and out["n_catch"] == 1 and out["overall"]["n"] == 2
    assert out["equivalence"]["margin"] == 0.1


def test_single_design_records_plays_and_full_play(url):
    survey_id = store.create_survey(store.SurveySpec(title="One by one", require_full_play=True), clips(1, 1), url)
    store.set_status(survey_id, "open", url)
    token = next(s.token for s in store.list_surveys(url) if s.id == survey_id)
    person = P.join(token, url)
    clip = P.state(token, person, url).clip
    with pytest.raises(UserError, match="to its end"):
        P.record_vote(token, person, clip, "human", None, 5000, url, plays=1, played_to_end=False)
    assert P.record_vote(token, person, clip, "human", None, 5000, url, plays=3, played_to_end=True)
    frame, design = screening.raw_responses(survey_id, url)
    assert design == "single" and list(frame["plays"]) == [3] and frame["headphone_passed"].isna().all()


def test_preview_and_edit_only_while_draft(url):
    survey_id = store.create_survey(store.SurveySpec(title="Draft"), clips(2, 2), url)
    table = drafts.preview(survey_id, url)
    assert list(table["truth"]) == ["human", "human", "machine", "machine"]
    assert table.loc[2, "source"] == "model0 · seed 0, temperature 0.8" and table.loc[0, "source"] == "Tune 0"
    assert drafts.clip_wav(survey_id, table.loc[0, "clip"], url) == b"RIFF-test-audio"
    drafts.remove_clip(survey_id, table.loc[0, "clip"], url)
    with pytest.raises(UserError, match="at least one human clip"):
        drafts.remove_clip(survey_id, table.loc[1, "clip"], url)
    drafts.replace_clip(survey_id, table.loc[1, "clip"], FakeClip("human", "upload", {"file": "mine.mid"}), url)
    assert list(drafts.preview(survey_id, url)["source"])[-1] == "mine.mid"
    spec = drafts.settings(survey_id, url)
    drafts.update_settings(survey_id, store.SurveySpec(**{**spec.__dict__, "design": "2afc", "margin": 0.15}), url)
    assert (drafts.settings(survey_id, url).design, drafts.settings(survey_id, url).margin) == ("2afc", 0.15)
    with pytest.raises(UserError, match="equivalence margin"):
        drafts.update_settings(survey_id, store.SurveySpec(**{**spec.__dict__, "margin": 0.5}), url)
    store.set_status(survey_id, "open", url)
    assert next(s for s in store.list_surveys(url) if s.id == survey_id).status == "open"
    with pytest.raises(UserError, match="only while it is a draft"):
        drafts.remove_clip(survey_id, drafts.preview(survey_id, url).loc[0, "clip"], url)


def test_dashboard_token_is_revocable(url):
    survey_id = store.create_survey(store.SurveySpec(title="Shared"), clips(1, 1), url)
    token = screening.dashboard_link_token(survey_id, url)
    assert len(token) == 32 and screening.dashboard_link_token(survey_id, url) == token
    assert screening.dashboard_survey(token, url) == survey_id
    screening.revoke_dashboard(survey_id, url)
    with pytest.raises(UserError, match="not valid"):
        screening.dashboard_survey(token, url)
    assert screening.dashboard_link_token(survey_id, url) != token


def test_headphone_stimuli_follow_woods_et_al():
    import numpy as np

    audio = headphones.trial_audio(quiet=2, antiphase=3)
    n = int(headphones.SAMPLE_RATE * (3 * headphones.TONE_S + 2 * headphones.GAP_S))
    assert audio.shape == (n, 2)
    tone = int(headphones.SAMPLE_RATE * headphones.TONE_S)
    step = tone + int(headphones.SAMPLE_RATE * headphones.GAP_S)
    rms = [float(np.sqrt(np.mean(audio[i * step:i * step + tone, 0] ** 2))) for i in range(3)]
    assert 20 * np.log10(rms[1] / rms[0]) == pytest.approx(-6.0, abs=0.01) and rms[0] == pytest.approx(rms[2])
    third = audio[2 * step:2 * step + tone]
    assert np.allclose(third[:, 0], -third[:, 1]) and np.allclose(audio[:tone, 0], audio[:tone, 1])
    spectrum = np.abs(np.fft.rfft(audio[:tone, 0]))
    assert np.argmax(spectrum) * headphones.SAMPLE_RATE / tone == pytest.approx(200.0)
    key = headphones.new_key(random.Random(1))
    assert len(key) == 6 and all(k["quiet"] != k["antiphase"] for k in key)
    assert headphones.score(key, [k["quiet"] for k in key]) == 6
