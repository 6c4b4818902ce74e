"""Tests of training and evaluation (accountability_nlp.training)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import accountability_nlp as anlp
from accountability_nlp.labels import LABELS
from accountability_nlp.model import Model
from accountability_nlp.training import (
    data_fingerprint,
    evaluate,
    evaluate_file,
    read_labeled,
    train_from_file,
)

# Narrow hashed space and no calibration: a fit takes well under a second.
FAST: dict[str, Any] = {"calibration": None, "n_features": 2**12}


@pytest.fixture(scope="module")
def notes(corpus: pd.DataFrame) -> pd.DataFrame:
    """90 training notes (30 per label) and 30 test notes, with a split column."""
    train = corpus[corpus["split"] == "train"].groupby("label").head(30)
    test = corpus[corpus["split"] == "test"].groupby("label").head(10)
    return pd.concat([train, test], ignore_index=True)[["id", "text", "label", "split"]]


@pytest.fixture(scope="module")
def fast_model(notes: pd.DataFrame) -> Model:
    train = notes[notes["split"] == "train"]
    return anlp.train(train["text"], train["label"], name="fast", **FAST)


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


# -- train ---------------------------------------------------------------------


def test_training_train_returns_a_fitted_model_with_meta(
    fast_model: Model, notes: pd.DataFrame
) -> None:
    train = notes[notes["split"] == "train"]
    assert isinstance(fast_model, Model)
    assert fast_model.predict(["I never sent the recap."])[0] in LABELS
    meta = fast_model.meta
    assert meta["name"] == "fast"
    assert meta["labels"] == list(LABELS)
    assert meta["classes"] == fast_model.classes_.tolist()
    assert meta["params"]["n_features"] == 2**12
    assert meta["params"]["ngram_range"] == list(anlp.AccountabilityClassifier().ngram_range)
    assert meta["training"] == {
        "source": "passed in memory",
        "n_notes": 90,
        "label_counts": {"ownership": 30, "deflection": 30, "victim": 30},
        "data_sha256": data_fingerprint(train["text"].tolist(), train["label"].tolist()),
        "seed": 0,
    }
    assert set(meta["versions"]) >= {"python", "spacy", "scikit-learn", "skops"}
    json.dumps(meta)  # everything in meta must be JSON


def test_training_train_and_save(fast_model: Model, tmp_path: Path) -> None:
    path = fast_model.save(tmp_path / "model")
    assert anlp.load(path).predict(["Legal killed it."]) == fast_model.predict(["Legal killed it."])


def test_training_accepts_label_enum_members(notes: pd.DataFrame) -> None:
    train = notes[notes["split"] == "train"]
    model = anlp.train(train["text"], [anlp.Label(label) for label in train["label"]], **FAST)
    assert model.meta["training"]["label_counts"]["victim"] == 30


def test_training_data_fingerprint_depends_on_order_and_labels() -> None:
    base = data_fingerprint(["a", "b"], ["victim", "ownership"])
    assert base == data_fingerprint(["a", "b"], ["victim", "ownership"])
    assert base != data_fingerprint(["b", "a"], ["ownership", "victim"])
    assert base != data_fingerprint(["a", "b"], ["victim", "victim"])
    # The separators keep "ab" + "c" apart from "a" + "bc".
    assert data_fingerprint(["ab"], ["c"]) != data_fingerprint(["a"], ["bc"])


def test_training_unknown_labels_with_hint() -> None:
    expected = (
        "train got labels outside ['ownership', 'deflection', 'victim']: "
        "'Victim' (did you mean 'victim'?), 'blame', 'ownrship' (did you mean 'ownership'?). "
        "Fix or remove those rows; see the README for the label definitions."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        anlp.train(["a", "b", "c", "d"], ["Victim", "ownrship", "blame", "victim"])


def test_training_unknown_labels_lists_at_most_five() -> None:
    labels = [f"label{i}" for i in range(8)]
    with pytest.raises(ValueError, match=r"'label4'\. Fix") as info:
        anlp.train(["a note"] * 8, labels)
    assert "label5" not in str(info.value)


def test_training_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match=r"^train got 2 notes but 3 labels\.$"):
        anlp.train(["a", "b"], ["victim", "ownership", "victim"])


@pytest.mark.parametrize("bad", ["", "   ", None, 3.0])
def test_training_empty_notes_are_refused(bad: Any) -> None:
    expected = (
        "train got 1 notes that are empty or not text (first at position 1). "
        "Remove them from the training data."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        anlp.train(["I lost it.", bad, "They lost it."], ["ownership", "victim", "deflection"])


def test_training_one_label_is_refused() -> None:
    expected = "train needs notes of at least two labels; got only ['ownership']."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        anlp.train(["I lost it.", "I missed it."], ["ownership", "ownership"])


def test_training_bare_string_labels_are_refused() -> None:
    with pytest.raises(TypeError, match=r"^train expects a list of notes, got a single string"):
        anlp.train(["I lost it."], "ownership")


def test_training_calibration_parameter_message(notes: pd.DataFrame) -> None:
    expected = (
        "The 'calibration' parameter of AccountabilityClassifier must be one of "
        "['temperature', 'sigmoid', 'isotonic', None]. Got 'platt' instead."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        anlp.train(notes["text"], notes["label"], calibration="platt")


def test_training_unknown_parameter(notes: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        anlp.train(notes["text"], notes["label"], bogus=1)


@pytest.mark.slow
def test_training_is_reproducible(corpus: pd.DataFrame) -> None:
    sample = corpus[corpus["split"] == "train"].groupby("label").head(100)
    held_out = corpus[corpus["split"] == "dev"]["text"].head(200).tolist()
    # Calibration draws shuffled folds: the seed must pin them.
    settings: dict[str, Any] = {
        "calibration": "temperature",
        "cv": 3,
        "n_features": 2**14,
        "random_state": 7,
    }
    first = anlp.train(sample["text"], sample["label"], **settings)
    second = anlp.train(sample["text"], sample["label"], **settings)
    assert first.predict(held_out) == second.predict(held_out)
    np.testing.assert_array_equal(first.predict_proba(held_out), second.predict_proba(held_out))
    assert first.meta["training"] == second.meta["training"]


# -- evaluate --------------------------------------------------------------------


def test_training_evaluate_metrics(fast_model: Model, notes: pd.DataFrame) -> None:
    test = notes[notes["split"] == "test"]
    metrics = evaluate(fast_model, test["text"], test["label"])
    predicted = fast_model.predict(test["text"])
    assert metrics["n"] == 30
    assert metrics["accuracy"] == pytest.approx(np.mean(np.array(predicted) == test["label"]))
    assert 0.0 <= metrics["macro_f1"] <= 1.0
    assert list(metrics["per_class"]) == list(LABELS)
    assert sum(row["support"] for row in metrics["per_class"].values()) == 30
    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert metrics["confusion_matrix"]["labels"] == list(LABELS)
    assert matrix.sum() == 30
    assert np.trace(matrix) == round(metrics["accuracy"] * 30)
    assert "by_rule" not in metrics
    json.dumps(metrics)


def test_training_evaluate_by_rule(fast_model: Model) -> None:
    texts = ["I never sent the recap, my miss.", "   ", "Legal killed it, not on us."]
    labels = ["ownership", "victim", "deflection"]
    rules = ["r1", "r2", "r1"]
    metrics = evaluate(fast_model, texts, labels, rules=rules)
    predicted = [p or "unscorable" for p in fast_model.predict(texts)]
    assert predicted[1] == "unscorable"  # an empty note counts as a miss
    assert metrics["by_rule"]["r2"] == {"passed": 0, "cases": 1}
    assert metrics["by_rule"]["r1"]["cases"] == 2
    assert {"index": 1, "rule": "r2", "expected": "victim", "predicted": "unscorable"} in (
        metrics["failures"]
    )
    assert len(metrics["failures"]) == sum(t != p for t, p in zip(labels, predicted, strict=True))


def test_training_evaluate_unknown_labels(fast_model: Model) -> None:
    expected = r"^evaluate got labels outside .*'Ownershp' \(did you mean 'ownership'\?\)"
    with pytest.raises(ValueError, match=expected):
        evaluate(fast_model, ["I lost it."], ["Ownershp"])


# -- files ------------------------------------------------------------------------


def test_training_read_labeled_csv_and_jsonl(notes: pd.DataFrame, tmp_path: Path) -> None:
    renamed = notes.rename(columns={"text": "Loss Notes", "label": "Stance"})
    csv = _csv(renamed, tmp_path / "notes.csv")
    jsonl = tmp_path / "notes.JSONL"
    renamed.to_json(jsonl, orient="records", lines=True)
    for path in (csv, jsonl):
        frame = read_labeled(path, text_column="Loss Notes", label_column="Stance")
        assert list(frame.columns) == ["id", "text", "label", "split"]
        assert frame["text"].tolist() == notes["text"].tolist()


@pytest.mark.parametrize(("name", "shown"), [("notes.txt", "'.txt'"), ("notes", "'no extension'")])
def test_training_read_labeled_unknown_extension(tmp_path: Path, name: str, shown: str) -> None:
    path = tmp_path / name
    path.write_text("text,label\n")
    expected = (
        f"Cannot read labeled notes from {str(path)!r}: expected a .csv or .jsonl file, "
        f"got {shown}."
    )
    with pytest.raises(anlp.InputFormatError, match=f"^{re.escape(expected)}$"):
        read_labeled(path)


def test_training_read_labeled_missing_column_with_hint(
    notes: pd.DataFrame, tmp_path: Path
) -> None:
    path = _csv(notes, tmp_path / "notes.csv")
    expected = (
        "The 'text_column' parameter of read_labeled must be one of "
        "['id', 'text', 'label', 'split']. Got 'txt' instead. Did you mean 'text'?"
    )
    with pytest.raises(anlp.InputFormatError, match=f"^{re.escape(expected)}$"):
        read_labeled(path, text_column="txt")
    expected = (
        "The 'label_column' parameter of read_labeled must be one of "
        "['id', 'text', 'label', 'split']. Got 'stance' instead."
    )
    with pytest.raises(anlp.InputFormatError, match=f"^{re.escape(expected)}$"):
        read_labeled(path, label_column="stance")


def test_training_evaluate_file_split(
    fast_model: Model, notes: pd.DataFrame, tmp_path: Path
) -> None:
    path = _csv(notes, tmp_path / "notes.csv")
    assert evaluate_file(fast_model, path, split="test")["n"] == 30
    assert evaluate_file(fast_model, path)["n"] == 120
    expected = f"{str(path)!r} has no rows with split 'validation'."
    with pytest.raises(anlp.InputFormatError, match=f"^{re.escape(expected)}$"):
        evaluate_file(fast_model, path, split="validation")


def test_training_evaluate_file_without_split_column(
    fast_model: Model, notes: pd.DataFrame, tmp_path: Path
) -> None:
    path = _csv(notes.drop(columns="split"), tmp_path / "notes.csv")
    expected = f"{str(path)!r} has no 'split' column to select 'test' from."
    with pytest.raises(anlp.InputFormatError, match=f"^{re.escape(expected)}$"):
        evaluate_file(fast_model, path, split="test")


def test_training_evaluate_file_rules(fast_model: Model, root: Path) -> None:
    metrics = evaluate_file(fast_model, root / "data" / "rubric_cases.csv")
    cases = pd.read_csv(root / "data" / "rubric_cases.csv")
    assert metrics["n"] == len(cases)
    assert sum(r["cases"] for r in metrics["by_rule"].values()) == len(cases)
    assert set(metrics["by_rule"]) == set(cases["rule"])


def test_training_train_from_file_uses_the_split(
    notes: pd.DataFrame, tmp_path: Path, root: Path
) -> None:
    data = _csv(notes, tmp_path / "notes.csv")
    rubric = _csv(pd.read_csv(root / "data" / "rubric_cases.csv").head(20), tmp_path / "rubric.csv")
    report = train_from_file(
        data, tmp_path / "model", eval_files=[rubric], name="from-file", seed=3, **FAST
    )
    assert report["n_train"] == 90
    assert set(report["metrics"]) == {"test", "rubric"}
    assert report["metrics"]["test"]["n"] == 30
    assert "by_rule" in report["metrics"]["rubric"]
    model = anlp.load(report["path"])
    assert model.meta["metrics"] == json.loads(json.dumps(report["metrics"]))
    assert model.meta["training"]["source"] == "notes.csv (90 training rows)"
    assert model.meta["training"]["seed"] == 3
    card = (report["path"] / "README.md").read_text(encoding="utf-8")
    assert "### test: macro-F1" in card
    assert "### rubric: macro-F1" in card
    with pytest.raises(FileExistsError, match=r"already exists\. Pass overwrite=True"):
        train_from_file(data, tmp_path / "model", **FAST)


def test_training_train_from_file_holds_out_without_split(
    notes: pd.DataFrame, tmp_path: Path
) -> None:
    data = _csv(notes.drop(columns="split"), tmp_path / "notes.csv")
    report = train_from_file(data, tmp_path / "model", test_size=0.25, **FAST)
    assert report["n_train"] == 90
    assert report["metrics"]["test"]["n"] == 30
    # Stratified: each label keeps its share in the held-out set.
    assert [row["support"] for row in report["metrics"]["test"]["per_class"].values()] == [10] * 3


# -- privacy in logs ------------------------------------------------------------------


def test_training_logs_never_contain_note_text(
    notes: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Call Dana Whitfield at 415-555-0199"
    texts = [f"{text} {secret}" for text in notes["text"]]
    with caplog.at_level(logging.DEBUG):
        model = anlp.train(texts, notes["label"], **FAST)
        model.score([*texts[:10], "", None])
        model.explain(texts[0])
        evaluate(model, texts[:10], notes["label"][:10])
    logged = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_text) for record in caplog.records
    )
    for fragment in ("Dana", "Whitfield", "415-555-0199", notes["text"].iloc[0][:30]):
        assert fragment not in logged
