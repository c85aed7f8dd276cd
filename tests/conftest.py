"""Shared fixtures: an isolated data folder and a tiny model trained once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["r1-lstm-oneills1850", "r1-gru-oneills1850"]


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory) -> Path:
    """Caches and user models go to a temp folder, never into the checkout; it starts with a copy of the
    checkout's warm caches (parsed corpora, novelty indexes), which tests may extend but never change."""
    path = tmp_path_factory.mktemp("tunelab-data")
    warm = Path(os.environ.get("TUNELAB_DATA_DIR", ROOT / "data")) / "cache"
    if warm.is_dir():  # the parsed corpora `make setup` warmed: content-keyed, so a copy is as good as a parse
        shutil.copytree(warm, path / "cache")
    os.environ["TUNELAB_DATA_DIR"] = str(path)
    os.environ["SURVEY_DB_URL"] = f"sqlite:///{path / 'surveys.sqlite'}"  # never the checkout's survey database
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 33k-parameter LSTM trained for two epochs on 30,000 characters of O'Neill (seconds)."""
    from core.training.config import TrainConfig
    from core.training.loop import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    train(
        TrainConfig(
            preset="tiny-lstm",
            corpus="oneills1850",
            epochs=2,
            max_train_chars=30_000,
            out_dir=str(out),
            checkpoint_every=1,
            name="tiny-test",
        )
    )
    return out


@pytest.fixture(scope="session")
def shipped_lstm():
    """The shipped R1 LSTM, loaded once."""
    from core.generation.compose import load_model

    return load_model(SHIPPED[0])


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL cluster for the survey store tests; they skip, saying why, where none can start."""
    from tests.survey_support import PostgresServer

    try:
        server = PostgresServer.start()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def small_midi_corpus(data_dir, tmp_path_factory) -> str:
    """The first 40 Bach chorales imported as the MIDI corpus ``chorales40`` (seconds; the full
    ``bach`` corpus takes a minute or more to convert on first use)."""
    import shutil

    from core.data.midi_corpus import bach_files, import_corpus

    folder = tmp_path_factory.mktemp("chorales") / "bach"
    folder.mkdir()
    for path in bach_files()[:40]:
        shutil.copy(path, folder / path.name)
    import_corpus(str(folder), "chorales40")
    return "chorales40"
