"""The Evaluate page and the Compose page's novelty verdict, through Streamlit's AppTest."""


from tests.conftest import SHIPPED
from tests.page_support import open_page


def test_evaluate_shows_the_table_histograms_and_a_copied_passage():
    at = open_page("pages/views/evaluate.py")
    at.multiselect(key="eval_models").set_value([SHIPPED[0]])
    at.number_input(key="eval_n").set_value(2)
    at.checkbox(key="eval_human").check()
    at.button[1].click().run()  # the second form's button; the first scores models on their test split
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table["set"].tolist() == [SHIPPED[0], "human (oneills1850 test split)"]
    model, human = table.iloc[0], table.iloc[1]
    assert model["pieces"] == 2 and model["parse & play"] == 1.0
    assert human["pieces"] > 150 and 0 < human["copies ≥ 2 bars"] < 0.5  # human tunes share stock phrases too
    assert 0 < model["metric overlap"] <= 1 and model["compared with"].startswith("oneills1850 test split")
    overlaps = at.dataframe[1].value
    assert "pitch_class_histogram" in overlaps.index and list(overlaps.columns) == table["set"].tolist()
    charts = at.get("vega_lite_chart")  # pitch classes and note lengths, side by side
    assert len(charts) == 2 and all(
        SHIPPED[0] in c.proto.spec + c.proto.datasets[0].data.data.decode("latin-1") for c in charts
    )
    # the human row always has copies at 2 bars: its longest one is drawn next to the training tune
    assert any("Copies" in m.value for m in at.markdown)
    assert len(at.get("image")) >= 2


def test_evaluate_asks_for_a_model():
    at = open_page("pages/views/evaluate.py")
    at.multiselect(key="eval_models").set_value([])
    at.button[1].click().run()
    assert not at.exception
    assert "Pick at least one model" in at.warning[0].value


def test_evaluate_runs_without_models(tmp_path, monkeypatch):
    import core.training.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "SHIPPED_MODELS", tmp_path / "none")
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    at = open_page("pages/views/evaluate.py")
    assert any("No trained models yet" in i.value for i in at.info)


def test_compose_shows_the_novelty_verdict_next_to_the_tune():
    at = open_page("pages/views/compose.py")
    at.selectbox(key="model").set_value(SHIPPED[0])
    at.slider(key="seconds").set_value(20)
    at.number_input(key="copy_bars").set_value(0.5)  # any shared run of 8 notes or more now counts
    at.number_input(key="variations").set_value(1)
    at.checkbox(key="lock_seed").check()  # seed 0, as before seeds were drawn per press
    at.button[0].click().run()
    assert not at.exception and not at.error
    sentences = [w.value for w in at.warning] + [c.value for c in at.caption]
    verdict = [s for s in sentences if s.startswith("Copies") or "Novel" in s]
    assert len(verdict) == 1 and "8-note runs occur in the train tunes" in verdict[0]


def test_evaluate_scores_models_on_their_test_split_from_the_weights():
    import json

    from core.paths import SHIPPED_MODELS

    at = open_page("pages/views/evaluate.py")
    at.multiselect(key="compare_models").set_value([SHIPPED[1]])
    at.button[0].click().run()
    assert not at.exception and not at.error
    row = at.dataframe[0].value.iloc[0]
    card = json.loads((SHIPPED_MODELS / SHIPPED[1] / "card.json").read_text())
    assert row["name"] == SHIPPED[1] and row["family"] == "char_rnn"
    assert abs(row["bits_per_char"] - card["metrics"]["test_bpc"]) < 0.01 * card["metrics"]["test_bpc"]
    assert row["sample_tokens_per_s"] > 100 and row["samples_per_s"] > 0


def test_scoring_no_models_says_so_and_scores_nothing():
    at = open_page("pages/views/evaluate.py")
    at.multiselect(key="compare_models").set_value([])
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Pick at least one model to score."]
    assert "comparison" not in at.session_state
