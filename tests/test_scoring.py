"""Tests of accountability_nlp.scoring: score_frame and score_file."""

from __future__ import annotations

import json
import logging
import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from _anlp_payloads import tampered_head
from hypothesis import given, settings
from hypothesis import strategies as st

import accountability_nlp as anlp
from accountability_nlp.checkpoint import progress_path
from accountability_nlp.errors import ColumnNotFoundError, InputFormatError, UntrustedModelError
from accountability_nlp.io import partial_path, read_chunks
from accountability_nlp.model import SCORE_COLUMNS
from accountability_nlp.scoring import ScoreSummary, score_file, score_frame


@pytest.fixture(scope="module")
def notes(corpus: pd.DataFrame) -> pd.DataFrame:
    """60 test notes with ids: 5 duplicated rows, 4 empty or blank notes."""
    sample = corpus[corpus["split"] == "test"].head(55)
    frame = pd.DataFrame(
        {"id": [f"{i:03d}" for i in range(len(sample))], "Loss Notes": sample["text"].tolist()}
    )
    frame.loc[[3, 20, 41], "Loss Notes"] = ["", "   ", ""]
    frame = pd.concat([frame, frame.iloc[[7, 3]], frame.iloc[[0, 1, 2]]], ignore_index=True)
    frame["Amount"] = ["N/A" if i % 7 == 0 else f"{i}000.00" for i in range(len(frame))]
    return frame


@pytest.fixture
def crm_csv(tmp_path: Path, notes: pd.DataFrame) -> Path:
    path = tmp_path / "crm.csv"
    notes.to_csv(path, index=False)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return pd.concat(read_chunks(path), ignore_index=True)


def score(
    input: Path | None, output: Path | None, model: anlp.Model, **kwargs: Any
) -> ScoreSummary:
    kwargs.setdefault("text_column", "Loss Notes")
    kwargs.setdefault("chunk_size", 16)
    kwargs.setdefault("progress", False)
    return score_file(input, output, model=model, **kwargs)


# -- score_frame ---------------------------------------------------------------------


def test_scoring_score_frame_appends_scores_row_for_row(small_model: anlp.Model) -> None:
    frame = pd.DataFrame(
        {"id": [3, 1, 2], "note": ["Lost on price.", None, "I never followed up."]},
        index=[10, 11, 12],
    )
    scored = score_frame(frame, small_model, text_column="note", prefix="anlp_")
    assert list(scored.columns) == ["id", "note", *("anlp_" + c for c in SCORE_COLUMNS)]
    assert scored.index.tolist() == [10, 11, 12]
    assert scored["anlp_status"].tolist() == ["scored", "unscorable: empty note", "scored"]


def test_scoring_score_frame_refuses_to_overwrite_columns(small_model: anlp.Model) -> None:
    frame = pd.DataFrame({"note": ["Lost on price."], "label": ["old"]})
    with pytest.raises(InputFormatError, match=r"\['label'\].*prefix='anlp_'"):
        score_frame(frame, small_model, text_column="note")


anything = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=st.characters(categories=("Cc", "Cf", "So", "Zs"))),  # control, emoji
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.builds(lambda c, n: c * n, st.sampled_from("a é🎉\n"), st.integers(90_000, 110_000)),
)


@given(st.lists(anything, max_size=12))
@settings(max_examples=40, deadline=None)
def test_scoring_any_values_never_crash_the_scorer(small_model: anlp.Model, values: list) -> None:
    frame = pd.DataFrame({"note": pd.Series(values, dtype=object)})
    scored = score_frame(frame, small_model, text_column="note")
    assert len(scored) == len(values)
    assert all(a is b for a, b in zip(scored["note"], values, strict=True))  # NaN is NaN
    for value, status, label in zip(values, scored["status"], scored["label"], strict=True):
        assert (status == "scored") == (label is not None)
        if not isinstance(value, str) or not value.strip():
            assert status.startswith("unscorable: ")


# -- score_file: rows, columns, formats ----------------------------------------------


def test_scoring_score_file_keeps_every_row_in_order(
    tmp_path: Path, crm_csv: Path, notes: pd.DataFrame, small_model: anlp.Model
) -> None:
    summary = score(crm_csv, tmp_path / "scored.csv", small_model)
    out = read_output(tmp_path / "scored.csv")
    assert list(out.columns) == [*notes.columns, *SCORE_COLUMNS]
    assert out[list(notes.columns)].to_dict("list") == notes.to_dict("list")  # N/A stays
    assert summary.rows == len(notes) == len(out)
    assert summary.unscorable == {"empty note": 4}  # 2 empty, 1 blank, 1 duplicate of one
    assert summary.scored == len(notes) - 4 == sum(summary.labels.values())
    assert out["id"].duplicated().sum() == 5
    expected = score_frame(notes, small_model, text_column="Loss Notes")
    assert out["label"].replace("", None).tolist() == expected["label"].tolist()


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_scoring_score_file_writes_each_format(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model, suffix: str
) -> None:
    score(crm_csv, tmp_path / "scored.csv", small_model)
    score(crm_csv, tmp_path / f"scored{suffix}", small_model)
    reference = read_output(tmp_path / "scored.csv")
    out = read_output(tmp_path / f"scored{suffix}")
    assert len(out) == len(reference)
    assert ["" if pd.isna(v) else v for v in out["label"]] == reference["label"].tolist()
    assert [str(v) for v in out["id"]] == reference["id"].tolist()


def write_input(kind: str, notes: pd.DataFrame, folder: Path) -> dict[str, Any]:
    """The notes in another format, and the score_file arguments that read them."""
    if kind == "xlsx":
        book = openpyxl.Workbook()
        book.active.title = "Cover"
        sheet = book.create_sheet("Lost deals")
        sheet.append(list(notes.columns))
        for row in notes.itertuples(index=False):
            sheet.append([v if v != "" else None for v in row])
        book.save(folder / "crm.xlsx")
        return {"input": folder / "crm.xlsx", "sheet": "Lost deals"}
    if kind == "parquet":
        pq.write_table(pa.Table.from_pandas(notes), folder / "crm.parquet", row_group_size=7)
        return {"input": folder / "crm.parquet"}
    if kind == "jsonl":
        notes.to_json(folder / "crm.jsonl", orient="records", lines=True)
        return {"input": folder / "crm.jsonl"}
    if kind == "utf16-tsv":
        (folder / "crm.tsv").write_bytes(notes.to_csv(sep="\t", index=False).encode("utf-16"))
        return {"input": folder / "crm.tsv"}
    engine = sa.create_engine(f"sqlite:///{folder / 'crm.db'}")
    notes.to_sql("lost_deals", engine, index=False)
    engine.dispose()
    return {"input": None, "sql": f"sqlite:///{folder / 'crm.db'}", "table": "lost_deals"}


@pytest.mark.parametrize("kind", ["xlsx", "parquet", "jsonl", "utf16-tsv", "sqlite"])
def test_scoring_score_file_reads_each_format(
    tmp_path: Path, crm_csv: Path, notes: pd.DataFrame, small_model: anlp.Model, kind: str
) -> None:
    score(crm_csv, tmp_path / "reference.csv", small_model)
    kwargs = write_input(kind, notes, tmp_path)
    summary = score(kwargs.pop("input"), tmp_path / "scored.csv", small_model, **kwargs)
    assert (tmp_path / "scored.csv").read_bytes() == (tmp_path / "reference.csv").read_bytes()
    assert summary.rows == len(notes)


def test_scoring_score_file_to_a_sql_table(
    tmp_path: Path, crm_csv: Path, notes: pd.DataFrame, small_model: anlp.Model
) -> None:
    url = f"sqlite:///{tmp_path / 'out.db'}"
    summary = score(crm_csv, None, small_model, sql=url, output_table="scores")
    assert summary.output.startswith("table 'scores' in sqlite:///")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        out = pd.read_sql("SELECT * FROM scores", connection)
    engine.dispose()
    assert out["id"].tolist() == notes["id"].tolist()
    assert list(out.columns)[-len(SCORE_COLUMNS):] == list(SCORE_COLUMNS)


def test_scoring_malformed_and_non_text_rows_are_unscorable(
    tmp_path: Path, small_model: anlp.Model
) -> None:
    jsonl = tmp_path / "crm.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                json.dumps({"id": 1, "note": "I never confirmed budget."}),
                json.dumps({"id": 2, "note": 42}),
                json.dumps({"id": 3, "note": None}),
                json.dumps({"id": 4, "note": ["a"]}),
                '{"id": 5, "note": "cut',
            ]
        )
    )
    summary = score(jsonl, tmp_path / "scored.jsonl", small_model, text_column="note")
    assert summary.scored == 1
    assert summary.unscorable == {
        "not text (int)": 1, "empty note": 1, "not text (list)": 1, "malformed JSON line": 1
    }
    csv = tmp_path / "cut.csv"
    csv.write_text('id,note\n1,"I never confirmed budget."\n2,"Lost on pri')
    summary = score(csv, tmp_path / "scored.csv", small_model, text_column="note")
    out = read_output(tmp_path / "scored.csv")
    assert out["status"].tolist() == ["scored", "unscorable: malformed row (unclosed quote)"]
    assert out["note"].tolist() == ["I never confirmed budget.", "Lost on pri"]


# -- errors ----------------------------------------------------------------------------


def test_scoring_wrong_column_lists_columns_and_closest(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    with pytest.raises(
        ColumnNotFoundError,
        match=r"must be one of \['id', 'Loss Notes', 'Amount'\]\. Got 'loss note' instead\. "
        r"Did you mean 'Loss Notes'\?",
    ):
        score(crm_csv, tmp_path / "scored.csv", small_model, text_column="loss note")
    assert list(tmp_path.iterdir()) == [crm_csv]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 0}, "'chunk_size' parameter of score_file must be a positive int"),
        ({"workers": -1}, "'workers' parameter of score_file must be a positive int"),
        ({"output_table": "t"}, "'output_table' parameter of score_file needs sql="),
        ({"table": "t", "sql": "sqlite://"}, "either a file .input. or a database"),
        ({"resume": True, "out": "scored.parquet"}, "resume=True needs an input file"),
        ({"out": "crm.csv"}, "'output' parameter of score_file must differ from 'input'"),
    ],
)
def test_scoring_score_file_checks_arguments(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model, kwargs: dict[str, Any], message: str
) -> None:
    output: Path | None = tmp_path / kwargs.pop("out", "scored.csv")
    if "output_table" in kwargs:
        output = None
    with pytest.raises(ValueError, match=message):
        score(crm_csv, output, small_model, **kwargs)


class Interrupt:
    """A Model.score that stops the run (like Ctrl-C) on its n-th call."""

    def __init__(self, model: anlp.Model, calls: int, error: BaseException) -> None:
        self.score, self.calls, self.error = model.score, calls, error

    def __call__(self, texts: list[Any]) -> pd.DataFrame:
        self.calls -= 1
        if self.calls == 0:
            raise self.error
        return self.score(texts)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_scoring_failed_run_leaves_no_output(
    tmp_path: Path,
    crm_csv: Path,
    small_model: anlp.Model,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    output = tmp_path / f"scored{suffix}"
    monkeypatch.setattr(small_model, "score", Interrupt(small_model, 3, OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        score(crm_csv, output, small_model)
    assert not output.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    if suffix == ".csv":  # kept, to be resumed
        assert left == ["crm.csv", "scored.csv.partial", "scored.csv.progress.json"]
    else:
        assert left == ["crm.csv"]


# -- resume ------------------------------------------------------------------------------


def test_scoring_resume_after_interrupt_is_byte_identical(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = score(crm_csv, tmp_path / "whole.csv", small_model)
    output = tmp_path / "scored.csv"
    with monkeypatch.context() as patch:
        patch.setattr(small_model, "score", Interrupt(small_model, 3, KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            score(crm_csv, output, small_model)
    state = json.loads(progress_path(output).read_text())
    assert state["chunks_done"] == 2 and state["totals"]["rows"] == 32
    # bytes past the checkpoint, as a kill during a write leaves them
    with partial_path(output).open("ab") as partial:
        partial.write(b"half a row,")
    resumed = score(crm_csv, output, small_model, resume=True)
    assert output.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert resumed.resumed_rows == 32
    assert (resumed.rows, resumed.scored, resumed.labels) == (whole.rows, whole.scored,
                                                              whole.labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.csv", "scored.csv", "whole.csv"]


def interrupted_run(crm_csv: Path, output: Path, model: anlp.Model) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model, "score", Interrupt(model, 3, KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            score(crm_csv, output, model)


def test_scoring_resume_refuses_a_changed_input(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    output = tmp_path / "scored.csv"
    interrupted_run(crm_csv, output, small_model)
    with crm_csv.open("a") as handle:
        handle.write("999,One more note.,\n")
    with pytest.raises(InputFormatError, match="the input file changed since the interrupted"):
        score(crm_csv, output, small_model, resume=True)


def test_scoring_resume_refuses_changed_settings(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    output = tmp_path / "scored.csv"
    interrupted_run(crm_csv, output, small_model)
    with pytest.raises(InputFormatError, match=r"chunk_size was 16, now 8.*without resume"):
        score(crm_csv, output, small_model, resume=True, chunk_size=8)
    # starting over without resume is always possible
    assert score(crm_csv, output, small_model, chunk_size=8).resumed_rows == 0


def test_scoring_resume_without_previous_run_starts_fresh(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    summary = score(crm_csv, tmp_path / "scored.csv", small_model, resume=True)
    assert summary.resumed_rows == 0
    assert summary.rows == len(read_output(tmp_path / "scored.csv"))


@pytest.mark.slow
def test_scoring_workers_give_identical_output(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    one = score(crm_csv, tmp_path / "one.csv", small_model, workers=1, chunk_size=8)
    two = score(crm_csv, tmp_path / "two.csv", small_model, workers=2, chunk_size=8)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert (one.rows, one.labels) == (two.rows, two.labels)


def test_scoring_worker_setup_freezes_the_model_and_spaces_out_collections(
    small_model: anlp.Model,
) -> None:
    # Worker setup changes process-wide GC settings: run it in a child.
    script = (
        "import gc, pickle, sys\n"
        "from accountability_nlp import scoring\n"
        "scoring._init_worker(pickle.loads(sys.stdin.buffer.read()))\n"
        "loaded = scoring._WORKER_MODEL is not None\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(small_model),
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode().split() == ["20000", "True", "True"]


@pytest.mark.slow
def test_scoring_workers_load_the_model_themselves(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model
) -> None:
    # Given a model folder, the coordinating process only reads and writes:
    # it never imports spaCy or scikit-learn (memory stays with the workers).
    folder = small_model.save(tmp_path / "model")
    one = score(crm_csv, tmp_path / "one.csv", anlp.load(folder), chunk_size=8)
    script = (
        "import sys\n"
        "from accountability_nlp.scoring import score_file\n"
        "if __name__ == '__main__':\n"
        f"    s = score_file({str(crm_csv)!r}, {str(tmp_path / 'two.csv')!r}, "
        f"text_column='Loss Notes', model={str(folder)!r}, workers=2, chunk_size=8, "
        "progress=False)\n"
        "    print(s.rows, sorted(m for m in ('spacy', 'sklearn') if m in sys.modules))\n"
    )
    (tmp_path / "run.py").write_text(script)
    out = subprocess.run(
        [sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True, check=True
    )
    assert out.stdout.split(maxsplit=1) == [str(one.rows), "[]\n"]
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


@pytest.mark.slow
def test_scoring_workers_refuse_an_untrusted_model_like_one_process(
    tmp_path: Path, crm_csv: Path
) -> None:
    marker = tmp_path / "payload-ran.txt"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "meta.json").write_text('{"format_version": 1}')
    (folder / "head.skops").write_bytes(tampered_head(str(marker)))
    for workers in (1, 2):
        with pytest.raises(UntrustedModelError, match=r"Refusing to load .*SetStatePayload"):
            score(crm_csv, tmp_path / "out.csv", str(folder), workers=workers)  # type: ignore[arg-type]
        assert not (tmp_path / "out.csv").exists()
    assert not marker.exists()


# -- progress and summary ----------------------------------------------------------------


def test_scoring_progress_lines_when_not_a_terminal(
    tmp_path: Path, crm_csv: Path, small_model: anlp.Model, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="accountability_nlp"):
        score(crm_csv, tmp_path / "a.csv", small_model, progress=None)
    assert "chunk 1: 16 rows so far" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="accountability_nlp.scoring"):
        score(crm_csv, tmp_path / "b.csv", small_model, progress=False)
    assert "chunk" not in caplog.text


def test_scoring_summary_reads_well(tmp_path: Path, crm_csv: Path,
                                    small_model: anlp.Model) -> None:
    summary = score(crm_csv, tmp_path / "scored.csv", small_model)
    text = str(summary)
    lines = text.splitlines()
    assert lines[0].startswith(f"{summary.rows} rows in ")
    assert "unscorable (4 empty note)" in lines[0]
    assert lines[1].startswith("Labels: ")
    shares = [float(p) for p in lines[1].split("(")[1:] for p in [p.split("%")[0]]]
    assert math.isclose(sum(shares), 100, abs_tol=0.2)
    assert lines[2] == f"Output: {tmp_path / 'scored.csv'}"
    assert summary.notes_per_second > 0
