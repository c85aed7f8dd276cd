"""Issue 23: the quota counts places (finishers who passed the screening, visits still going), places free up
when a participant leaves, fails the check or goes silent, and every design closes itself at its quota in the
finishing answer's transaction, under concurrency (SQLite and PostgreSQL). Also the screen-out link, the shared
join limit of loopback clients, the pre-registered margin in the CLI, Huggins pitch and the Results helpers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.errors import UserError
from core.survey import headphones
from survey_db import participants as P
from survey_db import places, recruit, screening, store
from survey_db.engine import transaction
from survey_db.models import Participant
from tests.test_survey_paired_db import clips, paired_survey


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'surveys.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()


def survey(url: str, design: str, quota: int, **spec) -> tuple[int, str]:
    """An open survey of fake clips, two answers per participant, with a quota."""
    survey_id, token = paired_survey(url, design=design, clips_per_participant=2, **spec)
    recruit.set_recruitment(survey_id, "https://example.org/done?cc=OK", quota, url)
    return survey_id, token


def key(token: str, person: str, url: str) -> list[int]:
    with transaction(url) as session:
        return [k["quiet"] for k in session.query(Participant).filter_by(token=person).one().screen_key]


def answer_all(token: str, person: str, url: str) -> None:
    """Answer every remaining step of a participant (passing the headphone check)."""
    state = P.state(token, person, url)
    while state.step not in ("done", "screened_out", "left", "timed_out"):
        if state.step == "screen":
            screening.submit_screen(token, person, key(token, person, url), url)
        elif state.step == "pair":
            screening.record_choice(token, person, state.trial.position, 1, 100, url=url)
        else:
            P.record_vote(token, person, state.clip, "human", None, 100, url)
        state = P.state(token, person, url)


def status(token: str, url: str) -> str:
    return P.public_survey(token, url).status


@pytest.mark.parametrize("design", ["single", "2afc"])
def test_places_free_up_and_the_survey_closes_at_its_counted_finishers(design, tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    survey_id, token = survey(db, design, 2, headphone_screen=True, screen_fail="end")
    recruit.set_screenout(survey_id, recruit.ScreenOut("https://example.org/out?cc=SO", "SCREENED", 0.02), db)
    failed, silent = P.join(token, db), P.join(token, db)
    with pytest.raises(UserError, match="all the participants it needs"):
        P.join(token, db)  # two places held
    wrong = [1 + k % 3 for k in key(token, failed, db)]
    assert screening.submit_screen(token, failed, wrong, db) is False
    assert P.state(token, failed, db).step == "screened_out"
    assert recruit.screenout_for(token, failed, db) == recruit.ScreenOut("https://example.org/out?cc=SO", "SCREENED",
                                                                          0.02)
    assert recruit.screenout_for(token, silent, db) is None
    leaver = P.join(token, db)  # the failed participant's place
    screening.leave(token, leaver, db)
    assert P.state(token, leaver, db).step == "left"
    first = P.join(token, db)  # the leaver's place
    answer_all(token, first, db)
    time.sleep(1.3)  # 0.02 minutes: the silent visit has timed out
    assert P.state(token, silent, db).step == "timed_out"
    with pytest.raises(UserError, match="time for this study ran out"):
        screening.submit_screen(token, silent, key(token, silent, db), db)
    assert status(token, db) == "open" and recruit.place_counts(survey_id, db) == {"counted": 1, "active": 0,
                                                                                    "freed": 3}
    last = P.join(token, db)
    answer_all(token, last, db)
    assert status(token, db) == "closed"  # two counted finishers: closed by the last answer itself
    assert P.state(token, last, db).step == "done"


@pytest.mark.parametrize("design", ["single", "2afc"])
def test_simultaneous_last_answers_close_the_survey_once(design, url):
    survey_id, token = survey(url, design, 4)
    people = [P.join(token, url) for _ in range(4)]
    for person in people[:3]:
        answer_all(token, person, url)
    assert status(token, url) == "open"
    survey_id2, token2 = survey(url, design, 3)
    crowd = [P.join(token2, url) for _ in range(3)]
    errors: list[Exception] = []

    def finish(person: str) -> None:
        try:
            answer_all(token2, person, url)
        except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(p,)) for p in crowd]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and status(token2, url) == "closed"
    assert recruit.place_counts(survey_id2, url)["counted"] == 3


def test_simultaneous_joins_never_exceed_the_places(tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    survey_id, token = survey(db, "single", 3)
    got, refused = [], []

    def visit() -> None:
        try:
            got.append(P.join(token, db))
        except UserError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=visit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and len(refused) == 7 and all("all the participants" in r for r in refused)


def test_loopback_and_unknown_clients_share_one_join_limit(monkeypatch):
    shared = {recruit.client_key("tok", a) for a in (None, "", "127.0.0.1", "127.0.0.2", "::1", "localhost")}
    assert len(shared) == 1 and recruit.client_key("tok", "203.0.113.7") not in shared
    from core.server import ServerSettings, startup_warnings

    assert "TUNELAB_BEHIND_PROXY is not set" in startup_warnings(ServerSettings())[0]
    assert startup_warnings(ServerSettings(behind_proxy=True)) == ()


def test_bad_screenout_settings_are_one_sentence(tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    survey_id, _ = survey(db, "single", 0)
    for bad, message in ((recruit.ScreenOut("javascript:x"), "screen-out link must be"),
                         (recruit.ScreenOut(None, "a b"), "screen-out code may have"),
                         (recruit.ScreenOut(None, None, 0), "abandon time must be")):
        with pytest.raises(UserError, match=message):
            recruit.set_screenout(survey_id, bad, db)
    assert recruit.screenout(survey_id, db) == recruit.ScreenOut()


def test_the_margin_is_preregistered_and_another_is_exploratory(tmp_path, capsys):
    import json

    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    survey_id, token = survey(db, "2afc", 0, margin=0.1)
    answer_all(token, P.join(token, db), db)
    path = tmp_path / "export.csv"
    path.write_text(screening.export_csv(*screening.raw_responses(survey_id, db)))
    assert main(["survey-stats", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["margin_choice"]["label"] == "pre-registered" and out["equivalence"]["margin"] == 0.1
    for margin in ("0.2", "0.3"):  # tried after the fact: said to be exploratory, beside the pre-registered one
        assert main(["survey-stats", str(path), "--json", "--margin", margin]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["margin_choice"]["label"] == "exploratory (pre-registered M0 = 0.1)"
        assert out["headline"]["sentence"].startswith(f"Exploratory margin {margin}")
    assert main(["survey-stats", str(path), "--json", "--margin", "0.49"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is refused: above 0.3" in err and err.count("\n") == 0


def test_huggins_trials_hide_the_answer_from_the_levels():
    rms = lambda x: float(np.sqrt((x**2).mean()))  # noqa: E731
    n, gap = headphones.SAMPLE_RATE, int(headphones.GAP_S * headphones.SAMPLE_RATE)
    for target, seed in ((1, 3), (3, 4)):
        audio = headphones.huggins_audio(target, seed)
        levels = []
        for i in range(3):
            left, right = audio[i * (n + gap):i * (n + gap) + n].T
            levels.append([rms(left), rms(right), rms(left + right), rms(left - right)])
        assert np.allclose(levels, levels[0], rtol=1e-9)  # no level says which noise hides the tone
        spectrum = np.abs(np.fft.rfft(audio[(target - 1) * (n + gap):(target - 1) * (n + gap) + n].T[0]
                                      - audio[(target - 1) * (n + gap):(target - 1) * (n + gap) + n].T[1]))
        freqs = np.fft.rfftfreq(n, 1 / n)
        band = np.abs(freqs - headphones.HUGGINS_HZ) < 30
        assert spectrum[band].mean() > 10 * spectrum[~band].mean()  # the tone lives in the interaural band
    key = headphones.new_key(__import__("random").Random(1), test="huggins")
    assert len(key) == 6 and {"quiet", "seed"} <= set(key[0])


def test_straight_lining_plan_and_methods_count_the_design():
    from core.survey.stats.checks import check_table
    from core.survey.stats.report import analyse, methods_paragraph

    df = pd.DataFrame({"participant": ["a"] * 5 + ["b"] * 5, "pair": [f"h{i}|m" for i in range(5)] * 2,
                       "human_position": [1, 2, 1, 2, 1] * 2, "chosen_position": [1] * 5 + [1, 2, 1, 2, 2]})
    table = check_table(df).set_index("participant")
    assert table.loc["a", "straight_lining"] and not table.loc["b", "straight_lining"]
    s = analyse(df, 0.1)
    assert s["plan"]["more"] == s["plan"]["needed"] - 2 > 0
    text = methods_paragraph(s, [], setup={"pairings": 20, "headphone_screen": True, "screen_test": "huggins",
                                           "screen_fail": "end", "catch": True})
    assert "20 human-machine pairings in the design" in text and "5 were answered" in text
    assert "Huggins pitch, Milne et al., 2021" in text and "attention checks" in text


def test_practice_pair_is_not_the_catch_pair():
    from core.survey.clips import ClipPolicy, catch_clips, practice_clips

    policy = ClipPolicy(excerpt_seconds=3.0, fade_seconds=0.5)
    catch, practice = catch_clips(policy), practice_clips(policy)
    assert [c.source["title"] for c in practice] == ["Frere Jacques", "random notes"]
    assert all(a.wav != b.wav for a, b in zip(catch, practice, strict=True))


def test_store_keeps_the_screen_test(tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    _, token = paired_survey(db, headphone_screen=True, screen_test="huggins")
    person = P.join(token, db)
    assert P.state(token, person, db).survey.screen_test == "huggins"
    assert screening.screen_trial_wav(token, person, 0, db)[:4] == b"RIFF"
    with pytest.raises(UserError, match="headphone check must be one of"):
        store.SurveySpec(title="x", screen_test="beats").validate()
    assert places.aware(None) is None and clips()  # the helpers stay importable


def test_platform_links_and_a_bad_public_address():
    from core.survey.links import check_public_url, participant_links

    links = participant_links("https://survey.example.org/", "tok")
    assert links["plain"] == links["mturk"] == "https://survey.example.org/survey?s=tok"
    assert links["prolific"] == ("https://survey.example.org/survey?s=tok&PROLIFIC_PID={{%PROLIFIC_PID%}}"
                                 "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}")
    for bad in ("survey.example.org", "ftp://x", "https://a b", "https://x/?s=1"):
        with pytest.raises(UserError, match="public address must look like"):
            check_public_url(bad)
