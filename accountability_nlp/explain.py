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

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from spacy.tokens import Doc

from .cues import CUE_SIGNALS
from .features import NoteFeatures

__all__ = ["Evidence", "evidence_for_note"]

# Named features that combine categories, and the cue categories they point at.
_COMPOSITE: dict[str, tuple[str, ...]] = {
    "self_failure": ("self_agent", "negation", "failure_verb"),
    "external_failure": ("external_actor", "negation", "failure_verb"),
    "self_regret": ("self_agent", "regret"),
    "external_regret": ("external_actor", "regret"),
    "contrast_then_self": ("contrast", "responsibility", "regret", "commitment"),
    "contrast_then_blame": ("contrast", "external_actor", "external_event", "self_defense"),
    "sarcastic_self_blame": ("sarcasm", "responsibility"),
    "empty_promise_only": ("empty_promise",),
    "helpless_and_blame": ("helplessness", "external_actor", "external_event", "self_defense"),
    "external_causes_only": ("external_actor", "external_event"),
}


@dataclass(frozen=True)
class Evidence:
    """A span of the note and how much it pushed toward the predicted label.

    Attributes
    ----------
    text : str
        The words, as written in the note.
    start, end : int
        Character offsets: ``note[start:end] == text`` (for a note with HTML
        markup, offsets into the note with the markup removed).
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


def _cue_categories(feature: str) -> tuple[str, ...]:
    if ":" in feature:
        return (feature.split(":", 1)[1],)
    return _COMPOSITE.get(feature, ())


def _signal(feature: str, category: str) -> str:
    signal = CUE_SIGNALS.get(category, category)
    return f"negated: {signal}" if feature.startswith("neg:") else signal


def evidence_for_note(
    doc: Doc,
    note: NoteFeatures,
    columns: Sequence[int] | np.ndarray,
    row: sp.csr_matrix,
    weights: np.ndarray,
    *,
    cue_names: Sequence[str],
    n_features: int,
    top_k: int = 8,
) -> list[Evidence]:
    """Return the spans of a note that most support a label.

    Parameters
    ----------
    doc : Doc
        The annotated note.
    note : NoteFeatures
        Its features, from :func:`~accountability_nlp.features.featurize`.
    columns : sequence of int
        The hashed column of each term of ``note``.
    row : scipy.sparse.csr_matrix of shape (1, n_columns)
        The note's feature row, as fed to the classifier.
    weights : ndarray of shape (n_columns,)
        Centred weights of the label to explain.
    cue_names : sequence of str
        Names of the named-feature columns that follow the term block.
    n_features : int
        Width of the hashed term block (the first columns of ``row``).
    top_k : int, default=8
        Number of spans to return.

    Returns
    -------
    list of Evidence
        Spans with positive weight, strongest first, without overlaps.
    """
    values = dict(zip(row.indices.tolist(), row.data.tolist()))
    span_weight: dict[tuple[int, int], float] = defaultdict(float)
    # Which signal describes a span: the one that contributed most to it.
    span_signal: dict[tuple[int, int], tuple[float, str]] = {}

    # A term column's share is split evenly over the occurrences hashed to it.
    column_list = [int(c) for c in columns]
    occurrences = Counter(column_list)
    for (start, end), column in zip(note.term_spans, column_list):
        share = values.get(column, 0.0) * float(weights[column]) / occurrences[column]
        span_weight[(start, end)] += share

    for offset, name in enumerate(cue_names):
        column = n_features + offset
        if column not in values:
            continue
        categories = _cue_categories(name)
        matches = [m for m in note.cues if m.category in categories]
        if not matches:
            continue
        share = values[column] * float(weights[column]) / len(matches)
        for m in matches:
            span = (m.start, m.end)
            span_weight[span] += share
            if share > span_signal.get(span, (-np.inf, ""))[0]:
                span_signal[span] = (share, _signal(name, m.category))

    chosen: list[Evidence] = []
    taken: set[int] = set()
    for (start, end), weight in sorted(span_weight.items(), key=lambda item: -item[1]):
        if weight <= 0 or len(chosen) >= top_k:
            break
        tokens = set(range(start, end))
        if tokens & taken:
            continue
        words = doc[start:end]
        if (
            len(words) == 1
            and (words[0].is_stop or words[0].is_punct)
            and (start, end) not in span_signal
        ):
            continue  # a lone "the" or "i" explains nothing to a reader
        taken |= tokens
        chosen.append(
            Evidence(
                text=words.text,
                start=words.start_char,
                end=words.end_char,
                signal=span_signal.get((start, end), (0.0, "words"))[1],
                weight=round(weight, 4),
            )
        )
    return chosen
