"""Learning from listeners' judgements (core.training.preferences, judgements, from_votes; train --preferences)."""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import pytest
import torch

from core.cli import main
from core.errors import UserError
from core.training.checkpoint import find_model, load_checkpoint
from core.training.judgements import Judgements, read_judgements_csv
from core.training.preferences import PreferenceRun, dpo_loss, kto_loss, optimise, sequence_logprobs
from tests.conftest import SHIPPED

JIG = "X:1\nT:a\nM:6/8\nL:1/8\nK:D\n|:A|dfa afd|cec ABc|dfa afd|ecA d2:|\n"
REEL = "X:1\nT:b\nM:C|\nL:1/8\nK:G\n|:GABc dBAG|FGAB cAFA|GABc dBAG|FAdc BGG2:|\n"
ODD = "X:1\nT:c\nM:3/4\nL:1/8\nK:Am\n|:e4 z2|A6|e4 z2|A6:|\n"
DRONE = "X:1\nT:d\nM:6/8\nL:1/8\nK:D\n|:DDD DDD|DDD DDD|DDD DDD|DDD D3:|\n"


def _pairs() -> Judgements:
    return Judgements(pairs=[(JIG, DRONE), (REEL, ODD), (JIG, ODD), (REEL, DRONE)], source={"test": 1})


def test_dpo_steps_lower_the_loss_on_their_pairs_and_leave_the_reference_untouched(tiny_model):
    loaded = load_checkpoint(tiny_model)
    run = PreferenceRun.start(loaded, _pairs(), "dpo", beta=0.5, lam=10.0)
    reference = {k: v.clone() for k, v in run.reference.state_dict().items()}
    before, _ = run.loss(list(range(4)))
    history = optimise(run, epochs=6, lr=3e-3, batch_size=4, seed=0)
    after, stats = run.loss(list(range(4)))
    assert after.item() < before.item() - 0.01 and history[-1].accuracy == 1.0
    assert all(torch.equal(v, reference[k]) for k, v in run.reference.state_dict().items())
    assert not all(torch.equal(v, reference[k]) for k, v in run.policy.state_dict().items())
    with torch.no_grad():  # the preferred tunes' own likelihood did not fall (the DPO-Positive term)
        chosen = sequence_logprobs(run.policy, run.chosen)
    assert (chosen >= run.reference_logps["chosen"] - 0.5).all()


def test_the_losses_agree_with_their_formulas():
    pc, pr, rc, rr = torch.tensor([-10.0]), torch.tensor([-12.0]), torch.tensor([-11.0]), torch.tensor([-11.0])
    loss, stats = dpo_loss(pc, pr, rc, rr, beta=0.1, lam=0.0)
    assert math.isclose(loss.item(), -math.log(1 / (1 + math.exp(-0.1 * (1 - -1)))), rel_tol=1e-6)
    assert stats.accuracy == 1.0 and math.isclose(stats.margin, 2.0)
    loss, _ = dpo_loss(torch.tensor([-12.0]), pr, rc, rr, beta=0.1, lam=10.0)  # the chosen tune fell by 1 nat
    assert math.isclose(loss.item(), -math.log(1 / (1 + math.exp(-0.1 * (-1 - -1 - 10)))), rel_tol=1e-6)
    good, bad = torch.tensor([-9.0, -13.0]), torch.tensor([-10.0, -12.0])  # log-ratios +1 and -1, anchor 0
    loss, stats = kto_loss(good, bad, torch.tensor([1.0, 0.0]), beta=1.0)
    assert math.isclose(loss.item(), 1 - 1 / (1 + math.exp(-1)), rel_tol=1e-6) and stats.accuracy == 1.0


@pytest.mark.parametrize("model", [SHIPPED[1], "gpt-folk"])  # the GRU and the GPT (the LSTM: the tests above)
@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_every_abc_family_learns_from_both_methods(model, method):
    from core.generation.settings import load_model

    loaded = load_model(model)
    import copy

    loaded = copy.copy(loaded)
    loaded.model = copy.deepcopy(loaded.model)  # the cached shipped model stays as it is
    run = PreferenceRun.start(loaded, _pairs(), method, beta=0.1, lam=10.0)
    before, _ = run.loss(list(range(run.size)))
    optimise(run, epochs=1, lr=1e-4, batch_size=8, seed=0)
    after, _ = run.loss(list(range(run.size)))
    assert after.item() < before.item()
    assert run.size == (4 if method == "dpo" else 8)  # KTO reads each pair as a good and another tune


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_cli_trains_from_a_csv_and_the_card_says_how(tiny_model, tmp_path, capsys):
    src = _write(tmp_path / "pairs.csv", ["chosen_abc", "rejected_abc"], [[JIG, DRONE], [REEL, ODD]])
    out = tmp_path / "tiny-dpo"
    assert main(["train", "--init-from", str(tiny_model), "--preferences", str(src), "--method", "dpo",
                 "--epochs", "1", "--lr", "1e-3", "--out", str(out), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = json.loads((out / "card.json").read_text())
    t = card["training"]
    assert t["method"] == "dpo" and t["beta"] == 0.1 and t["judgements"]["count"] == 2
    assert t["judgements"]["csv"] == "pairs.csv" and len(t["judgements"]["sha256"]) == 16
    assert t["base_training"]["preset"] == "tiny-lstm" and t["init_from"] == str(tiny_model)
    before, after = card["extra"]["preferences"]["before"], card["extra"]["preferences"]["after"]
    assert before["oneills1850"]["bits_per_char"] > 0 and after["oneills1850"]["bits_per_char"] > 0
    assert card["metrics"]["test_bpc"] == after["own"]["bits_per_char"] == summary["after"]["own"]["bits_per_char"]
    assert load_checkpoint(out).card.name == "tiny-dpo"


@pytest.mark.parametrize("header,rows,message", [
    (["chosen_abc", "rejected_abc"], [[JIG, ""]], "Row 2: rejected_abc is empty"),
    (["abc", "label"], [[JIG, "1"], [REEL, "yes"]], "Row 3: label must be 1"),
    (["abc", "label"], [[JIG, "1"], ["not a tune", "0"]], "Row 3: abc is not an ABC tune"),
    (["tune", "score"], [[JIG, "1"]], "needs the columns chosen_abc,rejected_abc"),
])
def test_bad_judgement_files_get_one_sentence_naming_the_row(tmp_path, header, rows, message):
    with pytest.raises(UserError, match=message):
        read_judgements_csv(_write(tmp_path / "j.csv", header, rows))


def test_cli_refusals_write_nothing(tiny_model, tmp_path, capsys):
    votes = _write(tmp_path / "votes.csv", ["abc", "label"], [[JIG, "1"], [REEL, "1"]])
    out = tmp_path / "never"
    for extra, message in [(["--method", "dpo"], "DPO learns from pairs"), (["--method", "kto"], "votes both ways"),
                           (["--method", "kto", "--beta", "nan"], "Beta must be above 0")]:
        assert main(["train", "--init-from", str(tiny_model), "--preferences", str(votes), *extra,
                     "--out", str(out), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()
    assert main(["train", "--preferences", str(votes)]) == 2
    assert "--init-from" in capsys.readouterr().err


@pytest.fixture(scope="module")
def voted_survey() -> int:
    """A human-or-machine survey in the session's database, its four clips made from tunes, voted on by six
    listeners who call the jig and the reel human."""
    from core.survey.clips import PreparedClip, tone_check_wav
    from survey_db import participants as P
    from survey_db import store

    def clip(truth: str, abc: str, tones: int) -> PreparedClip:
        return PreparedClip(truth=truth, group="oneills1850" if truth == "human" else "tiny", wav=tone_check_wav(tones),
                            source={"kind": "test", "abc": abc}, duration_s=2.0, loudness_lufs=-20.0)

    clips = [clip("human", JIG, 1), clip("human", REEL, 2), clip("machine", ODD, 3), clip("machine", DRONE, 4)]
    survey_id = store.create_survey(store.SurveySpec(title="Votes to learn from"), clips)
    store.set_status(survey_id, "open")
    token = next(s.token for s in store.list_surveys() if s.id == survey_id)
    liked = {row.clip: row.truth == "human" for row in store.clip_table(survey_id).itertuples()}
    for _ in range(6):
        person = P.join(token)
        while (state := P.state(token, person)).step == "clip":
            P.record_vote(token, person, state.clip, "human" if liked[state.clip] else "machine", None, 6000)
    return survey_id


def test_a_surveys_votes_train_a_model_in_the_background(tiny_model, voted_survey):
    from core.training import jobs
    from core.training.from_votes import PreferenceConfig
    from survey_db.judgements import survey_judgements

    judgements = survey_judgements(voted_survey)
    assert judgements.count == 24 and not judgements.pairs
    assert sum(label for _, label in judgements.votes) == 12
    assert {tune for tune, label in judgements.votes if label} == {JIG, REEL}
    cfg = PreferenceConfig(init_from=str(tiny_model), method="kto", epochs=1, lr=1e-3, name="tiny-kto-votes")
    job = jobs.start_preferences(cfg, str(voted_survey))
    deadline = time.time() + 120
    while (status := jobs.read(job.id)).state == jobs.RUNNING and time.time() < deadline:
        time.sleep(0.3)
    assert status.state == jobs.DONE, status.error
    assert status.model == "tiny-kto-votes" and status.metrics["test_bpc"] > 0 and status.progress == 1.0
    card = load_checkpoint(find_model("tiny-kto-votes")).card
    assert card.training["judgements"] == {"survey": voted_survey, "count": 24} and card.training["method"] == "kto"
    with pytest.raises(UserError, match="exists already"):
        jobs.start_preferences(cfg, str(voted_survey))


def test_the_train_page_refuses_dpo_on_single_votes_in_one_sentence(voted_survey):
    from tests.page_support import open_page

    at = open_page("pages/views/train.py", admin=True)
    survey = next(s for s in at.selectbox(key="votes_survey").options if s.startswith(f"#{voted_survey} "))
    at.selectbox(key="votes_survey").set_value(survey)
    at.selectbox(key="votes_method").set_value("dpo")
    next(b for b in at.button if b.label == "Start learning from the votes").click().run()
    assert not at.exception
    assert any("single votes; choose kto" in e.value for e in at.error), [e.value for e in at.error]
