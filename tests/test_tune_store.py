"""The tune store: save -> load round trip, owners, stars, delete, the quota (oldest unstarred first)."""

from __future__ import annotations

import pytest

from core.data import tune_store
from core.errors import UserError


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNELAB_DATA_DIR", str(tmp_path))
    return tune_store


def _save(store, owner, title="Jig", wav=b"RIFF" + b"\0" * 96, parent=None, kind="generated"):
    return store.save({"title": title, "abc": "X:1\nK:D\nABc|", "seed": 7, "model": "m", "meta": {"t": 0.8}},
                      {"midi": b"MThd", "wav": wav, "roll": None}, owner, kind, parent, svgs=["<svg/>"])


def test_a_saved_tune_loads_back_with_its_files_and_origin(store):
    owner = store.new_owner_token()
    first = _save(store, owner)
    child = _save(store, owner, "Jig (edited)", parent=first, kind="edited")
    tune = store.load(child)
    assert tune["title"] == "Jig (edited)" and tune["parent"] == first and tune["kind"] == "edited"
    assert tune["midi"] == b"MThd" and tune["wav"].startswith(b"RIFF") and tune["roll"] is None
    assert tune["svgs"] == ["<svg/>"] and tune["seed"] == 7 and tune["meta"] == {"t": 0.8}
    assert owner not in (store.tunes_dir() / child / "tune.json").read_text()  # only the hash is written
    assert [i.id for i in store.owned_by(owner)] == [child, first]  # newest first


def test_only_the_owner_stars_or_deletes(store):
    owner, stranger = store.new_owner_token(), store.new_owner_token()
    tune_id = _save(store, owner)
    assert store.owned_by(stranger) == [] and not store.is_owner(tune_id, stranger)
    with pytest.raises(UserError, match="Only the person who made"):
        store.delete(tune_id, stranger)
    store.set_star(tune_id, owner, True)
    assert store.load(tune_id)["starred"]
    store.delete(tune_id, owner)
    with pytest.raises(UserError, match="no tune"):
        store.load(tune_id)


def test_bad_ids_are_refused_without_touching_the_disk(store):
    for bad in ["../etc", "short", "a" * 13, "../../aaaaaaaa"]:
        with pytest.raises(UserError, match="not a tune link"):
            store.load(bad)


def test_the_quota_removes_the_oldest_unstarred_tunes_first(store, monkeypatch):
    owner = store.new_owner_token()
    big = b"\0" * 400_000
    ids = []
    for i in range(3):
        ids.append(_save(store, owner, f"T{i}", wav=big))
    store.set_star(ids[0], owner, True)  # the oldest, but starred: kept
    monkeypatch.setenv("TUNELAB_TUNE_QUOTA_MB", "1.2")  # room for three of them
    newest = _save(store, owner, "T3", wav=big)
    left = {i.id for i in store.all_tunes()}
    assert left == {ids[0], ids[2], newest}  # the oldest unstarred one (T1) went


def test_a_bad_quota_setting_says_so(store, monkeypatch):
    monkeypatch.setenv("TUNELAB_TUNE_QUOTA_MB", "lots")
    with pytest.raises(UserError, match="TUNELAB_TUNE_QUOTA_MB"):
        store.quota_bytes()
