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
_KEPT_ORTHS = frozenset(hash_string(mark) for mark in _KEPT_MARKS)
# Folding constants for term keys (an odd 64-bit multiplier and a salt).
_FOLD_INT = 0x9E3779B97F4A7C15
_NEGATION_SALT_INT = 0xC2B2AE3D27D4EB4F
_MASK = (1 << 64) - 1
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
    term_keys : list of int
        One unsigned 64-bit key per n-gram term occurrence (see :func:`featurize`).
    term_spans : list of tuple of int
        Token offsets ``(start, end)`` of each term.
    n_plain : int
        The first ``n_plain`` terms are n-grams; the rest are ``NOT_<lemma>`` terms.
    named : dict of str to float
        Named features (cue counts and their combinations).
    cues : list of CueMatch
        The cue spans the named features were built from.
    """

    term_keys: list[int]
    term_spans: list[tuple[int, int]]
    n_plain: int
    named: dict[str, float]
    cues: list[CueMatch]

    @property
    def negated(self) -> list[bool]:
        """Whether each term is a ``NOT_<lemma>`` term."""
        return [i >= self.n_plain for i in range(len(self.term_keys))]


@dataclass(frozen=True)
class _Rows:
    """Per-token lemma key, flags, sentence and clause index, negation scope."""

    lemma_keys: list[int]
    punct: list[bool]
    sentence: list[int]
    clause: list[int]
    scoped: list[bool]


def _token_rows(doc: Doc) -> _Rows:
    # One pass in plain Python over one array: on a 40-word note this beats
    # a dozen numpy calls, each of which costs more to set up than to run.
    keys: list[int] = []
    punct: list[bool] = []
    sentence: list[int] = []
    clause: list[int] = []
    scoped: list[bool] = []
    current_sentence, current_clause, remaining = -1, 0, 0
    rows = doc.to_array([LEMMA, IS_PUNCT, IS_SPACE, SENT_START, ORTH]).tolist()
    for lemma, is_punct, is_space, sent_start, orth in rows:
        if sent_start == 1 or current_sentence < 0:
            current_sentence += 1
        mark = bool(is_punct or is_space)
        if mark:
            current_clause += 1
        is_break = mark and orth not in _KEPT_ORTHS
        in_scope = False
        if is_break or lemma in _BREAKER_KEYS:
            remaining = 0
        elif lemma in _NEGATOR_KEYS:
            remaining = _SCOPE_WORDS
        elif remaining:
            in_scope = True
            remaining -= 1
        keys.append(lemma)
        punct.append(is_break)
        sentence.append(current_sentence)
        clause.append(current_clause)
        scoped.append(in_scope)
    return _Rows(keys, punct, sentence, clause, scoped)


def _terms(
    rows: _Rows, ngram_range: tuple[int, int], negation_marking: bool
) -> tuple[list[int], list[tuple[int, int]], int]:
    """Keys and spans of the n-grams within each sentence; count of plain n-grams."""
    words = [i for i, is_punct in enumerate(rows.punct) if not is_punct]
    unigrams = [rows.lemma_keys[i] for i in words]
    sentence = [rows.sentence[i] for i in words]
    keys: list[int] = []
    spans: list[tuple[int, int]] = []
    low, high = ngram_range
    grams = unigrams
    for n in range(1, high + 1):
        if n > 1:
            # Fold the next word into each (n-1)-gram's key, modulo 2**64.
            grams = [(g * _FOLD_INT + u) & _MASK for g, u in zip(grams, unigrams[n - 1 :])]
        if n < low:
            continue
        if n == 1:
            keys += grams
            spans += [(i, i + 1) for i in words]
            continue
        for k, key in enumerate(grams):
            if sentence[k] == sentence[k + n - 1]:
                keys.append(key)
                spans.append((words[k], words[k + n - 1] + 1))
    n_plain = len(keys)
    if negation_marking:
        for i, in_scope in enumerate(rows.scoped):
            if in_scope:
                keys.append(rows.lemma_keys[i] ^ _NEGATION_SALT_INT)
                spans.append((i, i + 1))
    return keys, spans, n_plain


def _cue_matches(doc: Doc, rows: _Rows) -> list[CueMatch]:
    matches = doc._.get(CUES_KEY) if Doc.has_extension(CUES_KEY) else None
    return [
        CueMatch(
            category,
            start,
            end,
            rows.sentence[start],
            rows.clause[start],
            rows.scoped[start],
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
    # Plain loops over (start, unit) pairs: this runs seven times per note.
    if same_sentence:
        followers = [(b.start, b.sentence) for c in then for b in by_category.get(c, ())]
    else:
        followers = [(b.start, b.clause) for c in then for b in by_category.get(c, ())]
    if not followers:
        return 0
    count = 0
    for category in first:
        for a in by_category.get(category, ()):
            start, unit = a.start, (a.sentence if same_sentence else a.clause)
            for b_start, b_unit in followers:
                if b_unit == unit and 0 < b_start - start <= window:
                    count += 1
                    break
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
    doc: Doc,
    *,
    ngram_range: tuple[int, int] = (1, 3),
    negation_marking: bool = True,
    parse: bool = True,
) -> NoteFeatures:
    """Return the term keys and spans, the named features and the cues of a note.

    Terms are n-grams over lemmas within each sentence, punctuation skipped
    (except "!" and "?"), plus ``NOT_<lemma>`` terms for words in a
    negation's scope; masked spans appear as their placeholder (``<email>``).
    The named features are the cue counts and their combinations, plus
    :func:`parse_features` when ``parse`` is true and the ``Doc`` is parsed.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> note = featurize(get_pipeline()("Wasn't my fault."), ngram_range=(1, 2))
    >>> len(note.term_keys), sum(note.negated)
    (9, 2)
    >>> note.named["neg:responsibility"] > 0
    True
    """
    if not len(doc):
        return NoteFeatures([], [], 0, {}, [])
    rows = _token_rows(doc)
    keys, spans, n_plain = _terms(rows, ngram_range, negation_marking)
    cues = _cue_matches(doc, rows)
    named = _named_features(cues)
    if parse:
        named.update(parse_features(doc))
    return NoteFeatures(keys, spans, n_plain, named, cues)


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
        for (start, end), negated in zip(note.term_spans, note.negated)
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
