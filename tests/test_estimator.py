"""Tests of the scikit-learn side (accountability_nlp.estimator).

``sklearn.utils.estimator_checks`` feeds numeric arrays, which a text
classifier cannot take, so the conventions it checks are tested by hand.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from accountability_nlp.estimator import (
    HASHED_PREFIX,
    AccountabilityClassifier,
    NoteVectorizer,
    term_columns,
)
from accountability_nlp.features import featurize
from accountability_nlp.labels import LABELS
from accountability_nlp.preprocessing import get_pipeline

# Narrow hashed space and no calibration: fits in well under a second.
FAST: dict[str, Any] = {"n_features": 2**12, "calibration": None}


@pytest.fixture(scope="module")
def tiny(corpus: pd.DataFrame) -> tuple[list[str], list[str]]:
    """90 training notes, 30 per label."""
    sample = corpus[corpus["split"] == "train"].groupby("label").head(30)
    return sample["text"].tolist(), sample["label"].tolist()


@pytest.fixture(scope="module")
def fitted(tiny: tuple[list[str], list[str]]) -> AccountabilityClassifier:
    return AccountabilityClassifier(**FAST).fit(*tiny)


# -- NoteVectorizer -----------------------------------------------------------


def test_estimator_vectorizer_shape_and_names(tiny: tuple[list[str], list[str]]) -> None:
    vectorizer = NoteVectorizer(n_features=2**10)
    matrix = vectorizer.fit_transform(tiny[0])
    names = vectorizer.get_feature_names_out()
    assert matrix.shape == (len(tiny[0]), len(names))
    assert names[0] == f"{HASHED_PREFIX}0"
    assert sum(name.startswith(HASHED_PREFIX) for name in names) == 2**10
    assert "cue:self_agent" in names


def test_estimator_vectorizer_transform_matches_fit_transform(
    tiny: tuple[list[str], list[str]],
) -> None:
    vectorizer = NoteVectorizer(n_features=2**10)
    fitted_rows = vectorizer.fit_transform(tiny[0])
    again = vectorizer.transform(tiny[0])
    np.testing.assert_allclose(fitted_rows.toarray(), again.toarray())
    assert vectorizer.fit(tiny[0]) is vectorizer


def test_estimator_vectorizer_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="This NoteVectorizer instance is not fitted yet"):
        NoteVectorizer().transform(["a note"])


def test_estimator_vectorizer_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match=r"^NoteVectorizer expects a list of notes"):
        NoteVectorizer().fit_transform("I never followed up.")


def test_estimator_term_columns_fold_into_the_hashed_space() -> None:
    note = featurize(get_pipeline()("we we lost"))
    columns = term_columns(note, 16)
    assert columns.dtype == np.int64
    assert ((columns >= 0) & (columns < 16)).all()
    assert columns[0] == columns[1]  # the same word lands in the same column


# -- AccountabilityClassifier: scikit-learn conventions -----------------------


def test_estimator_init_only_stores_params() -> None:
    clf = AccountabilityClassifier(C=3.0, ngram_range=(1, 1), calibration="sigmoid")
    assert clf.get_params()["C"] == 3.0
    assert clf.get_params()["ngram_range"] == (1, 1)
    assert not [name for name in vars(clf) if name.endswith("_")]


def test_estimator_clone_keeps_params() -> None:
    clf = AccountabilityClassifier(C=3.0, cv=3, ngram_range=(1, 1), n_features=2**10)
    copy = clone(clf)
    assert copy is not clf
    assert copy.get_params() == clf.get_params()


def test_estimator_get_params_lists_every_init_argument() -> None:
    assert set(AccountabilityClassifier().get_params()) == {
        "C",
        "class_weight",
        "calibration",
        "cv",
        "max_iter",
        "random_state",
        "ngram_range",
        "n_features",
        "cue_weight",
        "negation_marking",
        "spacy_model",
    }


def test_estimator_set_params_returns_self() -> None:
    clf = AccountabilityClassifier()
    assert clf.set_params(C=0.5, calibration=None) is clf
    assert clf.C == 0.5
    assert clf.calibration is None
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        clf.set_params(bogus=1)


def test_estimator_fit_returns_self(tiny: tuple[list[str], list[str]]) -> None:
    clf = AccountabilityClassifier(**FAST)
    assert clf.fit(*tiny) is clf
    assert sorted(clf.classes_.tolist()) == sorted(LABELS)


def test_estimator_predict_before_fit_raises() -> None:
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError, match="AccountabilityClassifier instance is not fitted"):
            getattr(AccountabilityClassifier(), method)(["a note"])


def test_estimator_predict_proba_columns_follow_classes(
    fitted: AccountabilityClassifier, tiny: tuple[list[str], list[str]]
) -> None:
    proba = fitted.predict_proba(tiny[0][:20])
    assert proba.shape == (20, len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predicted = fitted.predict(tiny[0][:20])
    assert predicted.tolist() == fitted.classes_[proba.argmax(axis=1)].tolist()
    # The logistic regression underneath orders its classes the same way.
    assert fitted.linear_model_.classes_.tolist() == fitted.classes_.tolist()


def test_estimator_fits_its_training_notes(
    fitted: AccountabilityClassifier, tiny: tuple[list[str], list[str]]
) -> None:
    assert fitted.score(*tiny) > 0.9  # ClassifierMixin.score: accuracy


def test_estimator_works_in_a_pipeline(tiny: tuple[list[str], list[str]]) -> None:
    pipeline = Pipeline(
        [
            ("strip", FunctionTransformer(lambda notes: [n.strip() for n in notes])),
            ("clf", AccountabilityClassifier(**FAST)),
        ]
    )
    pipeline.fit(*tiny)
    assert pipeline.predict(tiny[0][:3]).tolist() == pipeline[-1].predict(tiny[0][:3]).tolist()
    assert pipeline.predict_proba(tiny[0][:3]).shape == (3, 3)


def test_estimator_cross_val_score(tiny: tuple[list[str], list[str]]) -> None:
    scores = cross_val_score(AccountabilityClassifier(**FAST), tiny[0], tiny[1], cv=3)
    assert scores.shape == (3,)
    assert (scores > 1 / 3).all()  # better than chance on three balanced labels


@pytest.mark.parametrize("calibration", ["temperature", "sigmoid", "isotonic"])
def test_estimator_calibrated_probabilities(
    calibration: str, tiny: tuple[list[str], list[str]]
) -> None:
    clf = AccountabilityClassifier(n_features=2**10, calibration=calibration, cv=2)
    clf.fit(*tiny)
    proba = clf.predict_proba(tiny[0][:10])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert isinstance(clf.linear_model_, LogisticRegression)


def test_estimator_bad_calibration_message(tiny: tuple[list[str], list[str]]) -> None:
    expected = (
        "The 'calibration' parameter of AccountabilityClassifier must be one of "
        "['temperature', 'sigmoid', 'isotonic', None]. Got 'sigmod' instead. "
        "Did you mean 'sigmoid'?"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        AccountabilityClassifier(calibration="sigmod").fit(*tiny)


def test_estimator_fit_length_mismatch_message() -> None:
    expected = "AccountabilityClassifier.fit got 2 notes but 1 labels; pass one label per note."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        AccountabilityClassifier(**FAST).fit(["a", "b"], ["victim"])


@pytest.mark.parametrize("method", ["fit", "predict_proba", "predict"])
def test_estimator_rejects_a_bare_string(
    method: str, fitted: AccountabilityClassifier
) -> None:
    owner = "fit" if method == "fit" else "predict_proba"
    expected = f"AccountabilityClassifier.{owner} expects a list of notes, got a single string."
    args = ("I lost it.", ["ownership"]) if method == "fit" else ("I lost it.",)
    with pytest.raises(TypeError, match=f"^{re.escape(expected)}"):
        getattr(clone(fitted) if method == "fit" else fitted, method)(*args)
