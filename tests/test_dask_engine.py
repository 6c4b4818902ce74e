"""Tests of the Dask engine on a real two-process local cluster."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import accountability_nlp as anlp
from accountability_nlp import dask_engine
from accountability_nlp.errors import ColumnNotFoundError, InputFormatError

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

TEXT = "Loss Notes"
MISSING = 'score_dask needs Dask. Install it with: pip install "accountability-nlp[dask]"'


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """Two single-threaded worker processes, shared by this module's tests."""
    # ":0": the scheduler's HTTP server on a free port, not 8787, which may be taken.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def export_frame(sample_export: Path) -> pd.DataFrame:
    return pd.read_csv(sample_export, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def expected(export_frame: pd.DataFrame, default_model: anlp.Model) -> pd.DataFrame:
    return anlp.score_frame(export_frame, default_model, text_column=TEXT)


def assert_same_scores(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    # Dask stores text columns as its own string dtype; values must match.
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True),
        check_dtype=False, rtol=1e-9,
    )


@pytest.mark.slow
def test_dask_engine_matches_local_scoring(client, export_frame, expected):
    ddf = dd.from_pandas(export_frame, npartitions=8)
    scored = anlp.score_dask(ddf, text_column=TEXT)
    assert list(scored.columns) == list(expected.columns)
    result = scored.compute()
    assert_same_scores(result, expected)
    assert list(result.index) == list(export_frame.index)


@pytest.mark.slow
def test_dask_engine_meta_matches_partitions(client, export_frame):
    scored = anlp.score_dask(dd.from_pandas(export_frame, npartitions=4), text_column=TEXT,
                             prefix="anlp_")
    first = scored.partitions[0].compute()
    assert list(scored._meta.columns) == list(first.columns)
    assert scored._meta.dtypes.iloc[-7:].tolist() == first.dtypes.iloc[-7:].tolist()
    assert first.columns[-1] == "anlp_status"


@pytest.mark.slow
def test_dask_engine_loads_model_once_per_worker(client, export_frame):
    in_client = dask_engine._load_counts()
    anlp.score_dask(dd.from_pandas(export_frame, npartitions=12), text_column=TEXT).compute()
    anlp.score_dask(dd.from_pandas(export_frame, npartitions=5), text_column=TEXT).compute()
    counts = client.run(dask_engine._load_counts)
    assert len(counts) == 2
    # 17 partitions on two workers: each loaded the bundled model at most once.
    default = [loads.get(dask_engine._DEFAULT_KEY, 0) for loads in counts.values()]
    assert max(default) == 1
    # The client loaded nothing for the workers.
    assert dask_engine._load_counts() == in_client


@pytest.mark.slow
def test_dask_engine_reloads_model_saved_again_in_place(client, export_frame, small_model,
                                                        tmp_path):
    folder = tmp_path / "model"
    notes = export_frame.head(60)
    ddf = dd.from_pandas(notes, npartitions=2)
    small_model.save(folder)
    first = anlp.score_dask(ddf, text_column=TEXT, model_path=folder).compute()
    assert_same_scores(first, anlp.score_frame(notes, small_model, text_column=TEXT))
    # Same path, different model: every note now needs review.
    strict = anlp.Model(small_model.estimator, small_model.meta, review_threshold=1.01)
    strict.save(folder, overwrite=True)
    second = anlp.score_dask(ddf, text_column=TEXT, model_path=folder).compute()
    scored = second["status"] == "scored"
    assert second.loc[scored, "needs_review"].all()
    assert not first.loc[scored, "needs_review"].all()


@pytest.mark.slow
@pytest.mark.parametrize(("in_suffix", "out_suffix"), [(".csv", ".csv"), (".parquet", ".parquet"),
                                                       (".jsonl", ".csv")])
def test_dask_engine_score_file_round_trip(
    client, export_frame, expected, tmp_path, in_suffix, out_suffix
):
    source = tmp_path / f"export{in_suffix}"
    if in_suffix == ".csv":
        export_frame.to_csv(source, index=False)
    elif in_suffix == ".parquet":
        export_frame.to_parquet(source, index=False)
    else:
        export_frame.to_json(source, orient="records", lines=True, force_ascii=False)
    target = tmp_path / f"scored{out_suffix}"
    # A small blocksize makes several partitions, some cut near quoted line breaks.
    summary = dask_engine.score_file_dask(
        source, target, text_column=TEXT, scheduler=client.scheduler.address, blocksize=4096
    )
    assert summary.rows == len(export_frame)
    assert summary.scored + sum(summary.unscorable.values()) == len(export_frame)
    assert summary.scored == int((expected["status"] == "scored").sum())
    assert summary.labels == expected["label"].value_counts().to_dict()
    assert summary.output == str(target)
    if out_suffix == ".csv":
        # CSV writes None and NaN as empty cells: read those back as missing.
        empty = {c: [""] for c in ["label", "p_ownership", "p_deflection", "p_victim"]}
        got = pd.read_csv(target, dtype=dict.fromkeys([*export_frame.columns, "label"], str),
                          keep_default_na=False, na_values=empty)
    else:
        got = pd.read_parquet(target)
    got["label"] = got["label"].astype(object).where(got["label"].notna(), None)
    assert_same_scores(got.astype({"needs_review": bool}), expected)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


@pytest.mark.slow
def test_dask_engine_score_file_local_cluster(sample_export, expected, tmp_path):
    target = tmp_path / "scored.jsonl"
    summary = dask_engine.score_file_dask(sample_export, target, text_column=TEXT)
    got = pd.read_json(target, lines=True, dtype=False)
    assert summary.rows == len(got) == len(expected)
    assert got["status"].tolist() == expected["status"].tolist()
    assert got["label"].astype(object).where(got["label"].notna(), None).tolist() == (
        expected["label"].tolist()
    )


def test_dask_engine_rejects_unknown_column(export_frame):
    ddf = dd.from_pandas(export_frame, npartitions=2)
    with pytest.raises(ColumnNotFoundError, match=r"'text_column' parameter of score_dask .* "
                                                  r"Got 'Loss Note' instead. Did you mean"):
        anlp.score_dask(ddf, text_column="Loss Note")


def test_dask_engine_rejects_clashing_columns(export_frame):
    ddf = dd.from_pandas(export_frame.assign(label="x"), npartitions=2)
    with pytest.raises(InputFormatError, match="prefix='anlp_'"):
        anlp.score_dask(ddf, text_column=TEXT)


def test_dask_engine_rejects_pandas_frame(export_frame):
    with pytest.raises(TypeError, match="'ddf' parameter of score_dask must be a dask"):
        anlp.score_dask(export_frame, text_column=TEXT)


def test_dask_engine_rejects_unknown_suffix(tmp_path):
    source = tmp_path / "export.xlsx"
    source.write_bytes(b"")
    with pytest.raises(InputFormatError, match=r"'input' parameter .* Got 'export.xlsx'"):
        dask_engine.score_file_dask(source, tmp_path / "out.csv", text_column=TEXT)
    with pytest.raises(InputFormatError, match=r"'output' parameter .* Got 'out.txt'"):
        dask_engine.score_file_dask(tmp_path / "in.csv", tmp_path / "out.txt", text_column=TEXT)


def test_dask_engine_rejects_missing_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="'input' parameter of score_file_dask"):
        dask_engine.score_file_dask(tmp_path / "none.csv", tmp_path / "o.csv", text_column=TEXT)


def test_dask_engine_rejects_bad_blocksize(sample_export, tmp_path):
    with pytest.raises(ValueError, match=r"'blocksize' parameter .* Got 'big' instead"):
        dask_engine.score_file_dask(sample_export, tmp_path / "o.csv", text_column=TEXT,
                                    blocksize="big")


def test_dask_engine_rejects_non_utf8_csv(tmp_path):
    source = tmp_path / "latin1.csv"
    source.write_bytes("id,note\n1,caf\u00e9 lost on price\n".encode("latin-1"))
    header, ranges = dask_engine._csv_ranges(source, 1024)
    with pytest.raises(InputFormatError, match=r"must be UTF-8 text.*iconv"):
        dask_engine._read_csv_part(ranges[0], path=str(source), header=header)


@pytest.mark.parametrize("blocksize", [1, 7, 64, 1000])
def test_dask_engine_csv_ranges_keep_quoted_line_breaks(tmp_path, blocksize):
    frame = pd.DataFrame({
        "id": [str(i) for i in range(40)],
        "note": [f'Line one {i}\nline "two"\r\n, three' if i % 3 else f"plain {i}"
                 for i in range(40)],
    })
    source = tmp_path / "notes.csv"
    frame.to_csv(source, index=False)
    header, ranges = dask_engine._csv_ranges(source, blocksize)
    parts = [dask_engine._read_csv_part(r, path=str(source), header=header) for r in ranges]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), frame, check_dtype=False)
    assert ranges[-1][1] == source.stat().st_size


def test_dask_engine_missing_dask_message(monkeypatch, export_frame):
    # A None entry in sys.modules makes "import dask.dataframe" raise ImportError.
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"^score_dask needs Dask\. Install it with: pip "
                                          r'install "accountability-nlp\[dask\]"$') as info:
        anlp.score_dask(export_frame, text_column=TEXT)
    assert str(info.value) == MISSING


def test_dask_engine_missing_distributed_message(monkeypatch, sample_export, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'^score_file_dask needs Dask\. .*\[dask\]"$'):
        dask_engine.score_file_dask(sample_export, tmp_path / "o.csv", text_column=TEXT)


def run_python(code: str) -> str:
    """Stdout of ``code`` run in a fresh interpreter from the repository root."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parent.parent).stdout


@pytest.mark.slow
def test_dask_engine_not_imported_with_package():
    # Only the import: loading a model runs skops, which walks every
    # scikit-learn module and so imports dask.array when Dask is installed.
    code = (
        "import sys, accountability_nlp as a\n"
        "print(sorted(m for m in ('accountability_nlp.dask_engine', 'dask',"
        " 'distributed') if m in sys.modules))\n"
        "print(callable(a.score_dask))\n"
    )
    assert run_python(code).split("\n")[:2] == ["[]", "True"]


@pytest.mark.slow
def test_dask_engine_package_imports_without_dask():
    code = (
        "import sys\n"
        "for name in ('dask', 'dask.dataframe', 'distributed'): sys.modules[name] = None\n"
        "import accountability_nlp as a\n"
        "try:\n"
        "    a.score_dask(None, text_column='note')\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert run_python(code).strip() == MISSING
