"""Reading survey CSVs (long and wide layouts), one clear message per bad input, and export-import round trips."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import UserError
from core.survey.responses import (
    neutralise,
    read_key,
    read_responses,
    read_survey_file,
    read_wide,
    responses_to_csv,
    restore,
)
from tests.conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"
HEADER = "participant,clip,truth,vote,rating\n"


def test_long_example_reads_into_the_stats_layout():
    df = read_responses(EXAMPLES / "survey_long.csv")
    assert len(df) == 24 and df["participant"].nunique() == 4
    assert list(df.columns[:5]) == ["participant", "clip", "truth", "vote", "rating"]
    assert str(df["rating"].dtype) == "Int64" and df["is_catch"].sum() == 4
    assert df["listening_ms"].dtype == float and df.loc[0, "group"] == "oneills1850"
    assert df.loc[14, "comment"] == '=HYPERLINK("http://example.com","click")'
    assert pd.isna(df.loc[0, "comment"]) and pd.isna(df.loc[5, "group"])


def test_wide_example_with_key_becomes_long():
    df = read_wide(EXAMPLES / "survey_wide.csv", EXAMPLES / "survey_key.csv")
    assert len(df) == 15  # 4 respondents x 4 clips, one cell left empty
    first = df.iloc[0]
    assert (first["participant"], first["clip"], first["truth"], first["vote"], first["group"]) == (
        "ex-11",
        "clip A",
        "human",
        "human",
        "oneills1850",
    )
    assert set(df["musical_training"]) == {"none", "amateur", "professional"}
    assert df.set_index(["participant", "clip"]).loc[("ex-12", "clip B"), "vote"] == "human"
    assert ("ex-14", "clip C") not in set(zip(df["participant"], df["clip"], strict=True))
    assert "Start time" not in df.columns and "start time" not in df.columns


def test_wide_layout_with_ratings_semicolons_bom_and_row_ids():
    wide = "\ufeffClip 1;clip 2\n4;human\n;2\n".encode()
    key = b"clip,truth\nclip 1,machine\nclip 2,human\n"
    df = read_wide(wide, key)
    assert list(df["participant"]) == ["row 2", "row 2", "row 3"]  # no id column: the spreadsheet row
    assert list(df["rating"].astype("float")[[0, 2]]) == [4.0, 2.0] and df.loc[1, "vote"] == "human"


@pytest.mark.parametrize(
    "raw",
    [
        "participant\tclip\ttruth\tvote\tcomment\np1\tc1\thuman\tmachine\tpiè\n".encode("utf-16"),  # Excel
        "participant;clip;truth;vote;comment\np1;c1;human;machine;piè\n".encode("cp1252"),
        "\n\nparticipant,clip,truth,vote,comment\np1,c1,human,machine,piè\n".encode(),
    ],
)
def test_encodings_and_delimiters_of_spreadsheet_exports(raw):
    df = read_responses(raw)
    assert df.loc[0, ["participant", "clip", "truth", "vote", "comment"]].tolist() == [
        "p1",
        "c1",
        "human",
        "machine",
        "piè",
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        (b"", "is empty"),
        (HEADER.encode(), "has no responses"),
        (b"participant,clip,vote\np1,c1,human\n", "missing the column truth"),
        (b"participant,clip,truth\np1,c1,human\n", "neither a vote nor a rating column"),
        ((HEADER + "p1,c1,human,human,\np1,c2,robot,human,\n").encode(), "truth 'robot' in row 3"),
        ((HEADER + "p1,c1,human,computer,\n").encode(), "vote 'computer' in row 2"),
        ((HEADER + "p1,c1,human,,3\np1,c2,human,,6\n").encode(), "rating '6' in row 3 (column 'rating')"),
        ((HEADER + "p1,c1,human,,0\n").encode(), "rating '0' in row 2"),
        ((HEADER + "p1,c1,human,,2.5\n").encode(), "rating '2.5' in row 2"),
        ((HEADER + "p1,c1,human,,good\n").encode(), "rating 'good' in row 2"),
        (
            (HEADER + "p1,c1,human,human,\np2,c1,human,human,\np1,c1,human,machine,\n").encode(),
            "participant 'p1' answered clip 'c1' more than once (rows 2, 4)",
        ),
        ((HEADER + "p1,c1,human,human,\np2,c1,machine,human,\n").encode(), "clip 'c1' has more than one truth"),
        ((HEADER + ",c1,human,human,\n").encode(), "participant is empty in row 2"),
        ((HEADER + "p1,c1,human,,\n").encode(), "no votes and no ratings"),
        ((HEADER.strip() + ",is_catch\np1,c1,human,human,,maybe\n").encode(), "is_catch 'maybe' in row 2"),
        ((HEADER.strip() + ",listening_ms\np1,c1,human,human,,fast\n").encode(), "listening_ms 'fast' in row 2"),
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-an-xlsx", "not a CSV file"),
        (b"\x00\x01\x02\xff\xfe binary", "not a CSV file"),
        (b'participant,clip,truth,vote\np1,"c1,human,human\n', "not a valid CSV file"),
        (b"participant,clip,truth,vote,vote\np1,c1,human,human,human\n", "column 'vote' twice"),
    ],
)
def test_bad_long_input_names_the_row_or_column(text, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        read_responses(text)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="No such file"):
        read_responses(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "wide,key,message",
    [
        (b"id,c1\np1,maybe\n", b"clip,truth\nc1,human\n", "'maybe' in row 2, column 'c1'"),
        (b"id,c1\np1,human\n", b"clip,truth\nc1,human\nc2,machine\n", "no column for clip 'c2'"),
        (b"id,c1\np1,human\n", b"clip\nc1\n", "answer key key.csv is missing the column truth"),
        (b"id,c1\np1,human\n", b"clip,truth\nc1,alien\n", "truth 'alien' in row 2"),
        (b"id,c1\np1,human\n", b"clip,truth\nc1,human\nC1,machine\n", "repeated clip in rows 2, 3"),
        (b"id,c1\np1,human\np1,machine\n", b"clip,truth\nc1,human\n", "id column is empty or repeated in rows 2, 3"),
        (b"id,c1\np1,\n", b"clip,truth\nc1,human\n", "every clip cell is empty"),
        (b"id,c1\n", b"clip,truth\nc1,human\n", "has no responses"),
    ],
)
def test_bad_wide_input_names_the_row_or_column(tmp_path, wide, key, message):
    (tmp_path / "wide.csv").write_bytes(wide)
    (tmp_path / "key.csv").write_bytes(key)
    with pytest.raises(UserError, match=message):
        read_wide(tmp_path / "wide.csv", tmp_path / "key.csv")


def test_key_reads_groups():
    key = read_key(EXAMPLES / "survey_key.csv")
    assert list(key.columns) == ["clip", "truth", "group"] and key.loc[1, "group"] == "r1-lstm"


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+44 20", "-x", "@SUM(A1)", "\tTab", "'=quoted", "''+twice", "plain", "it's = fine", "'", "", "3-2"],
)
def test_neutralise_is_undone_by_restore(text):
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t"))


def test_export_neutralises_formulas_and_round_trips(tmp_path):
    df = read_survey_file(EXAMPLES / "survey_long.csv")
    df.loc[0, "comment"] = "+cmd|' /C calc'!A0"
    df.loc[1, "comment"] = "@SUM(1+1)"
    df.loc[2, "comment"] = "-2+3"
    df.loc[3, "comment"] = "'=already quoted"
    df.loc[4, "participant"] = "=evil-id"
    text = responses_to_csv(df)
    for cell in ["'+cmd|", "'@SUM", "'-2+3", "''=already", "'=evil-id", "'=HYPERLINK"]:
        assert cell in text
    (tmp_path / "export.csv").write_text(text)
    back = read_responses(tmp_path / "export.csv")
    pd.testing.assert_frame_equal(back, df)
