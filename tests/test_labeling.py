"""Tests of the labeling helpers: guide, sampling, agreement, audit, CLI."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from accountability_nlp.cli import app
from accountability_nlp.label_audit import LabelAudit
from accountability_nlp.labeling import (
    agreement,
    attach_rows,
    audit_labels,
    labeling_guide,
    near_duplicates,
    sample_for_labeling,
)
from accountability_nlp.labels import LABELS

# Small and fast: tests of mechanics do not need the full hashed space.
FAST = {"n_features": 2**12}
FLIPS = 15


def _flip(label: str) -> str:
    return LABELS[(LABELS.index(label) + 1) % len(LABELS)]


@pytest.fixture(scope="module")
def planted(corpus: pd.DataFrame) -> dict:
    """300 corpus notes with 15 flipped labels and a conflicting near-duplicate pair."""
    notes = corpus[corpus["split"] == "train"].groupby("label").head(100)
    texts = notes["text"].tolist()
    labels = notes["label"].tolist()
    rng = np.random.default_rng(7)
    flipped = sorted(int(i) for i in rng.choice(len(texts), FLIPS, replace=False))
    for i in flipped:
        labels[i] = _flip(labels[i])
    # A near-copy of a note the flips left alone, labeled differently.
    original = next(i for i in range(len(texts)) if i not in flipped and len(texts[i]) > 150)
    texts.append(texts[original].rstrip(".") + ", as discussed on the call.")
    labels.append(_flip(labels[original]))
    audit = audit_labels(texts, labels, model_params={"n_features": 2**16})
    return {"audit": audit, "flipped": flipped, "pair": (original, len(texts) - 1),
            "texts": texts, "labels": labels}


@pytest.fixture(scope="module")
def lopsided(corpus: pd.DataFrame) -> dict:
    """Few, short victim notes next to longer notes of the other labels, plus bad rows."""
    train = corpus[corpus["split"] == "train"].copy()
    train["words"] = train["text"].str.split().str.len()
    long_notes = train[train["label"] != "victim"].sort_values("words").tail(40)
    short_victim = train[train["label"] == "victim"].sort_values("words").head(5)
    rows = pd.concat([long_notes, short_victim])
    texts = [*rows["text"], "", "n/a", "bad timing", rows["text"].iloc[0]]
    labels = [*rows["label"], "deflection", "victim", "victim", rows["label"].iloc[0]]
    return {"texts": texts, "labels": labels,
            "audit": audit_labels(texts, labels, cv=2, model_params=FAST)}


# -- audit_labels -------------------------------------------------------------------------


@pytest.mark.slow
def test_labeling_audit_ranks_planted_label_errors_first(planted: dict) -> None:
    suspects = planted["audit"].suspects
    flipped = set(planted["flipped"])
    top = set(suspects["position"].head(2 * FLIPS))
    assert len(top & flipped) >= 8, f"only {len(top & flipped)} of {FLIPS} flips in the top 30"
    # Flipped notes are suspects far more often than notes with their labels intact.
    n_notes = planted["audit"].n_audited
    rate_flipped = len(set(suspects["position"]) & flipped) / FLIPS
    rate_clean = len(set(suspects["position"]) - flipped) / (n_notes - FLIPS)
    assert rate_flipped > 3 * rate_clean
    assert suspects["margin"].is_monotonic_decreasing
    assert (suspects["given_label"] != suspects["suggested_label"]).all()


@pytest.mark.slow
def test_labeling_audit_suggests_the_original_label(planted: dict, corpus: pd.DataFrame) -> None:
    notes = corpus[corpus["split"] == "train"].groupby("label").head(100)
    truth = notes["label"].tolist()
    suspects = planted["audit"].suspects.set_index("position")
    caught = [i for i in planted["flipped"] if i in suspects.index]
    right = sum(suspects.loc[i, "suggested_label"] == truth[i] for i in caught)
    assert right >= 0.7 * len(caught)


@pytest.mark.slow
def test_labeling_audit_finds_conflicting_near_duplicate(planted: dict) -> None:
    conflicts = planted["audit"].conflicts
    a, b = planted["pair"]
    match = conflicts[(conflicts["position_a"] == a) & (conflicts["position_b"] == b)]
    assert len(match) == 1
    row = match.iloc[0]
    assert row["jaccard"] >= 0.5 and not row["exact"]
    assert {row["label_a"], row["label_b"]} == {planted["labels"][a], planted["labels"][b]}
    assert any("near-identical notes have different labels" in w
               for w in planted["audit"].warnings)


@pytest.mark.slow
def test_labeling_audit_report_holds_no_note_text(planted: dict) -> None:
    audit: LabelAudit = planted["audit"]
    report = audit.to_markdown(max_rows=None)
    for text in planted["texts"]:
        assert text[:40] not in report
    assert str(audit) == audit.to_markdown()
    assert "more rows (see the full report)" in str(audit)
    assert len(audit.out_of_fold) == audit.n_audited == len(planted["texts"])
    assert set(audit.thresholds) == set(LABELS)


def test_labeling_audit_flags_rare_label_and_length_shortcut(lopsided: dict) -> None:
    audit = lopsided["audit"]
    assert audit.balance.loc["victim", "low"]
    assert not audit.balance.loc["ownership", "low"]
    assert audit.balance["count"].sum() == audit.n_audited
    assert audit.lengths.loc["victim", "p_longer"] < 0.3
    text = "\n".join(audit.warnings)
    assert "'victim' is" in text and "below 15%" in text
    assert "'victim' notes are systematically shorter" in text


def test_labeling_audit_lists_empty_short_and_duplicate_notes(lopsided: dict) -> None:
    audit = lopsided["audit"]
    n = len(lopsided["texts"])
    short = audit.short_notes.set_index("position")
    assert short.loc[n - 4, "reason"] == "empty note"
    assert short.loc[n - 3, "reason"].startswith("placeholder")
    assert short.loc[n - 2, "reason"] == "fewer than 3 words"
    assert audit.n_audited == n - 2  # the empty note and the placeholder are left out
    assert {n - 4, n - 3}.isdisjoint(audit.out_of_fold["position"])
    duplicates = audit.duplicates
    assert set(duplicates["position"]) == {0, n - 1}
    assert not duplicates["conflicting"].any()


def test_labeling_audit_logs_no_note_text(
    lopsided: dict, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="accountability_nlp"):
        audit_labels(lopsided["texts"], lopsided["labels"], cv=2, model_params=FAST)
    assert caplog.records
    for text in lopsided["texts"]:
        if text.strip():
            assert text[:30] not in caplog.text


def test_labeling_audit_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match=r"audit_labels got 3 notes but 2 labels"):
        audit_labels(["a b c", "d e f", "g h i"], ["victim", "ownership"])


def test_labeling_audit_rejects_unknown_labels_with_hint() -> None:
    with pytest.raises(ValueError, match=r"outside .*'victm' \(did you mean 'victim'\?\)"):
        audit_labels(["a b c", "d e f"], ["victm", "ownership"])


def test_labeling_audit_rejects_too_few_notes_per_label() -> None:
    texts = [f"note number {i} here" for i in range(13)]
    labels = ["ownership"] * 5 + ["deflection"] * 5 + ["victim"] * 3
    with pytest.raises(ValueError, match=r"at least cv=5 non-empty notes of each label.*"
                                         r"got 3 'victim'.*smaller cv"):
        audit_labels(texts, labels)


def test_labeling_audit_counts_empty_notes_out_of_the_folds() -> None:
    texts = ["note one here", "note two here", "", "  "] * 2
    labels = ["ownership", "victim", "victim", "victim"] * 2
    with pytest.raises(ValueError, match=r"got 2 'ownership', 2 'victim'"):
        audit_labels(texts, labels, cv=3)


def test_labeling_audit_needs_two_labels() -> None:
    with pytest.raises(ValueError, match=r"at least two labels.*\['victim'\]"):
        audit_labels(["a b c"] * 6, ["victim"] * 6)


def test_labeling_audit_rejects_bad_cv_and_params() -> None:
    with pytest.raises(ValueError, match=r"'cv' parameter of audit_labels must be an int >= 2"):
        audit_labels(["a b c"] * 4, ["victim", "ownership"] * 2, cv=1)
    with pytest.raises(ValueError, match=r"'model_params'.*key 'c'.*Did you mean 'C'\?"):
        audit_labels(["a b c"] * 4, ["victim", "ownership"] * 2, cv=2, model_params={"c": 1})


def test_labeling_audit_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match=r"audit_labels expects a list of notes"):
        audit_labels("a note", ["victim"])


# -- near_duplicates ------------------------------------------------------------------------


def test_labeling_near_duplicates_finds_pairs_over_threshold() -> None:
    texts = [
        "The customer chose the cheaper vendor after the second pilot ended",
        "the customer chose the cheaper vendor after the second pilot ended early",
        "I never sent the recap after the demo.",
        None,
    ]
    pairs = near_duplicates(texts)
    assert pairs[["position_a", "position_b"]].values.tolist() == [[0, 1]]
    assert pairs["jaccard"].iloc[0] == pytest.approx(9 / 10)
    assert near_duplicates(texts, threshold=0.95).empty
    with pytest.raises(ValueError, match=r"'threshold' parameter of near_duplicates"):
        near_duplicates(texts, threshold=0)


# -- labeling_guide -------------------------------------------------------------------------


def test_labeling_guide_asks_the_three_questions_in_order() -> None:
    guide = labeling_guide()
    first = guide.index("1. Does the writer own a concrete part")
    second = guide.index("2. If not: does the note say nothing could be done")
    third = guide.index("3. Otherwise")
    assert first < second < third
    assert "-> ownership" in guide and "-> victim" in guide and "-> deflection" in guide


def test_labeling_guide_covers_every_trap_with_an_example() -> None:
    guide = labeling_guide()
    traps = ["Empty promises", "Negation", "Sarcasm", "First-person deflection",
             "Frustrated tone is not victim", "Ownership without 'I'"]
    trap_lines = guide.split("## Traps")[1].split("## When")[0].strip().splitlines()
    assert [line.split(":")[0].lstrip("- ") for line in trap_lines[::2]] == traps
    assert all(line.strip().startswith("Example:") for line in trap_lines[1::2])


def test_labeling_guide_examples_are_invented(corpus: pd.DataFrame, root: Path) -> None:
    guide = labeling_guide()
    examples = [line.split('"')[1] for line in guide.splitlines() if "Example:" in line]
    assert len(examples) == 9
    notes = corpus["text"].tolist()
    pairs = near_duplicates([*examples, *notes], threshold=0.3)
    assert not (pairs["position_a"] < len(examples)).any(), "an example resembles a corpus note"
    contract = root.parent / "shared" / "LABELS.md"
    if contract.exists():
        assert not any(example in contract.read_text() for example in examples)


# -- sample_for_labeling --------------------------------------------------------------------


class _FixedModel:
    """A stand-in model whose probabilities are given per note."""

    classes_ = np.asarray(["deflection", "ownership", "victim"], dtype=object)

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.asarray([self.table[t] for t in texts])


def _fixed_notes(n: int, seed: int = 0) -> tuple[list[str], _FixedModel]:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=n)
    texts = [f"note {i}" for i in range(n)]
    return texts, _FixedModel(dict(zip(texts, proba.tolist(), strict=True)))


def _margins(proba: np.ndarray) -> np.ndarray:
    ranked = np.sort(proba, axis=1)
    return ranked[:, -1] - ranked[:, -2]


def test_labeling_sample_uncertainty_picks_least_confident() -> None:
    texts, model = _fixed_notes(100)
    picked = sample_for_labeling(texts, model, n=10, random_share=0)
    margins = _margins(model.predict_proba(texts))
    assert sorted(picked["position"]) == sorted(np.argsort(margins)[:10].tolist())
    assert (picked["reason"] == "least confident").all()
    assert (picked["label"] == "").all()
    assert picked["margin"].to_numpy() == pytest.approx(margins[picked["position"]])


def test_labeling_sample_uncertainty_mixes_in_random_notes() -> None:
    texts, model = _fixed_notes(100)
    picked = sample_for_labeling(texts, model, n=20, random_share=0.25)
    assert picked["reason"].value_counts().to_dict() == {"least confident": 15, "random": 5}
    margins = _margins(model.predict_proba(texts))
    random_rows = picked.loc[picked["reason"] == "random", "position"]
    assert (margins[random_rows] >= np.sort(margins)[14]).all()
    again = sample_for_labeling(texts, model, n=20, random_share=0.25)
    pd.testing.assert_frame_equal(picked, again)
    assert picked["position"].is_monotonic_increasing


def test_labeling_sample_with_a_real_model(small_model, corpus: pd.DataFrame) -> None:
    texts = corpus[corpus["split"] == "test"]["text"].head(150).tolist()
    picked = sample_for_labeling(texts, small_model, n=15, random_share=0)
    proba = small_model.predict_proba(texts)
    margins = _margins(proba)
    chosen = margins[picked["position"]]
    others = np.delete(margins, picked["position"])
    assert chosen.max() <= others.min()
    guesses = small_model.predict([texts[i] for i in picked["position"]])
    assert picked["guess"].tolist() == guesses
    assert list(picked.columns) == ["position", "guess", "p_ownership", "p_deflection",
                                    "p_victim", "top_probability", "margin", "reason", "label"]


def test_labeling_sample_stratified_balances_guesses() -> None:
    texts, model = _fixed_notes(90, seed=3)
    picked = sample_for_labeling(texts, model, n=12, strategy="stratified")
    assert picked["guess"].value_counts().to_dict() == {label: 4 for label in LABELS}
    assert (picked["reason"] == "stratified").all()


def test_labeling_sample_random_and_empty_notes() -> None:
    texts, model = _fixed_notes(10)
    with_blanks = [*texts, "", None, "   "]
    picked = sample_for_labeling(with_blanks, model, n=50, strategy="random")
    assert sorted(picked["position"]) == list(range(10))  # all scorable notes, never blanks
    assert sample_for_labeling(["", None], model, n=5).empty


def test_labeling_sample_rejects_bad_arguments() -> None:
    texts, model = _fixed_notes(5)
    with pytest.raises(ValueError, match=r"'n' parameter of sample_for_labeling must be an int"):
        sample_for_labeling(texts, model, n=0)
    with pytest.raises(ValueError, match=r"'strategy'.*Got 'uncertain'.*'uncertainty'\?"):
        sample_for_labeling(texts, model, strategy="uncertain")
    with pytest.raises(ValueError, match=r"'random_share'.*\[0, 1\]. Got 1.5"):
        sample_for_labeling(texts, model, random_share=1.5)
    with pytest.raises(TypeError, match=r"sample_for_labeling expects a list of notes"):
        sample_for_labeling("one note", model)


def test_labeling_attach_rows_joins_input_rows() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "label": ["victim", "", "ownership"]})
    table = pd.DataFrame({"position": [2, 0], "label": ["", ""]})
    joined = attach_rows(table, frame)
    assert joined["id"].tolist() == ["c", "a"]
    assert joined["input_label"].tolist() == ["ownership", "victim"]
    with pytest.raises(ValueError, match=r"attach_rows needs a 'position' column"):
        attach_rows(frame, frame)


# -- agreement ------------------------------------------------------------------------------


def test_labeling_agreement_kappa_on_hand_made_example() -> None:
    o, d, v = "ownership", "deflection", "victim"
    first = [o, o, o, o, d, d, d, v, v, v]
    second = [o, o, o, d, d, d, v, v, v, v]
    result = agreement(first, second)
    # Observed 8/10; chance (4*3 + 3*3 + 3*4) / 100 = 0.33; kappa = 0.47 / 0.67.
    assert result["raw_agreement"] == pytest.approx(0.8)
    assert result["chance_agreement"] == pytest.approx(0.33)
    assert result["kappa"] == pytest.approx(0.47 / 0.67)
    assert result["reading"].startswith("substantial agreement")
    assert result["disagreements"] == [3, 6]
    assert result["confusion"].loc[o, d] == 1 and result["confusion"].loc[v, v] == 3
    assert result["per_label"][o] == pytest.approx(6 / 7)


def test_labeling_agreement_skips_rows_missing_a_label() -> None:
    result = agreement(["victim", "", None, "ownership", "victim"],
                       ["victim", "victim", "ownership", float("nan"), "deflection"])
    assert (result["n"], result["n_skipped"]) == (2, 3)
    assert result["disagreements"] == [4]


def test_labeling_agreement_undefined_kappa_is_nan_with_reading() -> None:
    result = agreement(["victim"] * 4, ["victim"] * 4)
    assert math.isnan(result["kappa"]) and result["raw_agreement"] == 1.0
    assert result["reading"].startswith("undefined")


def test_labeling_agreement_reads_kappa_bands() -> None:
    perfect = agreement(list(LABELS) * 3, list(LABELS) * 3)
    assert perfect["kappa"] == pytest.approx(1.0)
    assert perfect["reading"].startswith("almost perfect")
    opposite = agreement(["ownership", "victim"] * 3, ["victim", "ownership"] * 3)
    assert opposite["kappa"] < 0 and opposite["reading"].startswith("worse than chance")


def test_labeling_agreement_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"2 labels from labeler a but 3 from labeler b"):
        agreement(["victim"] * 2, ["victim"] * 3)
    with pytest.raises(ValueError, match=r"labeler b\) got labels outside.*did you mean 'victim'"):
        agreement(["victim", "ownership"], ["victims", "ownership"])
    with pytest.raises(ValueError, match=r"none of the 2 rows has two labels"):
        agreement(["victim", ""], ["", "victim"])


# -- CLI ----------------------------------------------------------------------------------------


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_labeling_cli_label_guide(runner: CliRunner) -> None:
    result = runner.invoke(app, ["label-guide"])
    assert result.exit_code == 0
    assert result.output == labeling_guide()


def test_labeling_cli_agreement(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    pd.DataFrame({"note": ["x"] * 4, "ann": ["victim", "ownership", "victim", ""],
                  "bob": ["victim", "ownership", "deflection", "victim"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["agreement", str(path), "--a", "ann", "--b", "bob"])
    assert result.exit_code == 0, result.output
    assert "Notes labeled by both: 3 (1 skipped)" in result.output
    assert "Cohen's kappa: 0.5" in result.output
    assert "Disagreements at rows (0-based): 2" in result.output
    as_json = runner.invoke(app, ["agreement", str(path), "--a", "ann", "--b", "bob", "--json"])
    payload = json.loads(as_json.output)
    assert payload["n"] == 3 and payload["confusion"]["labels"] == list(LABELS)
    same = tmp_path / "same.csv"
    pd.DataFrame({"ann": ["victim"] * 2, "bob": ["victim"] * 2}).to_csv(same, index=False)
    undefined = runner.invoke(app, ["agreement", str(same), "--a", "ann", "--b", "bob", "--json"])
    assert json.loads(undefined.output)["kappa"] is None
    bad = runner.invoke(app, ["agreement", str(path), "--a", "ann", "--b", "bobb"])
    assert bad.exit_code == 2
    assert "The '--b' parameter of agreement must be one of" in bad.output
    assert "Did you mean 'bob'?" in bad.output


def test_labeling_cli_sample_for_labeling(
    runner: CliRunner, tmp_path: Path, corpus: pd.DataFrame
) -> None:
    source = tmp_path / "export.csv"
    corpus[["id", "text"]].head(60).rename(columns={"text": "Loss Notes"}).to_csv(
        source, index=False
    )
    output = tmp_path / "to_label.csv"
    args = ["sample-for-labeling", str(source), "--text-column", "Loss Notes",
            "-n", "8", "-o", str(output)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "8 notes to label written" in result.output
    written = pd.read_csv(output, keep_default_na=False)
    assert list(written.columns[:4]) == ["position", "id", "Loss Notes", "label"]
    assert "guess" in written.columns and (written["label"] == "").all()
    blind = runner.invoke(app, [*args, "--blind", "--strategy", "random"])
    assert blind.exit_code == 0, blind.output
    assert list(pd.read_csv(output).columns) == ["position", "id", "Loss Notes", "label"]
    missing = runner.invoke(app, [*args[:3], "Loss Note", *args[4:]])
    assert missing.exit_code == 2
    assert "Did you mean 'Loss Notes'?" in missing.output


@pytest.mark.slow
def test_labeling_cli_audit_labels(
    runner: CliRunner, tmp_path: Path, corpus: pd.DataFrame
) -> None:
    source = tmp_path / "labeled.csv"
    rows = corpus[corpus["split"] == "dev"].groupby("label").head(8)
    rows[["id", "text", "label"]].rename(columns={"text": "note"}).to_csv(source, index=False)
    report, errors = tmp_path / "report.md", tmp_path / "errors.csv"
    result = runner.invoke(app, ["audit-labels", str(source), "--text-column", "note",
                                 "--cv", "2", "-o", str(report), "--errors-csv", str(errors)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Label audit")
    assert report.read_text().startswith("# Label audit")
    suspects = pd.read_csv(errors)
    assert {"position", "given_label", "suggested_label", "id", "note"} <= set(suspects.columns)
    for note in rows["text"]:
        assert note[:40] not in result.output
    bad = runner.invoke(app, ["audit-labels", str(source), "--text-column", "note",
                              "--label-column", "lable"])
    assert bad.exit_code == 2 and "Did you mean 'label'?" in bad.output
    few = runner.invoke(app, ["audit-labels", str(source), "--text-column", "note", "--cv", "9"])
    assert few.exit_code == 2 and "at least cv=9 non-empty notes of each label" in few.output
