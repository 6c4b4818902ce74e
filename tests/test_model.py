"""Tests of the public model API (accountability_nlp.model, explain)."""

from __future__ import annotations

import math
import re
import socket
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

import accountability_nlp as anlp
from accountability_nlp.estimator import AccountabilityClassifier
from accountability_nlp.labels import LABELS
from accountability_nlp.model import (
    DEFAULT_REVIEW_THRESHOLD,
    MAX_NOTE_CHARS,
    SCORE_COLUMNS,
    Explanation,
    Model,
    unscorable_reason,
)

NOTES = [
    "I never confirmed budget.",
    "Lost on price. Competitor came in 30% lower.",
    "Nothing I could do. Deals like this always die in legal.",
    "we demoed features nobody asked for. should have run a proper discovery call first",
]


def _bare_string_message(owner: str) -> str:
    return re.escape(
        f"{owner} expects a list of notes, got a single string. "
        f'Wrap it in a list: {owner}(["a note"]).'
    )


# -- the public contract ------------------------------------------------------


def test_model_load_bundled_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("load() tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = anlp.load()
    assert model.predict(["I never confirmed budget."]) == ["ownership"]
    assert isinstance(model, Model)
    assert model.meta["format_version"] == 1
    assert "Model(name=" in repr(model)


def test_model_predict_returns_a_list_of_label_strings(default_model: Model) -> None:
    labels = default_model.predict(["I never confirmed budget."])
    assert type(labels) is list
    assert len(labels) == 1
    assert type(labels[0]) is str
    assert labels[0] in LABELS


def test_model_predict_one_label_per_note(default_model: Model) -> None:
    labels = default_model.predict(NOTES)
    assert len(labels) == len(NOTES)
    assert all(type(label) is str and label in LABELS for label in labels)


def test_model_predicts_the_contract_examples(default_model: Model) -> None:
    # Clear-cut examples from the label contract (LABELS.md).
    assert default_model.predict(NOTES) == ["ownership", "deflection", "victim", "ownership"]


def test_model_predict_proba_shape_and_columns(default_model: Model) -> None:
    proba = default_model.predict_proba(NOTES)
    assert proba.shape == (len(NOTES), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert sorted(default_model.classes_.tolist()) == sorted(LABELS)
    # Columns follow classes_: the argmax column names the predicted label.
    labels = default_model.predict(NOTES)
    assert [default_model.classes_[i] for i in proba.argmax(axis=1)] == labels


def test_model_empty_batches(default_model: Model) -> None:
    assert default_model.predict([]) == []
    assert default_model.predict_proba([]).shape == (0, 3)
    frame = default_model.score([])
    assert list(frame.columns) == list(SCORE_COLUMNS)
    assert len(frame) == 0


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_model_rejects_a_bare_string(default_model: Model, method: str) -> None:
    with pytest.raises(TypeError, match=_bare_string_message(f"Model.{method}")):
        getattr(default_model, method)("I never confirmed budget.")


def test_model_train_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match=_bare_string_message("train")):
        anlp.train("I never confirmed budget.", ["ownership"])


def test_model_unfitted_estimator_is_refused() -> None:
    with pytest.raises(NotFittedError, match="AccountabilityClassifier instance is not fitted"):
        Model(AccountabilityClassifier())


# -- notes that cannot be scored ----------------------------------------------


@pytest.mark.parametrize("note", ["", "   ", "\n\t ", None, float("nan"), pd.NA])
def test_model_empty_note_gives_none_and_nan(default_model: Model, note: object) -> None:
    assert default_model.predict([note, "I never confirmed budget."]) == [None, "ownership"]
    proba = default_model.predict_proba([note, "I never confirmed budget."])
    assert np.isnan(proba[0]).all()
    assert not np.isnan(proba[1]).any()
    assert default_model.score([note])["status"].tolist() == ["unscorable: empty note"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (3, "not text (int)"),
        (2.5, "not text (float)"),
        (b"bytes", "not text (bytes)"),
        (["a note"], "not text (list)"),
        ("x" * (MAX_NOTE_CHARS + 1), "note longer than 100,000 characters"),
    ],
)
def test_model_unscorable_values(default_model: Model, value: object, reason: str) -> None:
    assert unscorable_reason(value) == reason
    frame = default_model.score([value])
    assert frame.loc[0, "status"] == f"unscorable: {reason}"
    assert frame.loc[0, "label"] is None
    assert default_model.predict([value]) == [None]


def test_model_score_frame(default_model: Model) -> None:
    values: list[Any] = [NOTES[0], "", 42, NOTES[2]]
    frame = default_model.score(values)
    assert list(frame.columns) == list(SCORE_COLUMNS)
    assert list(frame.index) == [0, 1, 2, 3]
    assert frame["status"].tolist() == [
        "scored",
        "unscorable: empty note",
        "unscorable: not text (int)",
        "scored",
    ]
    assert frame["label"].tolist() == default_model.predict(values)
    proba = default_model.predict_proba(values)
    for j, label in enumerate(default_model.classes_):
        np.testing.assert_allclose(frame[f"p_{label}"].to_numpy(float), proba[:, j])
    assert frame["needs_review"].dtype == bool
    assert frame.loc[1, "evidence"] == ""
    for note, evidence in zip([values[0], values[3]], frame.loc[[0, 3], "evidence"], strict=True):
        assert evidence
        assert all(phrase in note for phrase in evidence.split(" | "))


def test_model_score_evidence_is_the_explanation_evidence(default_model: Model) -> None:
    # score() spells evidence from character offsets, explain() builds
    # Evidence objects: both must name the same phrases, in the same order.
    frame = default_model.score(NOTES, top_k=8)
    for note, evidence in zip(NOTES, frame["evidence"], strict=True):
        explained = default_model.explain(note, top_k=8).evidence
        assert evidence == " | ".join(e.text for e in explained)


# -- explanations -------------------------------------------------------------


@pytest.mark.parametrize("note", NOTES)
def test_model_explain_evidence_points_into_the_note(default_model: Model, note: str) -> None:
    explanation = default_model.explain(note)
    assert isinstance(explanation, Explanation)
    assert explanation.label == default_model.predict([note])[0]
    assert explanation.status == "scored"
    assert set(explanation.probabilities) == set(LABELS)
    assert sum(explanation.probabilities.values()) == pytest.approx(1.0)
    assert explanation.evidence
    weights = [e.weight for e in explanation.evidence]
    assert weights == sorted(weights, reverse=True)
    covered: set[int] = set()
    for evidence in explanation.evidence:
        assert isinstance(evidence, anlp.Evidence)
        assert evidence.text == note[evidence.start : evidence.end]
        assert isinstance(evidence.signal, str) and evidence.signal
        assert isinstance(evidence.weight, float) and evidence.weight > 0
        chars = set(range(evidence.start, evidence.end))
        assert not chars & covered  # spans do not overlap
        covered |= chars


def test_model_explain_names_the_cue(default_model: Model) -> None:
    explanation = default_model.explain("Nothing I could do, legal killed it.")
    assert explanation.label == "victim"
    signals = {e.text: e.signal for e in explanation.evidence}
    assert signals["Nothing I could do"] == "helplessness: nothing can be done"


def test_model_explain_top_k(default_model: Model) -> None:
    note = "I never sent the recap, skipped discovery and guessed budget. My miss, on me."
    assert len(default_model.explain(note, top_k=2).evidence) <= 2
    assert len(default_model.explain(note, top_k=0).evidence) == 0


def test_model_explain_evidence_with_masked_pii(default_model: Model) -> None:
    note = "Emailed dana.w@brightpath-example.com twice. I never called 415-555-0199 back."
    for evidence in default_model.explain(note).evidence:
        assert evidence.text == note[evidence.start : evidence.end]


def test_model_explain_unscorable(default_model: Model) -> None:
    explanation = default_model.explain("   ")
    assert explanation.label is None
    assert explanation.status == "unscorable: empty note"
    assert explanation.evidence == []
    assert all(math.isnan(p) for p in explanation.probabilities.values())
    assert str(explanation) == "unscorable: empty note"


def test_model_explanation_str(default_model: Model) -> None:
    text = str(default_model.explain("Nothing I could do, legal killed it."))
    assert text.startswith("victim (")
    assert "'Nothing I could do'  (helplessness: nothing can be done)" in text


# -- low-confidence flag --------------------------------------------------------


def test_model_review_threshold_default(small_model: Model) -> None:
    assert DEFAULT_REVIEW_THRESHOLD == 0.6
    assert small_model.review_threshold == DEFAULT_REVIEW_THRESHOLD
    from_meta = Model(small_model.estimator, {"review_threshold": 0.8})
    assert from_meta.review_threshold == 0.8
    explicit = Model(small_model.estimator, {"review_threshold": 0.8}, review_threshold=0.7)
    assert explicit.review_threshold == 0.7


def test_model_needs_review_when_top_probability_is_low(small_model: Model) -> None:
    strict = Model(small_model.estimator, small_model.meta, review_threshold=1.01)
    lenient = Model(small_model.estimator, small_model.meta, review_threshold=0.0)
    assert strict.score(NOTES)["needs_review"].tolist() == [True] * len(NOTES)
    assert lenient.score(NOTES)["needs_review"].tolist() == [False] * len(NOTES)
    assert strict.explain(NOTES[0]).needs_review
    assert "[needs review]" in str(strict.explain(NOTES[0]))
    assert not lenient.explain(NOTES[0]).needs_review


def test_model_needs_review_compares_the_top_probability(small_model: Model) -> None:
    model = Model(small_model.estimator, review_threshold=0.5)
    proba = np.array([[0.49, 0.3, 0.21], [0.5, 0.25, 0.25], [np.nan, np.nan, np.nan]])
    assert model.needs_review(proba).tolist() == [True, False, True]


# -- the rubric pack ------------------------------------------------------------


def test_model_default_passes_the_rubric_pack(default_model: Model, root: Path) -> None:
    cases = pd.read_csv(root / "data" / "rubric_cases.csv", dtype=str, keep_default_na=False)
    predicted = default_model.predict(cases["text"].tolist())
    passed = np.asarray(predicted, dtype=object) == cases["label"].to_numpy(dtype=object)
    failed_ids: dict[str, list[str]] = defaultdict(list)
    for case_id, rule, ok in zip(cases["id"], cases["rule"], passed, strict=True):
        if not ok:
            failed_ids[rule].append(case_id)
    totals = cases["rule"].value_counts()
    report = "\n".join(
        f"{rule}: {len(ids)} failed of {totals[rule]} ({', '.join(ids)})"
        for rule, ids in sorted(failed_ids.items())
    )
    share = passed.mean()
    assert share >= 0.90, f"rubric pack: {share:.1%} passed ({passed.sum()}/{len(cases)})\n{report}"


# -- any input never crashes the scorer -----------------------------------------

_ANY_VALUE = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", "   ", "\n", "I never followed up.", "Nothing I could do."]),
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.binary(max_size=20),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ANY_VALUE, max_size=8))
def test_model_any_input_never_crashes_the_scorer(small_model: Model, values: list) -> None:
    frame = small_model.score(values)
    assert len(frame) == len(values)
    assert list(frame.columns) == list(SCORE_COLUMNS)
    for status, label in zip(frame["status"], frame["label"], strict=True):
        assert status == "scored" or status.startswith("unscorable: ")
        assert (label in LABELS) if status == "scored" else (label is None)
