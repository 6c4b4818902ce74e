"""Tests of the ``accountability-nlp score`` command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import accountability_nlp as anlp
from accountability_nlp.checkpoint import progress_path
from accountability_nlp.cli import app
from accountability_nlp.io import partial_path, read_chunks

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, small_model: anlp.Model) -> Path:
    return small_model.save(tmp_path_factory.mktemp("model") / "small")


@pytest.fixture
def crm_csv(tmp_path: Path, corpus: pd.DataFrame) -> Path:
    notes = corpus["text"].head(40).tolist()
    frame = pd.DataFrame({"id": [f"{i:03d}" for i in range(40)], "Loss Notes": notes})
    frame.loc[5, "Loss Notes"] = ""
    path = tmp_path / "crm.csv"
    frame.to_csv(path, index=False)
    return path


def rows(path: Path) -> pd.DataFrame:
    return pd.concat(read_chunks(path), ignore_index=True)


def test_cli_score_sample_export(tmp_path: Path, sample_export: Path) -> None:
    # The README's command, with the bundled model.
    output = tmp_path / "scored.csv"
    result = runner.invoke(
        app, ["score", str(sample_export), "--text-column", "Loss Notes", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    counts = re.match(r"505 rows in [\d.]+ s \([\d,]+ notes/s\): (\d+) scored, (\d+) unscorable",
                      lines[0])
    assert counts is not None, lines[0]
    assert int(counts[1]) + int(counts[2]) == 505
    assert "26 empty note" in lines[0]
    assert lines[1].startswith("Labels: deflection ")
    assert "ownership" in lines[1] and "victim" in lines[1] and "%" in lines[1]
    assert lines[2] == f"Output: {output}"
    scored = rows(output)
    source = rows(sample_export)
    assert len(scored) == 505
    assert scored[list(source.columns)].equals(source)
    assert "chunk 1: 505 rows so far" in result.stderr


def test_cli_score_default_output_goes_to_the_current_folder(
    tmp_path: Path, crm_csv: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(
        app, ["score", str(crm_csv), "--text-column", "Loss Notes", "--model", str(model_dir),
              "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert (work / "crm.scored.csv").is_file()
    assert f"Output: {work / 'crm.scored.csv'}" in result.stdout
    assert result.stderr == ""


def test_cli_score_wrong_column_is_one_red_line(tmp_path: Path, crm_csv: Path) -> None:
    result = runner.invoke(
        app, ["score", str(crm_csv), "--text-column", "Loss Note", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: The 'text_column' parameter of score_file must be one of ['id', 'Loss Notes']. "
        "Got 'Loss Note' instead. Did you mean 'Loss Notes'?"
    ]
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "spark"], "--engine must be one of ['local', 'dask']"),
        (["--engine", "dask", "--resume"], "--resume work only with --engine local"),
        (["--scheduler", "tcp://localhost:8786"], "--scheduler needs --engine dask"),
        (["--format", "xls"], "'input_format' parameter of read_chunks must be one of"),
        (["-o", "scored.txt"], "Cannot tell which format to write"),
    ],
)
def test_cli_score_user_errors_exit_2(
    crm_csv: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(crm_csv.parent)
    result = runner.invoke(app, ["score", str(crm_csv), "--text-column", "Loss Notes", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_score_reads_stdin(tmp_path: Path, crm_csv: Path, model_dir: Path) -> None:
    output = tmp_path / "scored.jsonl"
    result = runner.invoke(
        app,
        ["score", "-", "--text-column", "Loss Notes", "--model", str(model_dir), "-o",
         str(output), "--delimiter", "\\t"],
        input=crm_csv.read_text().replace(",", "\t"),
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in records] == [f"{i:03d}" for i in range(40)]
    assert records[5]["status"] == "unscorable: empty note"


def test_cli_score_sql_in_and_out(tmp_path: Path, crm_csv: Path, model_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    rows(crm_csv).to_sql("lost_deals", engine, index=False)
    result = runner.invoke(
        app,
        ["score", "--sql", url, "--query", "SELECT * FROM lost_deals ORDER BY id",
         "--text-column", "Loss Notes", "--model", str(model_dir), "--output-table", "scores"],
    )
    assert result.exit_code == 0, result.output
    assert "Output: table 'scores' in sqlite:///" in result.stdout
    with engine.connect() as connection:
        scored = pd.read_sql("SELECT * FROM scores", connection)
    engine.dispose()
    assert len(scored) == 40 and scored["status"].iloc[5] == "unscorable: empty note"


def dask_engine_available() -> bool:
    try:
        import distributed  # noqa: F401

        import accountability_nlp.dask_engine  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not dask_engine_available(), reason="dask engine not installed")
def test_cli_score_dask_engine_matches_local(
    tmp_path: Path, crm_csv: Path, model_dir: Path
) -> None:
    common = ["--text-column", "Loss Notes", "--model", str(model_dir)]
    local = runner.invoke(app, ["score", str(crm_csv), "-o", str(tmp_path / "l.csv"), *common])
    dask = runner.invoke(
        app, ["score", str(crm_csv), "-o", str(tmp_path / "d.csv"), "--engine", "dask", *common]
    )
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    assert rows(tmp_path / "l.csv")["label"].tolist() == rows(tmp_path / "d.csv")["label"].tolist()
    assert "40 rows in " in dask.stdout


@pytest.mark.slow
def test_cli_score_resume_after_kill_is_byte_identical(
    tmp_path: Path, corpus: pd.DataFrame, model_dir: Path, root: Path
) -> None:
    notes = corpus["text"].head(3000).tolist()
    source = tmp_path / "big.csv"
    pd.DataFrame({"id": range(len(notes)), "note": notes}).to_csv(source, index=False)
    command = [
        sys.executable, "-m", "accountability_nlp", "score", str(source), "--text-column",
        "note", "--model", str(model_dir), "--chunk-size", "100", "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(root)}
    output = tmp_path / "scored.csv"
    state = progress_path(output)
    process = subprocess.Popen([*command, "-o", str(output)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    done = 0
    while done < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            done = json.loads(state.read_text())["chunks_done"]
        except (OSError, ValueError, KeyError):
            continue
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    assert not output.exists()
    assert partial_path(output).is_file()
    killed_at = json.loads(state.read_text())["chunks_done"]
    assert 3 <= killed_at < 30

    resumed = subprocess.run([*command, "-o", str(output), "--resume"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed after {killed_at * 100:,} rows" in resumed.stdout
    whole = subprocess.run([*command, "-o", str(tmp_path / "whole.csv")], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    assert output.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "scored.csv", "whole.csv"]
