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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .cues import CATEGORIES, CUE_SIGNALS

if TYPE_CHECKING:  # features imports spaCy, which loads on first use
    from .features import FeatureBatch

__all__ = ["Evidence", "PickedSpan", "pick_spans", "to_evidence"]

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


@functools.lru_cache(maxsize=8)
def _cue_links(cue_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which categories each cue column points at, and the signal of each pair.

    Fixed for a fitted model, so computed once, not once per batch.
    """
    points_at = np.zeros((len(cue_names), len(CATEGORIES)), dtype=bool)
    negated = np.zeros(len(cue_names), dtype=bool)
    for column, name in enumerate(cue_names):
        for category in _cue_categories(name):
            if category in CATEGORIES:
                points_at[column, CATEGORIES.index(category)] = True
        negated[column] = name.startswith("neg:")
    return points_at, negated


_SIGNALS = [_signal("cue:", c) for c in CATEGORIES] + [_signal("neg:", c) for c in CATEGORIES]


def _stable_order(key: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """``order`` (default: all positions) stably re-sorted by ``key``.

    Chained from the least significant key up, this is ``np.lexsort``, about
    twice as fast here: numpy radix-sorts small unsigned integers, and note
    and span indices of a batch fit in 16 bits.
    """
    if order is None:
        order = np.arange(len(key))
    values = key[order]
    if values.dtype.kind in "iu" and len(values) and values.min() >= 0 and values.max() < 2**16:
        values = values.astype(np.uint16)
    return order[np.argsort(values, kind="stable")]


def _pairs(first_note: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each item of ``first_note`` with every item of ``indptr``'s rows in its note."""
    reps = np.diff(indptr)[first_note]
    left = np.repeat(np.arange(len(first_note)), reps)
    within = np.arange(len(left)) - np.repeat(np.cumsum(reps) - reps, reps)
    return left, indptr[first_note][left] + within


#: One picked span of a note: character offsets, signal index (-1: plain
#: words; else an index into the cue signals) and weight.
PickedSpan = tuple[int, int, int, float]


def to_evidence(text: str, spans: list[PickedSpan]) -> list[Evidence]:
    """Spell out one note's picked spans (from :func:`pick_spans`) as :class:`Evidence`."""
    return [
        Evidence(
            text=text[start:end],
            start=start,
            end=end,
            signal=_SIGNALS[signal] if signal >= 0 else "words",
            weight=round(weight, 4),
        )
        for start, end, signal, weight in spans
    ]


def pick_spans(
    batch: FeatureBatch,
    columns: np.ndarray,
    matrix: sp.csr_matrix,
    weights: np.ndarray,
    labels: np.ndarray,
    *,
    cue_names: Sequence[str],
    n_features: int,
    top_k: int = 8,
) -> list[list[PickedSpan]]:
    """Return, for each note of a batch, the spans that most support a label.

    Spans come as plain ``(start, end, signal, weight)`` tuples: batch scoring
    needs only their text, and :func:`to_evidence` spells out one note's
    spans as :class:`Evidence` for people.

    Parameters
    ----------
    batch : FeatureBatch
        The notes' features, from :func:`~accountability_nlp.features.featurize_batch`.
    columns : ndarray of int
        The hashed column of each term of ``batch``.
    matrix : scipy.sparse.csr_matrix of shape (n_notes, n_columns)
        The notes' feature rows, as fed to the classifier.
    weights : ndarray of shape (n_labels, n_columns)
        Centred weights of each label.
    labels : ndarray of int
        Per note, the row of ``weights`` to explain (its predicted label).
    cue_names : sequence of str
        Names of the named-feature columns that follow the term block.
    n_features : int
        Width of the hashed term block (the first columns of ``matrix``).
    top_k : int, default=8
        Number of spans per note.

    Returns
    -------
    list of list of PickedSpan
        Per note, spans with positive weight, strongest first, without overlaps;
        offsets are into the note as the pipeline read it (after
        :func:`~accountability_nlp.cleaning.clean_text`).
    """
    # Shares are computed for the whole batch at once; only the final pick
    # of non-overlapping spans runs note by note.
    matrix = matrix.tocsr()
    matrix.sort_indices()
    n_notes, n_columns = matrix.shape
    entry_note = np.repeat(np.arange(n_notes), np.diff(matrix.indptr))
    entry_key = entry_note * n_columns + matrix.indices
    labels = np.asarray(labels, dtype=np.int64)

    # A term column's share is split evenly over the occurrences hashed to it.
    term_note = np.repeat(np.arange(n_notes), np.diff(batch.term_indptr))
    term_key = term_note * n_columns + columns
    where = np.minimum(np.searchsorted(entry_key, term_key), max(len(entry_key) - 1, 0))
    value = np.where(entry_key[where] == term_key, matrix.data[where], 0.0) if len(where) else 0.0
    # ``where`` is the term's (note, column) entry: counting terms per entry
    # counts the occurrences hashed to each column of each note.
    n_occurrences = np.bincount(where, minlength=len(entry_key))[where] if len(where) else 1
    term_share = value * weights[labels[term_note], columns] / n_occurrences

    # A cue column's share is split over the cue spans of the categories it names.
    points_at, negated_name = _cue_links(tuple(cue_names))
    cue_entry = np.flatnonzero(matrix.indices >= n_features)
    cue_column = matrix.indices[cue_entry] - n_features
    left, match = _pairs(entry_note[cue_entry], batch.cue_indptr)
    linked = points_at[cue_column[left], batch.cue_category[match]]
    left, match = left[linked], match[linked]
    n_matches = np.bincount(left, minlength=len(cue_entry))
    entry_share = (
        matrix.data[cue_entry]
        * weights[labels[entry_note[cue_entry]], matrix.indices[cue_entry]]
        / np.maximum(n_matches, 1)
    )
    cue_share = entry_share[left]
    cue_signal = batch.cue_category[match] + np.where(
        negated_name[cue_column[left]], len(CATEGORIES), 0
    )

    # Sum the shares per span (note, start, end), in the order they arise.
    width = int(np.diff(batch.token_indptr).max(initial=0)) + 1
    note = np.concatenate([term_note, entry_note[cue_entry][left]])
    start = np.concatenate([batch.term_starts, batch.cue_starts[match]])
    end = np.concatenate([batch.term_ends, batch.cue_ends[match]])
    share = np.concatenate([term_share, cue_share])
    spans, first_seen, span_of = np.unique(
        (note * width + start) * width + end, return_index=True, return_inverse=True
    )
    span_weight = np.bincount(span_of, weights=share, minlength=len(spans))
    # Which signal describes a span: that of the cue that contributed most.
    span_signal = np.full(len(spans), -1)
    cue_span = span_of[len(term_share) :]
    best = _stable_order(cue_span, _stable_order(-cue_share))
    is_first = np.ones(len(best), dtype=bool)
    is_first[1:] = cue_span[best][1:] != cue_span[best][:-1]
    span_signal[cue_span[best][is_first]] = cue_signal[best][is_first]

    # Per note, spans of positive weight, strongest first (ties: first seen).
    span_note, span_in_note = np.divmod(spans, width * width)
    positive = np.flatnonzero(span_weight > 0)
    by_first_seen = positive[np.argsort(first_seen[positive])]  # unique: any sort will do
    ranked = _stable_order(span_note, _stable_order(-span_weight, by_first_seen))
    bounds = np.searchsorted(span_note[ranked], np.arange(n_notes + 1)).tolist()
    # Python lists once per batch: cheaper than numpy indexing once per note.
    candidates = (
        span_in_note[ranked].tolist(),
        span_weight[ranked].tolist(),
        span_signal[ranked].tolist(),
    )
    tokens = (
        batch.token_char_starts.tolist(),
        batch.token_char_ends.tolist(),
        batch.token_stop_or_punct.tolist(),
    )
    first_tokens = batch.token_indptr.tolist()
    return [
        _pick(candidates, range(bounds[i], bounds[i + 1]), width, first_tokens[i], tokens, top_k)
        for i in range(n_notes)
    ]


def _pick(
    candidates: tuple[list[int], list[float], list[int]],
    rows: range,
    width: int,
    first: int,
    tokens: tuple[list[int], list[int], list[bool]],
    top_k: int,
) -> list[PickedSpan]:
    """The strongest spans of one note that do not overlap, at most ``top_k``.

    ``candidates`` holds the batch's ranked spans (encoded ``start * width +
    end``), weights and signals, of which ``rows`` are this note's; ``first``
    is the note's first token in ``tokens`` (character offsets and stop-word
    flags of the batch's tokens).
    """
    spans, weights, signals = candidates
    char_starts, char_ends, trivial = tokens
    chosen: list[PickedSpan] = []
    taken = 0  # bit i set: token i lies in a chosen span
    for row in rows:
        if len(chosen) >= top_k:
            break
        start, end = divmod(spans[row], width)
        covers = (1 << end) - (1 << start)
        if taken & covers:
            continue
        signal = signals[row]
        if end - start == 1 and signal < 0 and trivial[first + start]:
            continue  # a lone "the" or "i" explains nothing to a reader
        taken |= covers
        chosen.append(
            (char_starts[first + start], char_ends[first + end - 1], signal, weights[row])
        )
    return chosen
