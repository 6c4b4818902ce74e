"""Features of a note: pure functions of an annotated ``Doc``.

Two kinds, both readable by a person:

* **terms**: word n-grams over lemmas (stop words and one-letter words kept:
  "I", "we", "never", "should" carry the signal), plus ``NOT_<lemma>`` for
  words inside the scope of a negation, so "not my fault" and "my fault" differ;
* **named features**: counts built from the cue spans the pipeline marked,
  and from how they combine: a first-person agent of a failure ("I never
  sent", "we missed"), an outside party as the agent ("legal didn't reply"),
  negated cues ("wasn't the price"), regret about one's own acts, commitments,
  empty promises, sarcastic self-blame, helplessness together with blame.

When the ``Doc`` carries a dependency parse (an opt-in trained pipeline),
parse-based features are added: the grammatical subject of failure verbs and
passive voice.

This runs once per note on the prediction path, so it works on token arrays
(``Doc.to_array``) rather than ``Token`` objects, and represents each term by
a 64-bit key computed from spaCy's lemma hashes instead of a string: an
n-gram's key folds its words' hashes together. Keys are stable across
processes and machines, and no string of the note is kept in them.
:func:`note_terms` spells the terms out for people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from spacy.attrs import DEP, IS_PUNCT, IS_SPACE, LEMMA, ORTH, SENT_START
from spacy.strings import hash_string  # type: ignore[attr-defined]  # not in the stubs
from spacy.tokens import Doc

from .cues import CUE_LEXICON
from .preprocessing import CUES_KEY

__all__ = [
    "NEGATION_PREFIX",
    "CueMatch",
    "NoteFeatures",
    "cue_features",
    "featurize",
    "note_terms",
    "parse_features",
    "term_text",
]

#: Prefix of terms that sit inside the scope of a negation.
NEGATION_PREFIX = "NOT_"

_NEGATORS = frozenset({"not", "never", "no", "nothing", "without", "nobody", "none", "cannot"})
_NEGATOR_KEYS = frozenset(hash_string(word) for word in _NEGATORS)
# A negation's scope ends at punctuation, at a turn ("but"), or after this
# many words: "wasn't the price, I never followed up" negates "the price" only.
_SCOPE_WORDS = 3
_SCOPE_BREAKERS = frozenset({"but", "however", "though", "although", "and", "so", "because"})
_BREAKER_KEYS = frozenset(hash_string(word) for word in _SCOPE_BREAKERS)
# Punctuation kept as terms: they carry tone.
_KEPT_MARKS = ("!", "?")
_KEPT_PUNCT = np.array(sorted(hash_string(mark) for mark in _KEPT_MARKS), dtype=np.uint64)
# Folding constants for term keys (odd 64-bit multipliers; array arithmetic wraps).
_FOLD = np.uint64(0x9E3779B97F4A7C15)
_NEGATION_SALT = np.uint64(0xC2B2AE3D27D4EB4F)
# Tokens between an agent and its verb: "I (really) never", "they had not".
_AGENT_WINDOW = 4
# Tokens between a turn ("but") and what it turns to.
_TURN_WINDOW = 12
_SELF = ("self_agent",)
_EXTERNAL = ("external_actor",)
_FAILURE = ("negation", "failure_verb")
_OWNING = ("responsibility", "regret", "commitment")
_BLAME = ("external_actor", "external_event", "self_defense")


class CueMatch(NamedTuple):
    """One cue phrase found in a note (a named tuple: cheap to create per cue).

    Attributes
    ----------
    category : str
        Key of :data:`accountability_nlp.cues.CUE_LEXICON`.
    start, end : int
        Token offsets in the ``Doc``.
    sentence : int
        Index of the sentence the cue starts in.
    clause : int
        Index of the stretch between two punctuation marks the cue starts in.
    negated : bool
        Whether the cue lies in the scope of a preceding negation.
    """

    category: str
    start: int
    end: int
    sentence: int
    clause: int
    negated: bool


@dataclass(frozen=True)
class NoteFeatures:
    """Everything the classifier and the explanations need from one note.

    Attributes
    ----------
    term_keys : ndarray of uint64
        One key per n-gram term occurrence (see :func:`featurize`).
    term_spans : ndarray of int, shape (n_terms, 2)
        Token offsets ``(start, end)`` of each term.
    negated : ndarray of bool
        Whether each term is a ``NOT_<lemma>`` term.
    named : dict of str to float
        Named features (cue counts and their combinations).
    cues : list of CueMatch
        The cue spans the named features were built from.
    """

    term_keys: np.ndarray
    term_spans: np.ndarray
    negated: np.ndarray
    named: dict[str, float]
    cues: list[CueMatch]


@dataclass(frozen=True)
class _Rows:
    """Per-token lemma keys and flags, as arrays, plus the negation scope."""

    lemma_keys: np.ndarray
    punct: np.ndarray
    sentence: np.ndarray
    sentence_list: list[int]
    clause: list[int]
    scoped: np.ndarray


def _token_rows(doc: Doc) -> _Rows:
    array = doc.to_array([LEMMA, IS_PUNCT, IS_SPACE, SENT_START, ORTH])
    keys = array[:, 0]
    marks = (array[:, 1] != 0) | (array[:, 2] != 0)
    orths = array[:, 4]
    punct = marks & (orths != _KEPT_PUNCT[0]) & (orths != _KEPT_PUNCT[1])
    starts = array[:, 3].astype(np.int64) == 1  # -1 (not a start) is stored wrapped
    sentence = np.maximum(np.cumsum(starts) - 1, 0)
    scoped = _negation_scope(keys.tolist(), punct.tolist())
    return _Rows(keys, punct, sentence, sentence.tolist(), np.cumsum(marks).tolist(), scoped)


def _negation_scope(keys: list[int], punct: list[bool]) -> np.ndarray:
    """Flag the words that a preceding negation governs."""
    scoped = np.zeros(len(keys), dtype=bool)
    remaining = 0
    for i, (key, is_punct) in enumerate(zip(keys, punct)):
        if is_punct or key in _BREAKER_KEYS:
            remaining = 0
        elif key in _NEGATOR_KEYS:
            remaining = _SCOPE_WORDS
        elif remaining:
            scoped[i] = True
            remaining -= 1
    return scoped


def _terms(
    rows: _Rows, ngram_range: tuple[int, int], negation_marking: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys, spans and negation flags of the n-grams within each sentence."""
    words = np.flatnonzero(~rows.punct)
    unigrams = rows.lemma_keys[words]
    sentence = rows.sentence[words]
    keys, starts, ends = [], [], []
    low, high = ngram_range
    grams = unigrams
    for n in range(1, high + 1):
        if n > 1:
            # Fold the next word into each (n-1)-gram's key.
            grams = grams[:-1] * _FOLD + unigrams[n - 1 :]
        if n >= low and len(grams):
            same = sentence[: len(grams)] == sentence[n - 1 :]
            keys.append(grams[same])
            starts.append(words[: len(grams)][same])
            ends.append(words[n - 1 :][same] + 1)
    n_plain = sum(len(k) for k in keys)
    if negation_marking:
        scoped = np.flatnonzero(rows.scoped)
        keys.append(rows.lemma_keys[scoped] ^ _NEGATION_SALT)
        starts.append(scoped)
        ends.append(scoped + 1)
    if not keys:
        return np.zeros(0, np.uint64), np.zeros((0, 2), np.int64), np.zeros(0, bool)
    key_array = np.concatenate(keys).astype(np.uint64)
    spans = np.stack([np.concatenate(starts), np.concatenate(ends)], axis=1).astype(np.int64)
    negated = np.arange(len(key_array)) >= n_plain
    return key_array, spans, negated


def _cue_matches(doc: Doc, rows: _Rows) -> list[CueMatch]:
    matches = doc._.get(CUES_KEY) if Doc.has_extension(CUES_KEY) else None
    return [
        CueMatch(
            category,
            start,
            end,
            rows.sentence_list[start],
            rows.clause[start],
            bool(rows.scoped[start]),
        )
        for category, start, end in matches or ()
    ]


def _followed_within(
    by_category: dict[str, list[CueMatch]],
    first: tuple[str, ...],
    then: tuple[str, ...],
    window: int,
    *,
    same_sentence: bool = False,
) -> int:
    """Count cues of ``first`` followed closely by ``then`` in one clause (or sentence)."""
    followers = [b for category in then for b in by_category.get(category, ())]
    if not followers:
        return 0
    count = 0
    for category in first:
        for a in by_category.get(category, ()):
            unit = a.sentence if same_sentence else a.clause
            if any(
                (b.sentence if same_sentence else b.clause) == unit
                and 0 < b.start - a.start <= window
                for b in followers
            ):
                count += 1
    return count


def _named_features(matches: list[CueMatch]) -> dict[str, float]:
    counts: dict[str, float] = {}
    by_category: dict[str, list[CueMatch]] = {}
    last_sentence = max((m.sentence for m in matches), default=-1)
    for m in matches:
        by_category.setdefault(m.category, []).append(m)
        name = ("neg:" if m.negated else "cue:") + m.category
        counts[name] = counts.get(name, 0.0) + 1.0
        if m.sentence == last_sentence:
            counts["end:" + m.category] = counts.get("end:" + m.category, 0.0) + 1.0

    combos = {
        "self_failure": _followed_within(by_category, _SELF, _FAILURE, _AGENT_WINDOW),
        "external_failure": _followed_within(by_category, _EXTERNAL, _FAILURE, _AGENT_WINDOW),
        "self_regret": _followed_within(by_category, _SELF, ("regret",), 2),
        "external_regret": _followed_within(by_category, _EXTERNAL, ("regret",), 2),
        "contrast_then_self": _followed_within(
            by_category, ("contrast",), _OWNING + _SELF, _TURN_WINDOW, same_sentence=True
        ),
        "contrast_then_blame": _followed_within(
            by_category, ("contrast",), _BLAME, _TURN_WINDOW, same_sentence=True
        ),
        "sarcastic_self_blame": _followed_within(
            by_category, ("sarcasm",), ("responsibility",), _AGENT_WINDOW
        ),
    }
    counts.update({name: float(value) for name, value in combos.items() if value})
    owned = any(not m.negated for c in _OWNING for m in by_category.get(c, ()))
    if "empty_promise" in by_category and not owned:
        counts["empty_promise_only"] = 1.0
    if "helplessness" in by_category and any(c in by_category for c in _BLAME):
        counts["helpless_and_blame"] = 1.0
    external = sum(len(by_category.get(c, ())) for c in ("external_actor", "external_event"))
    if external >= 2 and not owned and "helplessness" not in by_category:
        # A list of outside causes with no part owned: deflection's plainest form.
        counts["external_causes_only"] = 1.0
    if not owned and "self_agent" not in by_category:
        counts["no_self_reference"] = 1.0
    # log1p: one repeated word should not dominate a note.
    return {name: math.log1p(value) for name, value in counts.items()}


def featurize(
    doc: Doc, *, ngram_range: tuple[int, int] = (1, 3), negation_marking: bool = True
) -> NoteFeatures:
    """Return the term keys and spans, the named features and the cues of a note.

    Terms are n-grams over lemmas within each sentence, punctuation skipped
    (except "!" and "?"), plus ``NOT_<lemma>`` terms for words in a
    negation's scope; masked spans appear as their placeholder (``<email>``).
    The named features are the cue counts and their combinations, plus
    :func:`parse_features` when the ``Doc`` is parsed.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> note = featurize(get_pipeline()("Wasn't my fault."), ngram_range=(1, 2))
    >>> len(note.term_keys), int(note.negated.sum())
    (9, 2)
    >>> note.named["neg:responsibility"] > 0
    True
    """
    if not len(doc):
        empty = np.zeros(0, np.uint64)
        return NoteFeatures(empty, np.zeros((0, 2), np.int64), np.zeros(0, bool), {}, [])
    rows = _token_rows(doc)
    keys, spans, negated = _terms(rows, ngram_range, negation_marking)
    cues = _cue_matches(doc, rows)
    named = _named_features(cues)
    named.update(parse_features(doc))
    return NoteFeatures(keys, spans, negated, named, cues)


def term_text(doc: Doc, start: int, end: int, negated: bool = False) -> str:
    """Spell out the term at tokens ``start:end`` as the classifier sees it.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> term_text(get_pipeline()("We MISSED it."), 0, 2)
    'we miss'
    """
    words = [
        token.lemma_
        for token in doc[start:end]
        if not (token.is_punct or token.is_space) or token.text in _KEPT_MARKS
    ]
    return (NEGATION_PREFIX if negated else "") + " ".join(words)


def note_terms(
    doc: Doc, *, ngram_range: tuple[int, int] = (1, 3), negation_marking: bool = True
) -> list[str]:
    """Return the n-gram terms of a note as strings, for people to read.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> note_terms(get_pipeline()("Wasn't my fault."), ngram_range=(1, 1))
    ['be', 'not', 'my', 'fault', 'NOT_my', 'NOT_fault']
    """
    note = featurize(doc, ngram_range=ngram_range, negation_marking=negation_marking)
    return [
        term_text(doc, start, end, negated)
        for (start, end), negated in zip(note.term_spans.tolist(), note.negated.tolist())
    ]


def cue_features(doc: Doc) -> dict[str, float]:
    """Return the named cue features of a note.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> features = cue_features(get_pipeline()("I never sent the recap. My miss."))
    >>> features["self_failure"] > 0, features["cue:responsibility"] > 0
    (True, True)
    """
    return featurize(doc, ngram_range=(1, 1)).named


_FAILURE_LEMMAS = frozenset(CUE_LEXICON["failure_verb"])
_SELF_LEMMAS = frozenset({"i", "we"})


def parse_features(doc: Doc) -> dict[str, float]:
    """Return features that need a dependency parse (empty without one).

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> parse_features(get_pipeline()("I missed it."))  # blank pipeline: no parse
    {}
    """
    # Doc.has_annotation walks every Token; the array check does not.
    if not len(doc) or not doc.to_array(DEP).any():
        return {}
    counts: dict[str, float] = {}
    for token in doc:
        dep = token.dep_
        if dep in ("nsubjpass", "auxpass"):
            counts["dep:passive"] = 1.0
        if dep != "nsubj":
            continue
        head = token.head
        negated = any(child.dep_ == "neg" for child in head.children)
        failing = head.lemma_ in _FAILURE_LEMMAS or negated
        who = "self" if token.lemma_.lower() in _SELF_LEMMAS else "other"
        if failing:
            counts[f"dep:{who}_subject_of_failure"] = 1.0
        if negated:
            counts[f"dep:{who}_subject_negated"] = 1.0
    return counts
