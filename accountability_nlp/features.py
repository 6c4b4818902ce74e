"""Features of a note: pure functions of an annotated ``Doc``.

Two kinds, both readable by a person:

* **terms**: word n-grams over lemmas (stop words and one-letter words kept:
  "I", "we", "never", "should" carry the signal), plus ``NOT_<lemma>`` for
  words inside the scope of a negation, so "not my fault" and "my fault" differ;
* **cue features**: named counts built from the cue spans the pipeline marked,
  and from how they combine: a first-person agent of a failure ("I never
  sent", "we missed"), an outside party as the agent ("legal didn't reply"),
  negated cues ("wasn't the price"), regret about one's own acts, commitments,
  empty promises, sarcastic self-blame, helplessness together with blame.

When the ``Doc`` carries a dependency parse (an opt-in trained pipeline),
parse-based features are added: the grammatical subject of failure verbs and
passive voice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.attrs import IS_PUNCT, IS_SPACE, LEMMA, SENT_START
from spacy.tokens import Doc

from .cues import CUE_LEXICON
from .preprocessing import CUES_KEY

__all__ = [
    "NEGATION_PREFIX",
    "CueMatch",
    "cue_features",
    "cue_matches",
    "featurize",
    "iter_terms",
    "note_terms",
    "parse_features",
]

#: Prefix of terms that sit inside the scope of a negation.
NEGATION_PREFIX = "NOT_"

_NEGATORS = frozenset({"not", "never", "no", "nothing", "without", "nobody", "none", "cannot"})
# A negation's scope ends at punctuation, at a turn ("but"), or after this
# many words: "wasn't the price, I never followed up" negates "the price" only.
_SCOPE_WORDS = 3
_SCOPE_BREAKERS = frozenset({"but", "however", "though", "although", "and", "so", "because"})
# Punctuation kept as terms: they carry tone.
_KEPT_PUNCT = frozenset({"!", "?"})
# Tokens between an agent and its verb: "I (really) never", "they had not".
_AGENT_WINDOW = 4
_FAILURE = frozenset({"negation", "failure_verb"})
_SELF_CATEGORIES = frozenset({"responsibility", "regret", "commitment"})
_BLAME_CATEGORIES = frozenset({"external_actor", "self_defense"})


@dataclass(frozen=True)
class CueMatch:
    """One cue phrase found in a note.

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
class _Rows:
    """Per-token lemma, punctuation flag, sentence index and negation scope."""

    lemmas: list[str]
    punct: list[bool]
    sentence: list[int]
    clause: list[int]
    scoped: list[bool]


def _token_rows(doc: Doc) -> _Rows:
    """Read the per-token data once, from arrays rather than Token objects."""
    if not len(doc):
        return _Rows([], [], [], [], [])
    strings = doc.vocab.strings
    rows = doc.to_array([LEMMA, IS_PUNCT, IS_SPACE, SENT_START]).tolist()
    lemmas, punct, sentence, clause = [], [], [], []
    current = -1
    current_clause = 0
    has_sents = doc.has_annotation("SENT_START")
    for i, (lemma, is_punct, is_space, sent_start) in enumerate(rows):
        if i == 0 or (has_sents and sent_start == 1):
            current += 1
        text = strings[lemma]
        lemmas.append(text)
        punct.append(bool(is_punct or is_space) and text not in _KEPT_PUNCT)
        if is_punct or is_space:
            current_clause += 1
        sentence.append(current)
        clause.append(current_clause)
    return _Rows(lemmas, punct, sentence, clause, _negation_scope(lemmas, punct))


def _negation_scope(lemmas: list[str], punct: list[bool]) -> list[bool]:
    """Flag the words that a preceding negation governs."""
    scoped = [False] * len(lemmas)
    remaining = 0
    for i, (lemma, is_punct) in enumerate(zip(lemmas, punct)):
        if is_punct or lemma in _SCOPE_BREAKERS:
            remaining = 0
        elif lemma in _NEGATORS:
            remaining = _SCOPE_WORDS
        elif remaining:
            scoped[i] = True
            remaining -= 1
    return scoped


def iter_terms(
    doc: Doc, *, ngram_range: tuple[int, int] = (1, 3), negation_marking: bool = True
) -> Iterator[tuple[str, int, int]]:
    """Yield ``(term, start, end)`` for every n-gram term, with token offsets.

    Punctuation is skipped (except "!" and "?"); n-grams run across commas
    but not across sentence boundaries. Masked spans appear as their
    placeholder (``<email>``...).

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> doc = get_pipeline()("Wasn't my fault.")
    >>> [t for t, _, _ in iter_terms(doc, ngram_range=(1, 1))]
    ['be', 'not', 'my', 'fault', 'NOT_my', 'NOT_fault']
    """
    yield from _iter_terms(_token_rows(doc), ngram_range, negation_marking)


def _iter_terms(
    rows: _Rows, ngram_range: tuple[int, int], negation_marking: bool
) -> Iterator[tuple[str, int, int]]:
    lemmas, sentence = rows.lemmas, rows.sentence
    low, high = ngram_range
    words = [i for i, is_punct in enumerate(rows.punct) if not is_punct]
    for n in range(low, high + 1):
        for k in range(len(words) - n + 1):
            first, last = words[k], words[k + n - 1]
            if sentence[first] != sentence[last]:
                continue
            yield " ".join(lemmas[words[j]] for j in range(k, k + n)), first, last + 1
    if negation_marking:
        for i, scoped in enumerate(rows.scoped):
            if scoped:
                yield NEGATION_PREFIX + lemmas[i], i, i + 1


def note_terms(
    doc: Doc, *, ngram_range: tuple[int, int] = (1, 3), negation_marking: bool = True
) -> list[str]:
    """Return the n-gram terms of a note (see :func:`iter_terms`).

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> note_terms(get_pipeline()("We missed it"), ngram_range=(1, 2))
    ['we', 'miss', 'it', 'we miss', 'miss it']
    """
    return [
        term
        for term, _, _ in iter_terms(
            doc, ngram_range=ngram_range, negation_marking=negation_marking
        )
    ]


def cue_matches(doc: Doc) -> list[CueMatch]:
    """Return the cue spans of a note with their sentence and negation.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> [(m.category, m.negated) for m in cue_matches(get_pipeline()("not my fault"))
    ...  if m.category == "responsibility"]
    [('responsibility', True)]
    """
    return _cue_matches(doc, _token_rows(doc))


def _cue_matches(doc: Doc, rows: _Rows) -> list[CueMatch]:
    if CUES_KEY not in doc.spans:
        return []
    return [
        CueMatch(
            span.label_,
            span.start,
            span.end,
            rows.sentence[span.start],
            rows.clause[span.start],
            rows.scoped[span.start],
        )
        for span in doc.spans[CUES_KEY]
    ]


def _followed_within(
    matches: list[CueMatch],
    first: frozenset[str],
    then: frozenset[str],
    window: int,
    *,
    same: str = "clause",
) -> int:
    """Count cues of ``first`` followed closely by ``then`` in one clause or sentence."""
    count = 0
    for a in matches:
        if a.category not in first:
            continue
        unit = getattr(a, same)
        if any(
            b.category in then and getattr(b, same) == unit and 0 < b.start - a.start <= window
            for b in matches
        ):
            count += 1
    return count


def cue_features(doc: Doc) -> dict[str, float]:
    """Return the named cue features of a note.

    Counts are ``log1p``-damped so one repeated word does not dominate.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> features = cue_features(get_pipeline()("I never sent the recap. My miss."))
    >>> features["self_failure"] > 0, features["cue:responsibility"] > 0
    (True, True)
    """
    return _cue_features(cue_matches(doc))


def _cue_features(matches: list[CueMatch]) -> dict[str, float]:
    counts: dict[str, float] = {}

    def add(name: str, value: float = 1.0) -> None:
        if value:
            counts[name] = counts.get(name, 0.0) + value

    categories = {m.category for m in matches}
    last_sentence = max((m.sentence for m in matches), default=-1)
    for m in matches:
        add(("neg:" if m.negated else "cue:") + m.category)
        if m.sentence == last_sentence:
            add("end:" + m.category)

    self_agent = frozenset({"self_agent"})
    external = frozenset({"external_actor"})
    add("self_failure", _followed_within(matches, self_agent, _FAILURE, _AGENT_WINDOW))
    add("external_failure", _followed_within(matches, external, _FAILURE, _AGENT_WINDOW))
    add("self_regret", _followed_within(matches, self_agent, frozenset({"regret"}), 2))
    add("external_regret", _followed_within(matches, external, frozenset({"regret"}), 2))
    add(
        "contrast_then_self",
        _followed_within(matches, frozenset({"contrast"}), _SELF_CATEGORIES | self_agent, 12, same="sentence"),
    )
    add(
        "contrast_then_blame",
        _followed_within(
            matches, frozenset({"contrast"}), _BLAME_CATEGORIES, 12, same="sentence"
        ),
    )
    add(
        "sarcastic_self_blame",
        _followed_within(matches, frozenset({"sarcasm"}), frozenset({"responsibility"}), 4),
    )
    owned = {m.category for m in matches if not m.negated} & _SELF_CATEGORIES
    if "empty_promise" in categories and not owned:
        add("empty_promise_only")
    if "helplessness" in categories and categories & _BLAME_CATEGORIES:
        add("helpless_and_blame")
    if not owned and "self_agent" not in categories:
        add("no_self_reference")
    return {name: math.log1p(value) for name, value in counts.items()}


def featurize(
    doc: Doc, *, ngram_range: tuple[int, int] = (1, 3), negation_marking: bool = True
) -> tuple[list[str], dict[str, float]]:
    """Return the terms and the named features of a note in one pass.

    The named features are :func:`cue_features` plus :func:`parse_features`.

    Examples
    --------
    >>> from accountability_nlp.preprocessing import get_pipeline
    >>> terms, named = featurize(get_pipeline()("Nothing I could do."), ngram_range=(1, 1))
    >>> terms[:3], "cue:helplessness" in named
    (['nothing', 'i', 'can'], True)
    """
    rows = _token_rows(doc)
    terms = [term for term, _, _ in _iter_terms(rows, ngram_range, negation_marking)]
    named = _cue_features(_cue_matches(doc, rows))
    named.update(parse_features(doc))
    return terms, named


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
    if not doc.has_annotation("DEP"):
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
