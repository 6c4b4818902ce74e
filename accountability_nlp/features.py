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

This is the prediction path's hot loop, so :func:`featurize_batch` works on
a whole batch of notes at once: one ``Doc.to_array`` per note, then numpy
over the batch's tokens end to end, never a Python loop per token. Each term
is a 64-bit key computed from spaCy's lemma hashes instead of a string: an
n-gram's key folds its words' hashes together. Keys are stable across
processes and machines, and no string of the note is kept in them.
:func:`note_terms` spells the terms out for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from spacy.attrs import DEP, IDX, IS_PUNCT, IS_SPACE, IS_STOP, LEMMA, LENGTH, ORTH, SENT_START
from spacy.strings import hash_string  # type: ignore[attr-defined]  # not in the stubs
from spacy.tokens import Doc

from .cues import CATEGORIES, CUE_LEXICON
from .preprocessing import CUES_KEY, get_doc_value

__all__ = [
    "NAMED_FEATURES",
    "NEGATION_PREFIX",
    "CueMatch",
    "FeatureBatch",
    "NoteFeatures",
    "cue_features",
    "featurize",
    "featurize_batch",
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


# (name, first categories, then categories, window in tokens, same sentence
# rather than same clause): "a cue of `first` followed closely by one of `then`".
_COMBO_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], int, bool], ...] = (
    ("self_failure", _SELF, _FAILURE, _AGENT_WINDOW, False),
    ("external_failure", _EXTERNAL, _FAILURE, _AGENT_WINDOW, False),
    ("self_regret", _SELF, ("regret",), 2, False),
    ("external_regret", _EXTERNAL, ("regret",), 2, False),
    ("contrast_then_self", ("contrast",), _OWNING + _SELF, _TURN_WINDOW, True),
    ("contrast_then_blame", ("contrast",), _BLAME, _TURN_WINDOW, True),
    ("sarcastic_self_blame", ("sarcasm",), ("responsibility",), _AGENT_WINDOW, False),
)
_FLAGS = ("empty_promise_only", "helpless_and_blame", "external_causes_only", "no_self_reference")
_PARSE_FEATURES = (
    "dep:passive",
    "dep:self_subject_of_failure",
    "dep:other_subject_of_failure",
    "dep:self_subject_negated",
    "dep:other_subject_negated",
)
#: Every named feature, in a fixed order: batches carry indices into it.
NAMED_FEATURES: tuple[str, ...] = (
    *(f"{kind}:{category}" for kind in ("cue", "neg", "end") for category in CATEGORIES),
    *(rule[0] for rule in _COMBO_RULES),
    *_FLAGS,
    *_PARSE_FEATURES,
)
_NAMED_ID = {name: i for i, name in enumerate(NAMED_FEATURES)}
_CATEGORY_ID = {category: i for i, category in enumerate(CATEGORIES)}
_N_CATEGORIES = len(CATEGORIES)


def _category_ids(categories: tuple[str, ...]) -> np.ndarray:
    return np.array([_CATEGORY_ID[c] for c in categories], dtype=np.int64)


def _in_categories(categories: tuple[str, ...]) -> np.ndarray:
    """A mask over category indices: ``mask[cue_category]`` is cheaper than numpy.isin."""
    mask = np.zeros(_N_CATEGORIES, dtype=bool)
    mask[_category_ids(categories)] = True
    return mask


# Character offsets and stop-word flags ride along for the explanations.
_ATTRS = [LEMMA, IS_PUNCT, IS_SPACE, SENT_START, ORTH, IDX, LENGTH, IS_STOP]
_KEPT = np.array(sorted(_KEPT_ORTHS), dtype=np.uint64)
_NEGATOR_ARRAY = np.array(sorted(_NEGATOR_KEYS), dtype=np.uint64)
_BREAKER_ARRAY = np.array(sorted(_BREAKER_KEYS), dtype=np.uint64)
_FOLD = np.uint64(_FOLD_INT)
_NEGATION_SALT = np.uint64(_NEGATION_SALT_INT)
_IS_OWNING = _in_categories(_OWNING)
_BLAME_IDS = _category_ids(_BLAME)
# Per combination rule: masks of its leading and following categories.
_COMBO_MASKS = [
    (_in_categories(first), _in_categories(then)) for _, first, then, _, _ in _COMBO_RULES
]


def _indptr(owner: np.ndarray, n: int) -> np.ndarray:
    """Row pointer of items sorted by ``owner`` (values in ``range(n)``)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=indptr[1:])
    return indptr


@dataclass(frozen=True)
class _Tokens:
    """The tokens of a batch of notes, one array entry per token, notes end to end.

    Sentence and clause indices count across the batch, so two tokens share
    one only if they share a note too.
    """

    offsets: np.ndarray  # index of each note's first token; one more entry at the end
    note: np.ndarray  # which note each token belongs to
    lemma: np.ndarray  # lemma hash
    is_break: np.ndarray  # punctuation or space (not "!"/"?"): ends n-grams and scopes
    sentence: np.ndarray
    clause: np.ndarray  # stretch between two punctuation marks or spaces
    clause_in_note: np.ndarray  # the same, counted from 0 in each note
    scoped: np.ndarray  # inside the scope of a preceding negation
    char_start: np.ndarray  # character offset in the note
    char_end: np.ndarray
    stop_or_punct: np.ndarray  # a stop word or punctuation


def _token_table(docs: Sequence[Doc]) -> _Tokens:
    lengths = np.fromiter((len(doc) for doc in docs), dtype=np.int64, count=len(docs))
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # One Doc.to_array per note, then numpy over the whole batch at once.
    arrays = [doc.to_array(_ATTRS) for doc in docs if len(doc)]
    rows = np.concatenate(arrays) if arrays else np.zeros((0, len(_ATTRS)), dtype=np.uint64)
    lemma, is_punct, is_space, sent_start, orth, idx, length, is_stop = rows.T
    position = np.arange(len(rows))
    first = np.zeros(len(rows), dtype=bool)
    first[offsets[:-1][lengths > 0]] = True
    mark = (is_punct != 0) | (is_space != 0)
    is_break = mark & ~np.isin(orth, _KEPT)
    sentence = np.cumsum((sent_start == 1) | first) - 1
    clause = np.cumsum(mark | first)
    # Marks before each token in its own note, the token included.
    marks = np.cumsum(mark)
    clause_in_note = marks - np.repeat(marks[first] - mark[first], lengths[lengths > 0])
    # A negation's scope: the words after a negator, up to _SCOPE_WORDS, until
    # a break. Each token looks back to the last negator, break or note start.
    reset = is_break | np.isin(lemma, _BREAKER_ARRAY)
    negator = ~reset & np.isin(lemma, _NEGATOR_ARRAY)
    last = np.maximum.accumulate(np.where(reset | negator | first, position, -1))
    scoped = ~(reset | negator) & negator[last] & (position - last <= _SCOPE_WORDS)
    return _Tokens(
        offsets=offsets,
        note=np.repeat(np.arange(len(docs)), lengths),
        lemma=lemma,
        is_break=is_break,
        sentence=sentence,
        clause=clause,
        clause_in_note=clause_in_note,
        scoped=scoped,
        char_start=idx.astype(np.int64),
        char_end=(idx + length).astype(np.int64),
        stop_or_punct=(is_stop != 0) | (is_punct != 0),
    )


def _batch_terms(
    tokens: _Tokens, ngram_range: tuple[int, int], negation_marking: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keys, global token spans and negation flags of all terms, grouped by note.

    Within a note: unigrams, then longer n-grams, then ``NOT_`` terms, each
    in text order.
    """
    words = np.flatnonzero(~tokens.is_break)
    unigrams = tokens.lemma[words]
    sentence = tokens.sentence[words]
    keys, starts, ends = [], [], []
    low, high = ngram_range
    grams = unigrams
    for n in range(1, high + 1):
        if n > 1:
            # Fold the next word into each (n-1)-gram's key, modulo 2**64.
            grams = grams[:-1] * _FOLD + unigrams[n - 1 :]
        if n < low:
            continue
        within = sentence[: len(grams)] == sentence[n - 1 :]  # n-grams stay in a sentence
        keys.append(grams[within])
        starts.append(words[: len(grams)][within])
        ends.append(words[n - 1 :][within] + 1)
    n_plain = sum(len(k) for k in keys)
    if negation_marking:
        scoped = np.flatnonzero(tokens.scoped)
        keys.append(tokens.lemma[scoped] ^ _NEGATION_SALT)
        starts.append(scoped)
        ends.append(scoped + 1)
    all_starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    negated = np.arange(len(all_starts)) >= n_plain
    order = np.argsort(tokens.note[all_starts], kind="stable")
    return (
        np.concatenate(keys)[order] if keys else np.zeros(0, dtype=np.uint64),
        all_starts[order],
        (np.concatenate(ends) if ends else all_starts)[order],
        negated[order],
    )


@dataclass(frozen=True)
class _Cues:
    """The cue matches of a batch, grouped by note; starts are batch token indices."""

    note: np.ndarray
    category: np.ndarray
    start: np.ndarray
    end: np.ndarray
    negated: np.ndarray


def _batch_cues(docs: Sequence[Doc], tokens: _Tokens) -> _Cues:
    if Doc.has_extension(CUES_KEY):
        found = [get_doc_value(doc, CUES_KEY) or () for doc in docs]
    else:
        found = [() for _ in docs]
    counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
    note = np.repeat(np.arange(len(docs)), counts)
    flat = [match for matches in found for match in matches]
    categories, starts, ends = zip(*flat) if flat else ((), (), ())
    category = np.array([_CATEGORY_ID[c] for c in categories], dtype=np.int64)
    start = np.array(starts, dtype=np.int64) + tokens.offsets[note]
    end = np.array(ends, dtype=np.int64) + tokens.offsets[note]
    return _Cues(note, category, start, end, tokens.scoped[start])


def _followed_within(
    cues: _Cues, unit: np.ndarray, first: np.ndarray, then: np.ndarray, window: int, n_notes: int
) -> np.ndarray:
    """Per note: cues of ``first`` followed closely by one of ``then`` in the same unit.

    ``first`` and ``then`` are masks over category indices.
    """
    leading = first[cues.category]
    leaders = cues.start[leading]
    followers = np.unique(cues.start[then[cues.category]])
    if not len(leaders) or not len(followers):
        return np.zeros(n_notes, dtype=np.int64)
    # Units are runs of tokens, so if the nearest follower after a leader is
    # out of its unit, every later one is too.
    nearest = followers[
        np.minimum(np.searchsorted(followers, leaders, side="right"), len(followers) - 1)
    ]
    close = (nearest > leaders) & (nearest - leaders <= window) & (unit[nearest] == unit[leaders])
    return np.bincount(cues.note[leading][close], minlength=n_notes)


def _batch_named(
    tokens: _Tokens, cues: _Cues, n_notes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Note, feature index (into NAMED_FEATURES) and value of each named feature."""
    per_category = np.zeros((n_notes, _N_CATEGORIES), dtype=np.int64)
    np.add.at(per_category, (cues.note, cues.category), 1)
    sentence = tokens.sentence[cues.start]
    last_sentence = np.full(n_notes, -1, dtype=np.int64)
    np.maximum.at(last_sentence, cues.note, sentence)
    at_end = sentence == last_sentence[cues.note]
    # Keys note * F + feature of each cue count: cue:/neg: and end:.
    n_named = len(NAMED_FEATURES)
    kind_offset = np.where(cues.negated, _N_CATEGORIES, 0)
    keys = [
        cues.note * n_named + kind_offset + cues.category,
        cues.note[at_end] * n_named + 2 * _N_CATEGORIES + cues.category[at_end],
    ]
    counts: list[np.ndarray] = []
    for (name, _, _, window, same_sentence), (first, then) in zip(_COMBO_RULES, _COMBO_MASKS):
        unit = tokens.sentence if same_sentence else tokens.clause
        per_note = _followed_within(cues, unit, first, then, window, n_notes)
        hit = np.flatnonzero(per_note)
        keys.append(hit * n_named + _NAMED_ID[name])
        counts.append(per_note[hit])

    owned = np.zeros(n_notes, dtype=bool)
    owned[cues.note[_IS_OWNING[cues.category] & ~cues.negated]] = True
    has = per_category > 0
    external = per_category[:, _CATEGORY_ID["external_actor"]]
    external = external + per_category[:, _CATEGORY_ID["external_event"]]
    helpless = has[:, _CATEGORY_ID["helplessness"]]
    flags = {
        "empty_promise_only": has[:, _CATEGORY_ID["empty_promise"]] & ~owned,
        "helpless_and_blame": helpless & has[:, _BLAME_IDS].any(axis=1),
        # A list of outside causes with no part owned: deflection's plainest form.
        "external_causes_only": (external >= 2) & ~owned & ~helpless,
        "no_self_reference": ~owned & ~has[:, _CATEGORY_ID["self_agent"]],
    }
    nonempty = np.diff(tokens.offsets) > 0
    for name, flag in flags.items():
        keys.append(np.flatnonzero(flag & nonempty) * n_named + _NAMED_ID[name])

    # Cue counts come one key per occurrence; the rest with their counts.
    single, single_counts = np.unique(np.concatenate(keys[:2]), return_counts=True)
    n_flags = sum(len(k) for k in keys[2 + len(_COMBO_RULES) :])
    all_keys = np.concatenate([single, *keys[2:]])
    all_counts = np.concatenate([single_counts, *counts, np.ones(n_flags, dtype=np.int64)])
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_counts = all_keys[order], all_counts[order]
    # log1p: one repeated word should not dominate a note.
    return all_keys // n_named, all_keys % n_named, np.log1p(all_counts)


@dataclass(frozen=True)
class FeatureBatch:
    """The features of a batch of notes as flat arrays, grouped by note.

    Built by :func:`featurize_batch`; the vectorizer reads the arrays
    directly, and :meth:`note` gives one note's :class:`NoteFeatures`.

    Attributes
    ----------
    term_keys : ndarray of uint64
        One key per n-gram term occurrence, notes end to end.
    term_starts, term_ends : ndarray of int
        Token offsets of each term in its note.
    term_negated : ndarray of bool
        Whether each term is a ``NOT_<lemma>`` term.
    term_indptr : ndarray of int
        Terms of note ``i`` are ``term_indptr[i]:term_indptr[i + 1]``.
    named_ids, named_values, named_indptr : ndarray
        Named features: index into :data:`NAMED_FEATURES`, value, row pointer.
    cue_category, cue_starts, cue_ends, cue_sentences, cue_clauses, cue_negated, cue_indptr
        The cues: index into :data:`~accountability_nlp.cues.CATEGORIES`,
        token span, sentence and clause in the note, negation; row pointer.
    token_indptr, token_char_starts, token_char_ends, token_stop_or_punct : ndarray
        The tokens (for explanations): tokens of note ``i`` are
        ``token_indptr[i]:token_indptr[i + 1]``, with their character
        offsets in the note and whether each is a stop word or punctuation.
    """

    term_keys: np.ndarray
    term_starts: np.ndarray
    term_ends: np.ndarray
    term_negated: np.ndarray
    term_indptr: np.ndarray
    named_ids: np.ndarray
    named_values: np.ndarray
    named_indptr: np.ndarray
    cue_category: np.ndarray
    cue_starts: np.ndarray
    cue_ends: np.ndarray
    cue_sentences: np.ndarray
    cue_clauses: np.ndarray
    cue_negated: np.ndarray
    cue_indptr: np.ndarray
    token_indptr: np.ndarray
    token_char_starts: np.ndarray
    token_char_ends: np.ndarray
    token_stop_or_punct: np.ndarray

    def __len__(self) -> int:
        return len(self.term_indptr) - 1

    def named(self, i: int) -> dict[str, float]:
        """Named features of note ``i``."""
        span = slice(self.named_indptr[i], self.named_indptr[i + 1])
        return {
            NAMED_FEATURES[k]: v
            for k, v in zip(self.named_ids[span].tolist(), self.named_values[span].tolist())
        }

    def note(self, i: int) -> NoteFeatures:
        """The features of note ``i`` as Python lists."""
        terms = slice(self.term_indptr[i], self.term_indptr[i + 1])
        cues = slice(self.cue_indptr[i], self.cue_indptr[i + 1])
        return NoteFeatures(
            term_keys=self.term_keys[terms].tolist(),
            term_spans=list(zip(self.term_starts[terms].tolist(), self.term_ends[terms].tolist())),
            n_plain=int((~self.term_negated[terms]).sum()),
            named=self.named(i),
            cues=[
                CueMatch(CATEGORIES[c], *rest)
                for c, *rest in zip(
                    self.cue_category[cues].tolist(),
                    self.cue_starts[cues].tolist(),
                    self.cue_ends[cues].tolist(),
                    self.cue_sentences[cues].tolist(),
                    self.cue_clauses[cues].tolist(),
                    self.cue_negated[cues].tolist(),
                )
            ],
        )


def featurize_batch(
    docs: Sequence[Doc],
    *,
    ngram_range: tuple[int, int] = (1, 3),
    negation_marking: bool = True,
    parse: bool = True,
) -> FeatureBatch:
    """Return the features of many notes at once (see :func:`featurize`).

    One ``Doc.to_array`` per note; everything else runs as numpy operations
    over the whole batch, which is what makes batch prediction fast.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> nlp = get_pipeline()
    >>> batch = featurize_batch([nlp("We lost."), nlp(""), nlp("Legal never replied.")])
    >>> len(batch), batch.note(1).term_keys, batch.note(2).named["external_failure"] > 0
    (3, [], True)
    """
    tokens = _token_table(docs)
    keys, starts, ends, negated = _batch_terms(tokens, ngram_range, negation_marking)
    term_note = tokens.note[starts]
    cues = _batch_cues(docs, tokens)
    named_note, named_ids, named_values = _batch_named(tokens, cues, len(docs))
    if parse:
        extra = [(i, parse_features(doc)) for i, doc in enumerate(docs)]
        extra_note = [i for i, found in extra for _ in found]
        if extra_note:
            named_note = np.concatenate([named_note, extra_note])
            named_ids = np.concatenate(
                [named_ids, [_NAMED_ID[name] for _, found in extra for name in found]]
            )
            named_values = np.concatenate(
                [named_values, [value for _, found in extra for value in found.values()]]
            )
            order = np.argsort(named_note, kind="stable")
            named_note, named_ids, named_values = (
                named_note[order],
                named_ids[order],
                named_values[order],
            )
    cue_first = tokens.offsets[cues.note]  # notes with cues have tokens
    return FeatureBatch(
        term_keys=keys,
        term_starts=starts - tokens.offsets[term_note],
        term_ends=ends - tokens.offsets[term_note],
        term_negated=negated,
        term_indptr=_indptr(term_note, len(docs)),
        named_ids=named_ids,
        named_values=named_values,
        named_indptr=_indptr(named_note, len(docs)),
        cue_category=cues.category,
        cue_starts=cues.start - cue_first,
        cue_ends=cues.end - cue_first,
        cue_sentences=tokens.sentence[cues.start] - tokens.sentence[cue_first],
        cue_clauses=tokens.clause_in_note[cues.start],
        cue_negated=cues.negated,
        cue_indptr=_indptr(cues.note, len(docs)),
        token_indptr=tokens.offsets,
        token_char_starts=tokens.char_start,
        token_char_ends=tokens.char_end,
        token_stop_or_punct=tokens.stop_or_punct,
    )


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
    For many notes, :func:`featurize_batch` is much faster.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> note = featurize(get_pipeline()("Wasn't my fault."), ngram_range=(1, 2))
    >>> len(note.term_keys), sum(note.negated)
    (9, 2)
    >>> note.named["neg:responsibility"] > 0
    True
    """
    return featurize_batch(
        [doc], ngram_range=ngram_range, negation_marking=negation_marking, parse=parse
    ).note(0)


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
