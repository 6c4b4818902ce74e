"""Tests of the core CLI commands: predict, train, evaluate (accountability_nlp.cli)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from _anlp_payloads import tampered_head
from typer.testing import CliRunner

import accountability_nlp as anlp
from accountability_nlp import training
from accountability_nlp.cli import app
from accountability_nlp.labels import LABELS

runner = CliRunner()

NOTE = "I never confirmed budget."


@pytest.fixture(scope="module")
def small_folder(small_model: anlp.Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_model.save(tmp_path_factory.mktemp("cli") / "small")


@pytest.fixture(scope="module")
def labeled(corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small labeled CSV with a split column: 60 train, 15 test rows."""
    train = corpus[corpus["split"] == "train"].groupby("label").head(20)
    test = corpus[corpus["split"] == "test"].groupby("label").head(5)
    path = tmp_path_factory.mktemp("cli-data") / "labeled.csv"
    pd.concat([train, test])[["id", "text", "label", "split"]].to_csv(path, index=False)
    return path


@pytest.fixture
def fast_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the train command fit a narrow, uncalibrated model (seconds, not minutes).

    The command itself and everything it calls run unchanged; only the
    estimator parameters, which the CLI does not expose, are narrowed.
    """
    fast = functools.partial(training.train_from_file, calibration=None, n_features=2**12)
    monkeypatch.setattr(training, "train_from_file", fast)


# -- predict -------------------------------------------------------------------------


def test_cli_core_predict_arguments() -> None:
    result = runner.invoke(app, ["predict", NOTE, "Lost on price. Competitor was cheaper."])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    label, probability = lines[0].split("\t")[:2]
    assert label == "ownership"
    assert 0.0 < float(probability.split()[0]) <= 1.0
    assert lines[1].split("\t")[0] in LABELS


def test_cli_core_predict_stdin_one_note_per_line() -> None:
    result = runner.invoke(app, ["predict"], input=f"{NOTE}\n\nNothing I could do.\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ownership\t")
    assert lines[1] == "unscorable: empty note\tnan"


def test_cli_core_predict_json() -> None:
    result = runner.invoke(app, ["predict", "--json", NOTE, " "])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["label"] == "ownership"
    assert set(first["probabilities"]) == set(LABELS)
    assert isinstance(first["needs_review"], bool)
    assert first["status"] == "scored"
    assert first["evidence"] is None
    assert second["label"] is None
    assert second["status"] == "unscorable: empty note"


def test_cli_core_predict_json_explain() -> None:
    result = runner.invoke(app, ["predict", "--json", "--explain", NOTE])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["evidence"]
    for evidence in payload["evidence"]:
        assert set(evidence) == {"text", "start", "end", "signal", "weight"}
        assert NOTE[evidence["start"] : evidence["end"]] == evidence["text"]


def test_cli_core_predict_explain_text() -> None:
    result = runner.invoke(app, ["predict", "--explain", "Nothing I could do, legal killed it."])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("victim (")
    assert "'Nothing I could do'" in result.stdout


def test_cli_core_predict_with_a_model_folder(small_folder: Path, small_model: anlp.Model) -> None:
    result = runner.invoke(app, ["predict", "--model", str(small_folder), "--json", NOTE])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label"] == small_model.predict([NOTE])[0]


def test_cli_core_predict_missing_model(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", "-m", str(tmp_path / "nope"), NOTE])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: No model folder at {str(tmp_path / 'nope')!r}.")


def test_cli_core_predict_refuses_an_untrusted_model(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran.txt"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "meta.json").write_text('{"format_version": 1}')
    (folder / "head.skops").write_bytes(tampered_head(str(marker)))
    result = runner.invoke(app, ["predict", "-m", str(folder), NOTE])
    assert result.exit_code == 2
    assert "Error: Refusing to load" in result.stderr
    assert "_anlp_payloads.SetStatePayload" in result.stderr
    assert not marker.exists()


@pytest.mark.slow
def test_cli_core_predict_subprocess(root: Path) -> None:
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "accountability_nlp", "predict", NOTE],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    label, probability = done.stdout.strip().split("\t")[:2]
    assert label == "ownership"
    assert 0.0 < float(probability.split()[0]) <= 1.0


# -- train ---------------------------------------------------------------------------


@pytest.mark.usefixtures("fast_training")
def test_cli_core_train(labeled: Path, tmp_path: Path) -> None:
    output = tmp_path / "model"
    result = runner.invoke(
        app, ["train", str(labeled), "-o", str(output), "--name", "cli-model", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Trained on 60 notes; model saved to {output}"
    assert lines[1].startswith("  test: macro-F1 ")
    assert lines[1].endswith("(n=15)")
    model = anlp.load(output)
    assert model.meta["name"] == "cli-model"
    assert model.meta["training"]["seed"] == 2
    assert (output / "README.md").is_file()


@pytest.mark.usefixtures("fast_training")
def test_cli_core_train_overwrite(labeled: Path, tmp_path: Path) -> None:
    output = tmp_path / "model"
    assert runner.invoke(app, ["train", str(labeled), "-o", str(output)]).exit_code == 0
    refused = runner.invoke(app, ["train", str(labeled), "-o", str(output)])
    assert refused.exit_code == 2
    assert f"Error: Model folder {str(output)!r} already exists." in refused.stderr
    replaced = runner.invoke(app, ["train", str(labeled), "-o", str(output), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output


@pytest.mark.usefixtures("fast_training")
def test_cli_core_train_columns_and_eval(labeled: Path, tmp_path: Path, root: Path) -> None:
    renamed = tmp_path / "renamed.csv"
    frame = pd.read_csv(labeled).rename(columns={"text": "Loss Notes", "label": "Stance"})
    frame.drop(columns="split").to_csv(renamed, index=False)
    rubric = tmp_path / "rubric.csv"
    pd.read_csv(root / "data" / "rubric_cases.csv").head(12).to_csv(rubric, index=False)
    result = runner.invoke(
        app,
        ["train", str(renamed), "-o", str(tmp_path / "m"), "--text-column", "Loss Notes",
         "--label-column", "Stance", "--test-size", "0.2", "--eval", str(rubric)],
    )
    assert result.exit_code == 0, result.output
    assert "Trained on 60 notes" in result.stdout
    assert "  rubric: macro-F1 " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text-column", "Loss Note"], "Error: The 'text_column' parameter of read_labeled"),
        (["--label-column", "lable"], "Did you mean 'label'?"),
    ],
)
def test_cli_core_train_bad_columns(
    labeled: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["train", str(labeled), "-o", str(tmp_path / "m"), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "m").exists()


def test_cli_core_train_bad_files(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["train", str(tmp_path / "none.csv"), "-o", str(tmp_path / "m")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("Error: ")
    (tmp_path / "notes.txt").write_text("text,label\n")
    wrong = runner.invoke(app, ["train", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "m")])
    assert wrong.exit_code == 2
    assert "expected a .csv or .jsonl file, got '.txt'" in wrong.stderr


def test_cli_core_train_needs_output(labeled: Path) -> None:
    result = runner.invoke(app, ["train", str(labeled)])
    assert result.exit_code == 2
    assert "--output" in result.output


# -- evaluate --------------------------------------------------------------------------


def test_cli_core_evaluate(labeled: Path) -> None:
    result = runner.invoke(app, ["evaluate", str(labeled), "--split", "test"])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"### {labeled}: macro-F1 ")
    assert first.endswith("(n=15)")
    assert "Confusion matrix (rows: true, columns: predicted)" in result.stdout


def test_cli_core_evaluate_json_with_rules(root: Path, small_folder: Path) -> None:
    rubric = root / "data" / "rubric_cases.csv"
    result = runner.invoke(app, ["evaluate", str(rubric), "--json", "-m", str(small_folder)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == len(pd.read_csv(rubric))
    assert "by_rule" in metrics
    assert set(metrics["per_class"]) == set(LABELS)


def test_cli_core_evaluate_errors(labeled: Path, tmp_path: Path) -> None:
    no_split = tmp_path / "no_split.csv"
    pd.read_csv(labeled).drop(columns="split").to_csv(no_split, index=False)
    result = runner.invoke(app, ["evaluate", str(no_split), "--split", "test"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {str(no_split)!r} has no 'split' column to select 'test' from."
    )
    empty = runner.invoke(app, ["evaluate", str(labeled), "--split", "holdout"])
    assert empty.exit_code == 2
    assert "has no rows with split 'holdout'." in empty.stderr
    missing_model = runner.invoke(app, ["evaluate", str(labeled), "-m", str(tmp_path / "no")])
    assert missing_model.exit_code == 2
    assert "Error: No model folder at" in missing_model.stderr
    missing_data = runner.invoke(app, ["evaluate", str(tmp_path / "none.csv")])
    assert missing_data.exit_code == 2
    assert missing_data.stderr.startswith("Error: ")
