"""Evidence: which words of a note drove its label.

A logistic regression's score for a label is a sum of ``weight x value``
over the note's features, so each feature's share can be read off exactly.
Weights are centred across labels (a feature that raises every label's score
alike says nothing about the choice), and each feature's share is mapped back
to the words it came from: n-gram terms to their tokens, cue features to the
cue spans. The result is a list of :class:`Evidence` spans with character
offsets into the original note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32
from spacy.tokens import Doc

from .cues import CUE_SIGNALS
from .features import CueMatch, cue_matches, iter_terms

__all__ = ["Evidence", "evidence_for_doc"]

# Named features that combine categories, and the cue categories they point at.
_COMPOSITE: dict[str, tuple[str, ...]] = {
    "self_failure": ("self_agent", "negation", "failure_verb"),
    "external_failure": ("external_actor", "negation", "failure_verb"),
    "self_regret": ("self_agent", "regret"),
    "external_regret": ("external_actor", "regret"),
    "contrast_then_self": ("contrast", "responsibility", "regret", "commitment"),
    "contrast_then_blame": ("contrast", "external_actor", "self_defense"),
    "sarcastic_self_blame": ("sarcasm", "responsibility"),
    "empty_promise_only": ("empty_promise",),
    "helpless_and_blame": ("helplessness", "external_actor", "self_defense"),
}


@dataclass(frozen=True)
class Evidence:
    """A span of the note and how much it pushed toward the predicted label.

    Attributes
    ----------
    text : str
        The words, as written in the note.
    start, end : int
        Character offsets: ``note[start:end] == text``.
    signal : str
        What the span signals, in words ("takes responsibility", "words"...).
    weight : float
        Contribution to the predicted label's score, relative to the other
        labels (positive: supports the label).
    """

    text: str
    start: int
    end: int
    signal: str
    weight: float


def _column_of(term: str, n_features: int) -> int:
    # Same hashing as sklearn's FeatureHasher (signed murmurhash3, seed 0).
    return abs(murmurhash3_32(term, seed=0)) % n_features


def _cue_category(feature: str) -> tuple[str, ...]:
    if ":" in feature:
        return (feature.split(":", 1)[1],)
    return _COMPOSITE.get(feature, ())


def evidence_for_doc(
    doc: Doc,
    row: sp.csr_matrix,
    weights: np.ndarray,
    *,
    n_features: int,
    cue_names: Sequence[str],
    ngram_range: tuple[int, int],
    negation_marking: bool,
    top_k: int = 8,
) -> list[Evidence]:
    """Return the spans of ``doc`` that most support a label.

    Parameters
    ----------
    doc : Doc
        The annotated note.
    row : scipy.sparse.csr_matrix of shape (1, n_columns)
        The note's feature row, as fed to the classifier.
    weights : ndarray of shape (n_columns,)
        Centred weights of the label to explain.
    n_features : int
        Width of the hashed term block (the first columns of ``row``).
    cue_names : sequence of str
        Names of the cue columns that follow the term block.
    ngram_range, negation_marking
        The vectorizer's settings, to rebuild the terms with their positions.
    top_k : int, default=8
        Number of spans to return.

    Returns
    -------
    list of Evidence
        Spans with positive weight, strongest first, without overlaps.
    """
    row = row.tocsr()
    values = dict(zip(row.indices.tolist(), row.data.tolist()))
    token_weight: dict[tuple[int, int], float] = defaultdict(float)
    token_signal: dict[tuple[int, int], str] = {}

    # Terms: a hashed column's share is split evenly over the occurrences
    # that hash to it, then attributed to the words of each occurrence.
    occurrences: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for term, start, end in iter_terms(
        doc, ngram_range=ngram_range, negation_marking=negation_marking
    ):
        occurrences[_column_of(term, n_features)].append((start, end))
    for column, spans in occurrences.items():
        share = values.get(column, 0.0) * float(weights[column]) / len(spans)
        for span in spans:
            token_weight[span] += share

    # Cue features: shared over the cue spans of their categories.
    matches: list[CueMatch] = cue_matches(doc)
    for offset, name in enumerate(cue_names):
        column = n_features + offset
        if column not in values:
            continue
        categories = _cue_category(name)
        spans = [(m.start, m.end, m.category) for m in matches if m.category in categories]
        if not spans:
            continue
        share = values[column] * float(weights[column]) / len(spans)
        for start, end, category in spans:
            token_weight[(start, end)] += share
            token_signal[(start, end)] = CUE_SIGNALS.get(category, category)

    ranked = sorted(token_weight.items(), key=lambda item: -item[1])
    chosen: list[Evidence] = []
    taken: set[int] = set()
    for (start, end), weight in ranked:
        if weight <= 0 or len(chosen) >= top_k:
            break
        tokens = set(range(start, end))
        if tokens & taken:
            continue
        taken |= tokens
        span = doc[start:end]
        chosen.append(
            Evidence(
                text=span.text,
                start=span.start_char,
                end=span.end_char,
                signal=token_signal.get((start, end), "words"),
                weight=round(weight, 4),
            )
        )
    return chosen
