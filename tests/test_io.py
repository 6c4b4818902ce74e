"""Tests of accountability_nlp.io: chunked readers and atomic writers."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountability_nlp.errors import InputFormatError
from accountability_nlp.io import (
    MALFORMED_ROWS,
    detect_encoding,
    open_writer,
    partial_path,
    read_chunks,
)

NAMES = ["José Ibáñez", "Zoë Ambrose", "Stadtwerke Mühlenbach", "Siobhán Mulcahy"]


def read_all(*args: object, **kwargs: object) -> pd.DataFrame:
    chunks = list(read_chunks(*args, **kwargs))  # type: ignore[arg-type]
    frame = pd.concat(chunks, ignore_index=True)
    offset = 0
    malformed: dict[int, str] = {}
    for chunk in chunks:
        malformed.update({offset + i: r for i, r in chunk.attrs[MALFORMED_ROWS].items()})
        offset += len(chunk)
    frame.attrs[MALFORMED_ROWS] = malformed
    return frame


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def crm() -> pd.DataFrame:
    """A small export with the quirks that matter: N/A, blanks, zeros, duplicates."""
    return pd.DataFrame(
        {
            "id": ["007", "008", "009", "009", "010"],
            "owner": [*NAMES, "Kelsey Tran"],
            "Loss Notes": ["N/A", "", "Lost on price, again.", "Lost on price, again.",
                           'He said "no"\nthen left.'],
            "Amount": ["7000.00", "", "1.50", "1.50", "n/a"],
        }
    )


# -- CSV --------------------------------------------------------------------------


def test_io_csv_values_stay_text(tmp_path: Path, crm: pd.DataFrame) -> None:
    path = tmp_path / "crm.csv"
    crm.to_csv(path, index=False)
    frame = read_all(path)
    assert frame.to_dict("list") == crm.to_dict("list")
    assert frame.attrs[MALFORMED_ROWS] == {}


def test_io_csv_chunks_are_bounded(tmp_path: Path, crm: pd.DataFrame) -> None:
    path = tmp_path / "crm.csv"
    crm.to_csv(path, index=False)
    assert [len(c) for c in read_chunks(path, chunk_size=2)] == [2, 2, 1]
    assert [len(c) for c in read_chunks(path, chunk_size=5)] == [5]


def test_io_csv_header_only_yields_one_empty_chunk(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,Loss Notes\n")
    chunks = list(read_chunks(path))
    assert len(chunks) == 1
    assert list(chunks[0].columns) == ["id", "Loss Notes"]
    assert chunks[0].empty


def test_io_csv_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match="is empty: it has no header row"):
        list(read_chunks(path))


def test_io_csv_duplicate_and_blank_headers_are_named(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("note,,note\na,b,c\n")
    assert list(read_all(path).columns) == ["note", "Unnamed: 1", "note.1"]


@pytest.mark.parametrize(
    ("encoding", "hint"),
    [
        ("utf-8", None),
        ("utf-8-sig", None),
        ("utf-16", None),
        ("utf-16-le", None),  # no byte-order mark
        ("cp1252", None),
        ("latin-1", "latin-1"),
    ],
)
def test_io_csv_encodings_are_read_correctly(
    tmp_path: Path, crm: pd.DataFrame, encoding: str, hint: str | None
) -> None:
    path = tmp_path / f"crm-{encoding}.csv"
    path.write_bytes(crm.to_csv(index=False).encode(encoding))
    frame = read_all(path, encoding=hint)
    assert list(frame.columns) == list(crm.columns)
    assert frame["owner"].tolist() == crm["owner"].tolist()


def test_io_cp1252_without_hint_keeps_western_letters(tmp_path: Path) -> None:
    # cp1250 and cp1252 share most letters; ñ and the curly quotes tell them apart
    text = "id,note\n1,Piñon – “lost” to José’s rival\n"  # noqa: RUF001
    path = tmp_path / "cp1252.csv"
    path.write_bytes(text.encode("cp1252"))
    assert read_all(path)["note"].tolist() == ["Piñon – “lost” to José’s rival"]  # noqa: RUF001


def test_io_non_utf8_byte_deep_in_file_is_detected(tmp_path: Path) -> None:
    rows = "".join(f"{i},plain ascii note number {i}\n" for i in range(5000))
    path = tmp_path / "late.csv"
    path.write_bytes(("id,note\n" + rows + "5000,Müller said no\n").encode("cp1252"))
    assert read_all(path)["note"].iloc[-1] == "Müller said no"


def test_io_wrong_encoding_hint_names_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "cp.csv"
    path.write_bytes("id,note\n1,ok\n2,Müller\n".encode("cp1252"))
    with pytest.raises(InputFormatError, match=r"not valid utf-8 near line \d+.*--encoding"):
        list(read_chunks(path, encoding="utf-8"))


def test_io_unknown_encoding_name_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    with pytest.raises(ValueError, match="'encoding' parameter of read_chunks must be a codec"):
        read_chunks(path, encoding="utf-9")


def test_io_detect_encoding_restores_position() -> None:
    handle = io.BytesIO("héllo".encode())
    handle.seek(1)
    assert detect_encoding(handle) == "utf-8"
    assert handle.tell() == 1


@pytest.mark.parametrize(
    ("name", "sep", "delimiter"),
    [("a.tsv", "\t", None), ("a.csv", ";", None), ("a.csv", "|", None), ("a.txt", "|", "|")],
)
def test_io_delimiters_are_sniffed_or_given(
    tmp_path: Path, crm: pd.DataFrame, name: str, sep: str, delimiter: str | None
) -> None:
    path = tmp_path / name
    crm.to_csv(path, index=False, sep=sep)
    fmt = "csv" if name.endswith(".txt") else None
    frame = read_all(path, delimiter=delimiter, input_format=fmt)
    assert frame.to_dict("list") == crm.to_dict("list")


def test_io_delimiter_must_be_one_character(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    with pytest.raises(ValueError, match="'delimiter' parameter of read_chunks must be one"):
        read_chunks(path, delimiter=";;")


def test_io_options_for_other_formats_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"a": [1]}), path)
    with pytest.raises(ValueError, match="'sheet' parameter of read_chunks applies to Excel"):
        read_chunks(path, sheet="Notes")


def test_io_unknown_extension_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("id\n1\n")
    with pytest.raises(InputFormatError, match=r"Cannot tell the format.*input_format='csv'"):
        read_chunks(path)


def test_io_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"is no file\. Check the path"):
        read_chunks(tmp_path / "missing.csv")


# -- broken CSV ----------------------------------------------------------------------


def test_io_truncated_csv_inside_a_quote_keeps_the_row(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text('id,note,stage\n1,"Lost on price.",Lost\n2,"Never got to the econ')
    frame = read_all(path)
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["note"].tolist() == ["Lost on price.", "Never got to the econ"]
    assert frame.attrs[MALFORMED_ROWS] == {1: "malformed row (unclosed quote)"}


def test_io_truncated_csv_mid_row_pads_the_row(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("id,note,stage\n1,Lost on price.,Lost\n2,Never got")
    frame = read_all(path)
    assert frame.values.tolist() == [["1", "Lost on price.", "Lost"], ["2", "Never got", ""]]
    assert frame.attrs[MALFORMED_ROWS] == {1: "malformed row (too few fields)"}


def test_io_unclosed_quote_mid_file_keeps_later_rows(tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_text(
        'id,note\n1,"fine"\n2,"stray quote\n3,also fine\n4,"two\nlines"\n5,last\n'
    )
    frame = read_all(path)
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5"]
    assert frame["note"].tolist()[2:] == ["also fine", "two\nlines", "last"]
    assert frame.attrs[MALFORMED_ROWS] == {1: "malformed row (unclosed quote)"}


def test_io_extra_fields_are_kept_in_the_last_cell(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("id,note\n1,Lost on price, again\n2,ok\n")
    frame = read_all(path)
    assert frame.values.tolist() == [["1", "Lost on price, again"], ["2", "ok"]]
    assert frame.attrs[MALFORMED_ROWS] == {0: "malformed row (too many fields)"}


def test_io_text_after_closing_quote_is_read_leniently(tmp_path: Path) -> None:
    path = tmp_path / "lenient.csv"
    path.write_text('id,note\n1,"6"7 seats\n2,ok\n')
    frame = read_all(path)
    assert frame.values.tolist() == [["1", "67 seats"], ["2", "ok"]]
    assert frame.attrs[MALFORMED_ROWS] == {}


def test_io_malformed_rows_are_logged_without_their_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cut.csv"
    path.write_text('id,note\n1,ok\n2,"secret jane@example.com')
    with caplog.at_level(logging.WARNING, logger="accountability_nlp.io"):
        list(read_chunks(path))
    assert "line 3: malformed row (unclosed quote)" in caplog.text
    assert "jane@example.com" not in caplog.text


# -- Excel, Parquet, JSONL, SQL, stdin --------------------------------------------------


def write_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Summary"
    sheet.append(["nothing here"])
    notes = book.create_sheet("Lost deals")
    notes.append(["id", "Loss Notes", "Amount"])
    notes.append(["007", "Lost on price.", 7000])
    notes.append([None, None, None])  # a blank row is no record
    notes.append(["008", None, 12.5])
    notes.append(["008", None, 12.5])
    book.save(path)


@pytest.mark.parametrize("sheet", ["Lost deals", 1, "1"])
def test_io_excel_sheet_by_name_or_position(tmp_path: Path, sheet: str | int) -> None:
    path = tmp_path / "crm.xlsx"
    write_workbook(path)
    frame = read_all(path, sheet=sheet, chunk_size=2)
    assert list(frame.columns) == ["id", "Loss Notes", "Amount"]
    assert frame.values.tolist() == [
        ["007", "Lost on price.", 7000],
        ["008", None, 12.5],
        ["008", None, 12.5],
    ]


def test_io_excel_unknown_sheet_lists_sheets(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    write_workbook(path)
    with pytest.raises(InputFormatError, match=r"\['Summary', 'Lost deals'\].*'Lost deals'\?"):
        list(read_chunks(path, sheet="Lost deal"))


def test_io_excel_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("id,note\n")
    with pytest.raises(InputFormatError, match=r"not a readable \.xlsx workbook"):
        list(read_chunks(path))


def test_io_parquet_batches_keep_types(tmp_path: Path) -> None:
    path = tmp_path / "crm.parquet"
    table = pa.table(
        {"id": pa.array([1, None, 3, 4, 5], pa.int32()), "note": ["a", None, "", "d", "e"]}
    )
    pq.write_table(table, path, row_group_size=2)
    chunks = list(read_chunks(path, chunk_size=3))
    assert [len(c) for c in chunks] == [3, 2]
    frame = pd.concat(chunks, ignore_index=True)
    assert str(frame["id"].dtype) == "int32[pyarrow]"
    assert frame["id"].tolist()[2:] == [3, 4, 5]
    assert frame["note"].tolist()[2:] == ["", "d", "e"]


def test_io_empty_parquet_yields_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "note": pa.array([], pa.string())}),
                   path)
    chunks = list(read_chunks(path))
    assert len(chunks) == 1 and chunks[0].empty
    assert list(chunks[0].columns) == ["id", "note"]


def test_io_broken_parquet_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"id": [1, 2]}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputFormatError, match="not a readable Parquet file"):
        list(read_chunks(path))


def test_io_jsonl_keeps_values_and_marks_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "crm.jsonl"
    path.write_text(
        json.dumps({"id": 1, "note": "Lost on price."}) + "\n\n"
        + json.dumps({"id": 2, "note": 42}) + "\n"
        + '{"id": 3, "note": "cut off\n'
        + json.dumps({"id": 4, "note": None, "late": True}) + "\n"
    )
    frame = read_all(path, chunk_size=2)
    assert list(frame.columns) == ["id", "note", "late"]
    assert frame.values.tolist() == [
        [1, "Lost on price.", None],
        [2, 42, None],
        [None, None, None],
        [4, None, True],
    ]
    assert frame.attrs[MALFORMED_ROWS] == {2: "malformed JSON line"}


@pytest.fixture
def crm_db(tmp_path: Path, crm: pd.DataFrame) -> Path:
    path = tmp_path / "crm.db"
    engine = sa.create_engine(sqlite_url(path))
    crm.to_sql("lost_deals", engine, index=False)
    engine.dispose()
    return path


def test_io_sql_table_and_query(crm_db: Path, crm: pd.DataFrame) -> None:
    url = sqlite_url(crm_db)
    assert [len(c) for c in read_chunks(None, sql=url, table="lost_deals", chunk_size=2)] == [
        2, 2, 1
    ]
    assert read_all(None, sql=url, table="lost_deals").to_dict("list") == crm.to_dict("list")
    frame = read_all(None, sql=url, query='SELECT id, "Loss Notes" FROM lost_deals WHERE 0')
    assert list(frame.columns) == ["id", "Loss Notes"] and frame.empty


def test_io_sql_unknown_table_suggests_one(crm_db: Path) -> None:
    with pytest.raises(InputFormatError, match=r"\['lost_deals'\].*Did you mean 'lost_deals'"):
        list(read_chunks(None, sql=sqlite_url(crm_db), table="lost_deal"))


def test_io_sql_bad_query_names_the_database_error(crm_db: Path) -> None:
    with pytest.raises(InputFormatError, match="no such table: nope"):
        list(read_chunks(None, sql=sqlite_url(crm_db), query="SELECT * FROM nope"))


def test_io_sql_missing_database_file(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="No SQLite database at"):
        read_chunks(None, sql=sqlite_url(tmp_path / "nope.db"), table="t")
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sql": "sqlite://", "table": "a", "query": "SELECT 1"}, "exactly one of query="),
        ({"sql": "sqlite://"}, "exactly one of query="),
        ({"table": "a"}, "pass sql= with its SQLAlchemy URL"),
        ({"sql": "not a url", "table": "a"}, "must be a SQLAlchemy database URL"),
    ],
)
def test_io_sql_arguments_are_checked(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_chunks(None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_io_stdin_is_read(
    monkeypatch: pytest.MonkeyPatch, crm: pd.DataFrame, fmt: str
) -> None:
    if fmt == "csv":
        data = crm.to_csv(index=False).encode("cp1252")
    else:
        data = crm.to_json(orient="records", lines=True, force_ascii=False).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_all("-").to_dict("list") == crm.to_dict("list")


# -- writers -------------------------------------------------------------------------


def scored_chunks() -> list[pd.DataFrame]:
    first = pd.DataFrame(
        {
            "id": ["007", "008"],
            "note": ["Lost on price.", "N/A"],
            "label": ["deflection", None],
            "p_ownership": [0.25, float("nan")],
            "needs_review": [True, False],
        }
    )
    second = first.assign(id=["009", "010"], note=["", 'He said "no"\r\nthen left'])
    return [first, second]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_io_writers_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"scored{suffix}"
    writer = open_writer(path)
    for chunk in scored_chunks():
        writer.write(chunk)
    assert not path.exists()  # nothing under the output name before commit
    writer.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    frame = read_all(path)
    assert list(frame.columns) == ["id", "note", "label", "p_ownership", "needs_review"]
    assert [str(v) for v in frame["id"]] == ["007", "008", "009", "010"]
    notes = ["" if v is None else v for v in frame["note"]]
    # XML, inside .xlsx, reads every line end back as "\n"
    last = 'He said "no"\nthen left' if suffix == ".xlsx" else 'He said "no"\r\nthen left'
    assert notes == ["Lost on price.", "N/A", "", last]
    if suffix in (".csv", ".tsv"):
        assert frame["p_ownership"].tolist()[:2] == ["0.25", ""]
    else:
        assert frame["p_ownership"].iloc[0] == 0.25


def test_io_sql_writer_replaces_the_table(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "out.db")
    for _ in range(2):  # the second run replaces the first table
        writer = open_writer(sql=url, table="scores")
        for chunk in scored_chunks():
            writer.write(chunk)
        writer.commit()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        frame = pd.read_sql("SELECT * FROM scores", connection)
        tables = sa.inspect(connection).get_table_names()
    engine.dispose()
    assert tables == ["scores"]
    assert frame["id"].tolist() == ["007", "008", "009", "010"]
    assert frame["p_ownership"].tolist()[0] == 0.25


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_io_aborted_write_leaves_nothing(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"scored{suffix}"
    path.write_text("previous output")
    writer = open_writer(path)
    writer.write(scored_chunks()[0])
    writer.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert path.read_text() == "previous output"


def test_io_aborted_sql_write_leaves_no_table(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "out.db")
    writer = open_writer(sql=url, table="scores")
    writer.write(scored_chunks()[0])
    writer.abort()
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_io_append_writer_resumes_at_offset(tmp_path: Path) -> None:
    path = tmp_path / "scored.csv"
    first, second = scored_chunks()
    writer = open_writer(path)
    writer.write(first)
    offset = writer.sync()
    writer.write(second)  # written, but not recorded: a kill would lose it
    writer.abort(keep_partial=True)
    assert partial_path(path).stat().st_size > offset  # type: ignore[operator]
    resumed = open_writer(path, resume_offset=offset)
    resumed.write(second)
    resumed.commit()
    whole = tmp_path / "whole.csv"
    writer = open_writer(whole)
    writer.write(first)
    writer.write(second)
    writer.commit()
    assert path.read_bytes() == whole.read_bytes()


def test_io_binary_outputs_cannot_be_resumed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Only .csv, .tsv and .jsonl outputs can be resumed"):
        open_writer(tmp_path / "scored.parquet", resume_offset=10)


def test_io_unknown_output_extension(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"must be one of \['.csv'"):
        open_writer(tmp_path / "scored.txt")


def test_io_output_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"does not exist\. Create it first"):
        open_writer(tmp_path / "missing" / "scored.csv")


# Any text except lone surrogates, which no UTF-8 file can hold.
cells = st.text(st.characters(codec="utf-8"), max_size=40)


@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=8))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_io_csv_round_trip_of_any_text(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    path = tmp_path / "any.csv"
    frame = pd.DataFrame(rows, columns=["id", "note"], dtype=object)
    writer = open_writer(path)
    writer.write(frame)
    writer.commit()
    back = read_all(path, delimiter=",")
    assert back.values.tolist() == frame.values.tolist()
    assert back.attrs[MALFORMED_ROWS] == {}


def test_io_a_nul_byte_in_a_note_does_not_make_the_file_utf16(tmp_path: Path) -> None:
    # Regression: one NUL byte used to be read as a sign of UTF-16 and the
    # whole file came out as garbage with no rows.
    path = tmp_path / "nul.csv"
    path.write_bytes(b"id,note\r\n,lost on price\x00\r\n2,we never called back\r\n")
    back = read_all(path)
    assert back.values.tolist() == [["", "lost on price\x00"], ["2", "we never called back"]]
