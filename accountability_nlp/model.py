"""The public model: predict, probabilities, explanations and batch scores.

:class:`Model` wraps a fitted :class:`~accountability_nlp.estimator.
AccountabilityClassifier` with the metadata that travels with it (label set,
review threshold, versions, metrics). It adds what users of a deployed model
need beyond scikit-learn's API: plain label strings, a defined answer for
empty notes, a low-confidence flag, and the evidence behind each label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .cleaning import clean_text
from .errors import check_text_batch
from .estimator import AccountabilityClassifier
from .explain import Evidence, PickedSpan, pick_spans, to_evidence
from .labels import LABELS, SCORE_COLUMNS
from .modelcard import render_model_card
from .persistence import default_model_path, read_model_folder, write_model_folder

__all__ = [
    "DEFAULT_REVIEW_THRESHOLD",
    "MAX_NOTE_CHARS",
    "SCORE_COLUMNS",
    "Explanation",
    "Model",
    "load",
    "unscorable_reason",
]

#: Notes whose top probability is below this are flagged ``needs_review``.
DEFAULT_REVIEW_THRESHOLD = 0.6
#: Longer notes are not scored (a CRM field is rarely over a few thousand).
MAX_NOTE_CHARS = 100_000


# What reps type when the real note is elsewhere: no stance to read.
_PLACEHOLDER_NOTES = frozenset(
    {
        "see email",
        "see attached",
        "see attachment",
        "see notes",
        "see above",
        "see below",
        "n a",
        "na",
        "none",
        "tbd",
        "tba",
        "x",
        "test",
        "see call notes",
        "see chatter",
        "see activity",
        "no notes",
        "no comment",
        "nothing",
    }
)
_WORD = re.compile(r"[^\W\d_]+")
# Longer than any placeholder even with punctuation and spacing around it.
_PLACEHOLDER_MAX_CHARS = 3 * max(len(p) for p in _PLACEHOLDER_NOTES)


def unscorable_reason(value: Any) -> str | None:
    """Why ``value`` cannot be scored as a note, or None if it can.

    Examples
    --------
    >>> unscorable_reason("Lost on price."), unscorable_reason("  "), unscorable_reason(3.5)
    (None, 'empty note', 'not text (float)')
    >>> unscorable_reason("See email."), unscorable_reason("<p>N/A</p>")
    ("placeholder, not a note (e.g. 'see email')", "placeholder, not a note (e.g. 'see email')")
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "empty note"
    if not isinstance(value, str):
        return f"not text ({type(value).__name__})"
    if not value.strip():
        return "empty note"
    if len(value) > MAX_NOTE_CHARS:
        return f"note longer than {MAX_NOTE_CHARS:,} characters"
    text = clean_text(value)
    if len(text) > _PLACEHOLDER_MAX_CHARS:  # too long to be a placeholder: skip the split
        return None if _WORD.search(text) else "no words in note"
    words = _WORD.findall(text.lower())
    if not words:
        return "no words in note"
    if " ".join(words) in _PLACEHOLDER_NOTES:
        return "placeholder, not a note (e.g. 'see email')"
    return None


@dataclass(frozen=True)
class Explanation:
    """The label of one note, its probabilities and the evidence behind it.

    Attributes
    ----------
    label : str or None
        The predicted label; None when the note could not be scored.
    probabilities : dict of str to float
        Probability per label.
    evidence : list of Evidence
        Spans that drove the label, strongest first.
    needs_review : bool
        True when the top probability is below the model's review threshold.
    status : str
        ``"scored"`` or ``"unscorable: <reason>"``.
    """

    label: str | None
    probabilities: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)
    needs_review: bool = False
    status: str = "scored"

    def __str__(self) -> str:
        if self.label is None:
            return self.status
        probs = ", ".join(f"{k} {v:.2f}" for k, v in self.probabilities.items())
        lines = [f"{self.label} ({probs})" + ("  [needs review]" if self.needs_review else "")]
        lines += [f"  {e.weight:+.3f}  {e.text!r}  ({e.signal})" for e in self.evidence]
        return "\n".join(lines)


class Model:
    """A trained stance classifier with its metadata.

    Get one with :func:`accountability_nlp.load` or
    :func:`accountability_nlp.train`; save it with :meth:`save`.

    Parameters
    ----------
    estimator : AccountabilityClassifier
        A fitted classifier.
    meta : dict, optional
        Metadata saved with the model (versions, training data, metrics).
    review_threshold : float, optional
        Predictions whose top probability is below this are flagged for
        review. Defaults to the value in ``meta`` or
        :data:`DEFAULT_REVIEW_THRESHOLD`.

    Examples
    --------
    >>> import accountability_nlp as anlp
    >>> model = anlp.load()
    >>> model.predict(["I never confirmed budget.", "   "])
    ['ownership', None]
    """

    def __init__(
        self,
        estimator: AccountabilityClassifier,
        meta: dict[str, Any] | None = None,
        *,
        review_threshold: float | None = None,
    ) -> None:
        check_is_fitted(estimator, ["vectorizer_", "model_"])
        self.estimator = estimator
        self.meta = dict(meta or {})
        if review_threshold is None:
            review_threshold = self.meta.get("review_threshold", DEFAULT_REVIEW_THRESHOLD)
        self.review_threshold = float(review_threshold)

    @property
    def classes_(self) -> np.ndarray:
        """Labels in the order of :meth:`predict_proba` columns."""
        return self.estimator.classes_

    def __repr__(self) -> str:
        name = self.meta.get("name", "unnamed")
        return f"Model(name={name!r}, classes={list(self.classes_)})"

    # -- prediction ---------------------------------------------------------

    def predict_proba(self, texts: Iterable[Any]) -> np.ndarray:
        """Probability of each label per note.

        Parameters
        ----------
        texts : iterable of str
            The notes. A bare string is rejected.

        Returns
        -------
        ndarray of shape (n_notes, n_labels)
            Columns follow :attr:`classes_`. Rows of notes that cannot be
            scored (empty, whitespace only, not text) are all NaN.
        """
        notes = check_text_batch(texts, owner="Model.predict_proba")
        proba = np.full((len(notes), len(self.classes_)), np.nan)
        ok = [i for i, note in enumerate(notes) if unscorable_reason(note) is None]
        if ok:
            proba[ok] = self.estimator.predict_proba([notes[i] for i in ok])
        return proba

    def predict(self, texts: Iterable[Any]) -> list[str | None]:
        """One label string per note.

        Returns
        -------
        list of str or None
            ``"ownership"``, ``"deflection"`` or ``"victim"``; None for a note
            that cannot be scored (empty, whitespace only, or not text).
        """
        notes = check_text_batch(texts, owner="Model.predict")
        proba = self.predict_proba(notes)
        return [
            None if np.isnan(row[0]) else str(self.classes_[int(np.argmax(row))]) for row in proba
        ]

    def needs_review(self, proba: np.ndarray) -> np.ndarray:
        """Flag rows whose top probability is below :attr:`review_threshold`."""
        proba = np.asarray(proba, dtype=float)
        top = np.nanmax(np.where(np.isnan(proba), -np.inf, proba), axis=1)
        return top < self.review_threshold

    # -- evidence -----------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # Pickled for worker processes: leave out the cached weights.
        return {k: v for k, v in self.__dict__.items() if k != "_weights"}

    def _centred_weights(self) -> np.ndarray:
        # Computed once per fitted head (a few ms: it spans every hashed column).
        coef = self.estimator.linear_model_.coef_
        cached = self.__dict__.get("_weights")
        if cached is not None and cached[0] is coef:
            return cached[1]
        full = np.vstack([-coef[0], coef[0]]) / 2 if coef.shape[0] == 1 else coef
        weights = full - full.mean(axis=0, keepdims=True)
        self._weights = (coef, weights)
        return weights

    def _analyze(
        self, notes: Sequence[str], top_k: int
    ) -> tuple[np.ndarray, list[str], list[list[PickedSpan]]]:
        """Probabilities, the notes as read, and evidence spans, parsing each note once."""
        vectorizer = self.estimator.vectorizer_
        weights = self._centred_weights()
        cue_names = list(vectorizer.cues_.get_feature_names_out())
        probas: list[np.ndarray] = []
        texts: list[str] = []
        picked: list[list[PickedSpan]] = []
        # One batch at a time: its Docs are dropped before the next is parsed.
        for cleaned, batch in vectorizer.featurize_batches(notes):
            matrix, columns = vectorizer.transform_batch(batch)
            proba = self.estimator.predict_proba_matrix(matrix)
            probas.append(proba)
            texts += cleaned
            picked += pick_spans(
                batch,
                columns,
                matrix,
                weights,
                np.argmax(proba, axis=1),
                cue_names=cue_names,
                n_features=vectorizer.n_features,
                top_k=top_k,
            )
        proba = np.concatenate(probas) if probas else np.zeros((0, len(self.classes_)))
        return proba, texts, picked

    def explain(self, text: str, *, top_k: int = 8) -> Explanation:
        """Label one note and show the words that drove the label.

        Parameters
        ----------
        text : str
            One note.
        top_k : int, default=8
            Maximum number of evidence spans.

        Returns
        -------
        Explanation
            Label, probabilities, evidence spans and review flag. For a note
            that cannot be scored, ``label`` is None and ``status`` says why.

        Examples
        --------
        >>> import accountability_nlp as anlp
        >>> explanation = anlp.load().explain("Nothing I could do, legal killed it.")
        >>> explanation.label
        'victim'
        >>> any(e.text == "Nothing I could do" for e in explanation.evidence)
        True
        """
        reason = unscorable_reason(text)
        if reason is not None:
            empty = {str(c): math.nan for c in self.classes_}
            return Explanation(None, empty, [], False, f"unscorable: {reason}")
        proba, texts, picked = self._analyze([text], top_k)
        probabilities = {str(c): float(p) for c, p in zip(self.classes_, proba[0])}
        label = str(self.classes_[int(np.argmax(proba[0]))])
        evidence = to_evidence(texts[0], picked[0])
        review = bool(self.needs_review(proba)[0])
        return Explanation(label, probabilities, evidence, review, "scored")

    def score(self, texts: Iterable[Any], *, top_k: int = 3) -> pd.DataFrame:
        """Score a batch: one output row per input, in order, never dropped.

        Parameters
        ----------
        texts : iterable
            The notes; any value is accepted, and values that are not
            scorable text come back with ``status`` ``"unscorable: <reason>"``.
        top_k : int, default=3
            Evidence phrases per note.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`SCORE_COLUMNS`: ``label``, ``p_<label>`` for each
            label, ``needs_review``, ``evidence`` (phrases joined by ``" | "``)
            and ``status``.
        """
        notes = check_text_batch(texts, owner="Model.score")
        reasons = [unscorable_reason(note) for note in notes]
        ok = [i for i, reason in enumerate(reasons) if reason is None]
        labels = np.full(len(notes), None, dtype=object)
        proba = np.full((len(notes), len(self.classes_)), np.nan)
        review = np.zeros(len(notes), dtype=bool)
        phrases = np.full(len(notes), "", dtype=object)
        if ok:
            found, texts, picked = self._analyze([notes[i] for i in ok], top_k)
            labels[ok] = self.classes_[np.argmax(found, axis=1)]
            proba[ok] = found
            review[ok] = self.needs_review(found)
            phrases[ok] = [
                " | ".join(text[start:end] for start, end, _, _ in spans)
                for text, spans in zip(texts, picked)
            ]
        column = {str(label): j for j, label in enumerate(self.classes_)}
        frame = pd.DataFrame(
            {
                "label": pd.Series(labels, dtype=object),  # None, not NaN, when unscored
                **{f"p_{c}": proba[:, column[c]] for c in LABELS},
                "needs_review": review,
                "evidence": phrases.tolist(),
                "status": [f"unscorable: {r}" if r else "scored" for r in reasons],
            }
        )
        return frame[list(SCORE_COLUMNS)]

    # -- persistence --------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Save to a model folder: ``meta.json``, ``head.skops``, ``README.md``.

        Parameters
        ----------
        path : str or Path
            The folder to create.
        overwrite : bool, default=False
            Replace an existing folder (atomically).

        Returns
        -------
        Path
            The folder written.
        """
        meta = {**self.meta, "review_threshold": self.review_threshold}
        return write_model_folder(
            self.estimator, meta, render_model_card(meta), path, overwrite=overwrite
        )


def load(path: str | Path | None = None) -> Model:
    """Load a saved model, or the bundled default model.

    Parameters
    ----------
    path : str or Path, optional
        A model folder. Without it, the default model shipped with the
        library is loaded; nothing is downloaded.

    Returns
    -------
    Model

    Raises
    ------
    ModelLoadError
        If the folder is missing, incomplete or of an unknown format.
    UntrustedModelError
        If the model file contains types outside the trusted list.

    Examples
    --------
    >>> import accountability_nlp as anlp
    >>> anlp.load().classes_.tolist()
    ['deflection', 'ownership', 'victim']
    """
    estimator, meta = read_model_folder(default_model_path() if path is None else path)
    return Model(estimator, meta)
