"""Blindness: play participants through the page and try to recover which clips are human from all that is served.

Everything the browser would receive is captured: every element of every page (text, widget ids and keys,
media URLs), the audio the play-tracking player carries inline (``pages/common/player.py``: a data URL and a
position-only id) and every media file handed to Streamlit (bytes, MIME type, file name). Each channel is then used
as a classifier of human against machine clips, and each must carry no information: the same page text,
the same WAV header and length, the same loudness, ids and names that mention no source, and an order that
changes from participant to participant.
"""

from __future__ import annotations

import io
import json
import re
import wave

import numpy as np
import pytest
from google.protobuf import text_format
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from core.survey.clips import loudness
from survey_db import store
from tests.survey_support import make_survey, real_clips
from tests.test_survey_pages import page

PARTICIPANTS = 3


def _protos(at) -> list[str]:
    out, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "proto", None) is not None:
            out.append(text_format.MessageToString(node.proto))
        stack.extend(getattr(node, "children", {}).values())
    return out


@pytest.fixture
def served(monkeypatch):
    media: list[dict] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        media.append({"data": path_or_data, "mimetype": mimetype, "filename": filename, "id": file_id})
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return media


def _no_audio(text: str) -> str:
    """The page text with the player's media URL replaced by "media:X" (its hex id can spell a short word)."""
    return re.sub(r"/(?:[a-z]+/)?media/[0-9a-f]+\.wav", "media:X", text)


def _player_audio(at, media: list[dict]) -> dict:
    """The clip the player component plays: the media record its URL names (bytes, MIME type, id)."""
    [player] = at.get("bidi_component")
    src = json.loads(player.proto.json)["src"]
    file_id = src.rsplit("/", 1)[1].split(".")[0]
    return {**next(m for m in media if m["id"] == file_id), "key": json.loads(player.proto.json)["id"]}


def _play(token: str, media: list[dict]) -> list[dict]:
    """One participant answers every clip; returns, per clip step, the page's protos and the audio served."""
    at = page("pages/views/survey.py", s=token)
    at.button(key="consent").click().run()
    steps = []
    while at.subheader and at.subheader[0].value.startswith("Clip"):
        position = int(at.subheader[0].value.split()[1])
        steps.append({"protos": _protos(at), "audio": _player_audio(at, media), "query": dict(at.query_params)})
        at.radio(key=f"vote_{position}").set_value("human")
        at = at.button(key=f"FormSubmitter:answer_{position}-Next").click().run()
    steps.append({"protos": _protos(at), "audio": None, "query": dict(at.query_params)})  # the thank-you page
    return steps


def test_nothing_served_tells_human_from_machine(served):
    clips = real_clips()
    survey_id, token = make_survey(None, clips=clips, title="Blind test")
    table = store.clip_table(survey_id)
    by_audio = {c.wav: (cid, c.truth) for c, cid in zip(clips, table["clip"], strict=True)}
    assert len(by_audio) == len(clips)  # every clip's audio is distinct, so served bytes identify the clip
    secrets_ = set(table["clip"]) | set(table["group"]) | {c.source.get("title", "") for c in clips} - {""}
    secrets_ |= {"truth", "catch", "oneills", "r1-", "lstm", "gru", ".abc", ".mid"}

    orders, headers, lengths, levels, player_ids = [], set(), set(), [], set()
    pages: dict[int, set[str]] = {}  # position -> the page texts served there, human or machine clip alike
    truths_at: dict[int, set[str]] = {}
    for _ in range(PARTICIPANTS):
        steps = _play(token, served)
        clip_steps = [s for s in steps if s["audio"] is not None]
        assert len(clip_steps) == len(clips)
        order = []
        for step in steps:
            blob = _no_audio("\n".join(step["protos"])) + repr(step["query"])  # the audio bytes: checked below
            leaked = sorted(s for s in secrets_ if s.lower() in blob.lower())
            assert leaked == [], f"the page shows {leaked}"
        for position, step in enumerate(clip_steps):
            audio = step["audio"]
            clip_id, truth = by_audio[audio["data"]]
            order.append(truth)
            # page text: at a given position, the same page whatever the clip (the audio aside: checked below)
            page_text = _no_audio("\n".join(step["protos"]))
            assert page_text.count("media:X") == 1
            pages.setdefault(position, set()).add(page_text)
            truths_at.setdefault(position, set()).add(truth)
            # audio: same type, no file name, a player key that names the position only, never the clip
            assert (audio["mimetype"], audio["filename"]) == ("audio/wav", None)
            assert clip_id not in audio["key"] and audio["key"] == f"clip_{position + 1}"
            player_ids.add(audio["id"])
            data = audio["data"]
            headers.add(data[:44])
            lengths.add(len(data))
            with wave.open(io.BytesIO(data)) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels()) / 32768
                levels.append((truth, loudness(pcm, w.getframerate())))
                assert np.abs(pcm[:100]).max() < 1e-3 and np.abs(pcm[-100:]).max() < 1e-3  # faded in and out
        orders.append(tuple(order))

    assert all(len(texts) == 1 for texts in pages.values())
    assert any(truths == {"human", "machine"} for truths in truths_at.values())  # the comparison was made
    assert len(headers) == 1 and len(lengths) == 1  # byte-identical WAV headers, identical sizes: no extra chunks
    assert int.from_bytes(next(iter(headers))[4:8], "little") == next(iter(lengths)) - 8
    human = [lv for t, lv in levels if t == "human"]
    machine = [lv for t, lv in levels if t == "machine"]
    assert max(human + machine) - min(human + machine) < 0.1  # loudness: within 0.1 LU of each other
    assert len(set(orders)) > 1  # the order of human and machine clips differs between participants
    assert not [m for m in served if m["data"] in by_audio and m["id"] not in player_ids]  # nor another way
