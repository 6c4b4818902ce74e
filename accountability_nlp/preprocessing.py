"""The spaCy side: turn note text into an annotated ``Doc``.

The default pipeline runs on what ``pip install`` provides, with no model
download: ``spacy.blank("en")`` plus

* ``anlp_sentencizer``: sentence boundaries from punctuation and line breaks;
* ``anlp_lemmatizer``: lemmas from the lookup tables of ``spacy-lookups-data``,
  looked up in lower case so "Was" and "was" both become "be";
* ``anlp_masker``: emails, phones, URLs, money, IDs and numbers become one
  token each, with the placeholder (``<email>``...) as lemma and norm, so no
  feature is ever built from them;
* ``anlp_cue_marker``: a ``PhraseMatcher`` over lemmas that writes the cues of
  :mod:`accountability_nlp.cues` to ``doc.spans["anlp_cues"]``.

Users who have a trained English pipeline installed (``en_core_web_sm``...)
may pass its name to :func:`build_pipeline` and the same components run after
its tagger and parser, which unlocks the parse-based features.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy
import spacy
from spacy.attrs import IS_SPACE, LEMMA, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import PhraseMatcher
from spacy.pipeline import Sentencizer as SpacySentencizer
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import minibatch

from .cleaning import clean_text
from .cues import CUE_LEXICON
from .errors import ModelLoadError
from .masking import PLACEHOLDERS, find_pii, may_contain_pii

__all__ = ["CUES_KEY", "build_pipeline", "clean_text", "get_pipeline", "make_docs"]

#: Name of the ``Doc`` extension (and default ``doc.spans`` key) holding the cues.
CUES_KEY = "anlp_cues"
#: Name of the ``Doc`` extension holding the personal-data spans found in the text.
PII_KEY = "anlp_pii"
# Chunks (text between spaces) whose tokenization spaCy remembers; see build_pipeline.
_TOKENIZER_CACHE_SIZE = 100_000


# Extension values live in ``doc.user_data`` under the key below (that is
# what ``doc._.set`` writes). The hot path reads and writes it directly,
# which skips building an Underscore object per call (~2.5 us, four times per
# note). Whether the layout holds is checked once per extension; if a spaCy
# version ever stores values differently, the public API is used instead.
def _extension_key(name: str) -> Any:
    # Any: spaCy's stubs type user_data's keys as str, though spaCy uses tuples.
    return ("._.", name, None, None)


@functools.cache
def _direct_access(name: str) -> bool:
    doc = Doc(spacy.vocab.Vocab(), words=["probe"])
    marker: list[str] = ["probe"]
    doc.user_data[_extension_key(name)] = marker
    return Doc.has_extension(name) and doc._.get(name) is marker


def set_doc_value(doc: Doc, name: str, value: Any) -> None:
    """``doc._.set(name, value)``, faster; ``name`` must be a registered extension."""
    if _direct_access(name):
        doc.user_data[_extension_key(name)] = value
    else:
        doc._.set(name, value)


def get_doc_value(doc: Doc, name: str) -> Any:
    """``doc._.get(name)`` of an extension whose default is None, faster."""
    if _direct_access(name):
        return doc.user_data.get(_extension_key(name))
    return doc._.get(name)


# Components below work on whole token arrays (``Doc.to_array`` /
# ``Doc.from_array``) rather than on Token objects: creating a Python Token
# per word costs more than everything else the pipeline does.


class Sentencizer:
    """Sentence boundaries after ., !, ?, other sentence-final marks and newlines.

    Same punctuation as spaCy's ``sentencizer``; line breaks also end a
    sentence, since CRM notes use them as full stops.
    """

    def __init__(self, nlp: Language) -> None:
        strings = nlp.vocab.strings
        self._ends = numpy.array(
            sorted(strings.add(ch) for ch in SpacySentencizer.default_punct_chars),
            dtype=numpy.uint64,
        )

    def __call__(self, doc: Doc) -> Doc:
        return self._annotate([doc])[0]

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Annotate docs a batch at a time (what ``nlp.pipe`` calls)."""
        for batch in minibatch(docs, batch_size):
            yield from self._annotate(batch)

    def _annotate(self, docs: list[Doc]) -> list[Doc]:
        rows, offsets, nonempty = _batch_array(docs, [ORTH, IS_SPACE])
        if not nonempty:
            return docs
        # searchsorted into the sorted hashes: cheaper than numpy.isin here.
        ends, orths = self._ends, rows[:, 0]
        where = numpy.minimum(numpy.searchsorted(ends, orths), len(ends) - 1)
        is_end = (ends[where] == orths) | (rows[:, 1] != 0)
        starts = numpy.full(len(rows), -1, dtype=numpy.int64)
        starts[1:][is_end[:-1] & ~is_end[1:]] = 1
        starts[offsets[:-1]] = 1
        # SENT_START is stored unsigned; -1 (not a start) wraps as spaCy expects.
        _write_back(nonempty, offsets, SENT_START, starts.astype(numpy.uint64))
        return docs


def _batch_array(
    docs: list[Doc], attrs: list[int | str]
) -> tuple[numpy.ndarray, numpy.ndarray, list[Doc]]:
    """Token attributes of all non-empty docs end to end, each doc's offset, those docs."""
    nonempty = [doc for doc in docs if len(doc)]
    offsets = numpy.zeros(len(nonempty) + 1, dtype=numpy.int64)
    numpy.cumsum([len(doc) for doc in nonempty], out=offsets[1:])
    arrays = [doc.to_array(attrs) for doc in nonempty]
    rows = numpy.concatenate(arrays) if arrays else numpy.zeros(0, numpy.uint64)
    # to_array gives one column as a 1-d array
    return rows.reshape(-1, len(attrs)), offsets, nonempty


def _write_back(docs: list[Doc], offsets: numpy.ndarray, attr: int, values: numpy.ndarray) -> None:
    column = values.reshape(-1, 1)
    for doc, start, end in zip(docs, offsets[:-1].tolist(), offsets[1:].tolist()):
        doc.from_array([attr], column[start:end])  # type: ignore[arg-type]  # spaCy stubs want Ints2d


@Language.factory("anlp_sentencizer", assigns=["token.is_sent_start"])
def make_sentencizer(nlp: Language, name: str) -> Sentencizer:
    """Create the array-based sentencizer."""
    return Sentencizer(nlp)


class LookupLemmatizer:
    """Lemmas from spaCy's lookup tables, keyed on the lower-cased token.

    The table is ``lemma_lookup`` from the installed ``spacy-lookups-data``
    package (nothing is downloaded). Unlike spaCy's lookup mode, which keys
    on ``token.text``, sentence-initial or upper-case words ("Was", "DEALS")
    are lemmatized too: notes are often typed in one case. The table is held
    as two sorted hash arrays, so a whole note is looked up in one
    ``searchsorted``.
    """

    def __init__(self, nlp: Language) -> None:
        self._strings = nlp.vocab.strings
        self._keys = numpy.zeros(0, dtype=numpy.uint64)
        self._values = numpy.zeros(0, dtype=numpy.uint64)

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        """Load the lookup table from spacy-lookups-data."""
        table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        # Table keys are already string hashes; lemmas must be in the
        # StringStore for token.lemma_ to resolve.
        keys = numpy.fromiter(table.keys(), dtype=numpy.uint64, count=len(table))
        values = numpy.fromiter(
            (self._strings.add(lemma) for lemma in table.values()),
            dtype=numpy.uint64,
            count=len(table),
        )
        order = numpy.argsort(keys)
        self._keys, self._values = keys[order], values[order]

    def __call__(self, doc: Doc) -> Doc:
        return self._annotate([doc])[0]

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """Annotate docs a batch at a time (what ``nlp.pipe`` calls)."""
        for batch in minibatch(docs, batch_size):
            yield from self._annotate(batch)

    def _annotate(self, docs: list[Doc]) -> list[Doc]:
        if not len(self._keys):
            return docs
        rows, offsets, nonempty = _batch_array(docs, [LOWER])
        # A batch repeats its words: look each distinct one up once (the table
        # is large, so each lookup costs cache misses).
        lowers, back = numpy.unique(rows[:, 0], return_inverse=True)
        where = numpy.minimum(numpy.searchsorted(self._keys, lowers), len(self._keys) - 1)
        lemmas = numpy.where(self._keys[where] == lowers, self._values[where], lowers)
        _write_back(nonempty, offsets, LEMMA, lemmas[back])
        return docs


@Language.factory("anlp_lemmatizer", assigns=["token.lemma"])
def make_lemmatizer(nlp: Language, name: str) -> LookupLemmatizer:
    """Create the lower-case lookup lemmatizer (call ``initialize`` once)."""
    return LookupLemmatizer(nlp)


class PiiScanningTokenizer:
    """spaCy's tokenizer, plus a scan of the raw text for personal data.

    The scan runs on the string before tokenization (where a cheap regular
    expression rules out most notes at once) and leaves its character spans
    in ``doc._.anlp_pii`` for :class:`PiiMasker`. Rebuilding the text from
    tokens later would cost more than the rest of the masking.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        if not Doc.has_extension(PII_KEY):
            Doc.set_extension(PII_KEY, default=None)

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        set_doc_value(doc, PII_KEY, find_pii(text) if may_contain_pii(text) else [])
        return doc

    def __getattr__(self, name: str) -> Any:
        # Serialization, explain(), rules...: everything else is the tokenizer's.
        return getattr(self.tokenizer, name)


class PiiMasker:
    """Merge each email, phone, URL, amount or ID into one placeholder token.

    The token's text keeps the original characters, so character offsets of
    evidence stay true to the note; its ``lemma_`` and ``norm_`` become the
    placeholder, and features are built from those.
    """

    def __call__(self, doc: Doc) -> Doc:
        pii = get_doc_value(doc, PII_KEY) if Doc.has_extension(PII_KEY) else None
        if pii is None:  # not made by PiiScanningTokenizer: scan now
            pii = find_pii(doc.text)
        if not pii:  # most notes: nothing to do
            return doc
        spans = _token_spans(doc, pii)
        if any(len(span) > 1 for span, _ in spans):
            with doc.retokenize() as retokenizer:
                seen: set[int] = set()
                for span, _ in spans:
                    # Expanded spans can overlap; the retokenizer refuses that.
                    if len(span) > 1 and not seen.intersection(range(span.start, span.end)):
                        retokenizer.merge(span)
                        seen.update(range(span.start, span.end))
            spans = _token_spans(doc, pii)  # character offsets are unchanged
        for span, tag in spans:
            for token in span:
                token.lemma_ = tag
                token.norm_ = tag
        return doc


def _token_spans(doc: Doc, pii: list[tuple[int, int, str]]) -> list[tuple[Any, str]]:
    """Map character spans of personal data to token spans and placeholders."""
    return [
        (span, PLACEHOLDERS[kind])
        for start, end, kind in pii
        if (span := doc.char_span(start, end, alignment_mode="expand")) is not None
    ]


@Language.factory("anlp_masker", assigns=["token.lemma", "token.norm"])
def make_masker(nlp: Language, name: str) -> PiiMasker:
    """Create the personal-data masker."""
    return PiiMasker()


class CueMarker:
    """Mark the lexicon's cue phrases in each ``Doc``.

    Matches are written to the ``doc._.anlp_cues`` extension as
    ``(category, start, end)`` tuples, and, when ``spans_key`` is set, to
    ``doc.spans[spans_key]`` as labelled spans for inspection and displaCy.
    Matching is on lemmas (``attr="LEMMA"``), and the phrases are run through
    the same pipeline first, so case and inflection do not matter.
    """

    def __init__(
        self, nlp: Language, name: str = "anlp_cue_marker", spans_key: str | None = CUES_KEY
    ) -> None:
        self.name = name
        self.spans_key = spans_key
        self.matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        # Patterns must get the same lemmas as notes: run the components
        # before this one on them.
        preceding = [pipe for pipe_name, pipe in nlp.pipeline if pipe_name != name]
        for category, phrases in CUE_LEXICON.items():
            patterns = []
            for phrase in phrases:
                doc = nlp.make_doc(phrase)
                for pipe in preceding:
                    doc = pipe(doc)
                patterns.append(doc)
            self.matcher.add(category, patterns)
        self._labels = {nlp.vocab.strings[category]: category for category in CUE_LEXICON}
        if not Doc.has_extension(CUES_KEY):
            Doc.set_extension(CUES_KEY, default=None)

    def __call__(self, doc: Doc) -> Doc:
        labels = self._labels
        matches = [(labels[key], start, end) for key, start, end in self.matcher(doc)]
        set_doc_value(doc, CUES_KEY, matches)
        if self.spans_key is not None:
            spans = [Span(doc, start, end, label=category) for category, start, end in matches]
            doc.spans[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        return doc


@Language.factory(
    "anlp_cue_marker",
    assigns=[f"doc._.{CUES_KEY}", "doc.spans"],
    default_config={"spans_key": CUES_KEY},
)
def make_cue_marker(nlp: Language, name: str, spans_key: str | None) -> CueMarker:
    """Create the cue marker (add it last: it reads lemmas)."""
    return CueMarker(nlp, name, spans_key)


def build_pipeline(spacy_model: str | None = None, *, spans_key: str | None = None) -> Language:
    """Build the preprocessing pipeline.

    Parameters
    ----------
    spacy_model : str, optional
        Name of an installed trained English pipeline (e.g. ``"en_core_web_sm"``)
        to use for tagging and parsing. Optional: by default the pipeline is
        ``spacy.blank("en")`` plus this library's components and needs nothing
        beyond what ``pip install`` provides.
    spans_key : str, optional
        Also write the cues to ``doc.spans[spans_key]`` as labelled spans
        (e.g. for displaCy). Off by default: building Span objects for every
        note slows batch scoring.

    Returns
    -------
    spacy.language.Language
        An initialized pipeline; ``doc._.anlp_cues`` holds the cues as
        ``(category, start, end)`` tuples.

    Raises
    ------
    ModelLoadError
        If ``spacy_model`` is given but not installed.

    Examples
    --------
    >>> nlp = build_pipeline(spans_key="anlp_cues")
    >>> doc = nlp("Nothing I could do, legal killed it.")
    >>> sorted({category for category, _, _ in doc._.anlp_cues})[:3]
    ['absolutist', 'external_actor', 'helplessness']
    >>> doc.spans["anlp_cues"][0].label_, doc.spans["anlp_cues"][0].text
    ('negation', 'Nothing')
    """
    if spacy_model is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("anlp_sentencizer")
        nlp.add_pipe("anlp_lemmatizer")
    else:
        try:
            # NER and its kin are not used; leaving them out halves the cost.
            nlp = spacy.load(spacy_model, exclude=["ner", "entity_ruler", "entity_linker"])
        except OSError:
            raise ModelLoadError(
                f"The spaCy pipeline {spacy_model!r} is not installed. It is optional: "
                "leave spacy_model unset to use the built-in pipeline, or install the "
                f"package that provides {spacy_model!r} from a local wheel."
            ) from None
        if "lemmatizer" in nlp.pipe_names:
            nlp.remove_pipe("lemmatizer")
        nlp.add_pipe("anlp_lemmatizer")
    # spaCy caches how each whitespace-separated chunk splits, but only its
    # first 10,000 chunks; a CRM export has tens of thousands, and every
    # chunk past the cap is split again each time (the tokenizer then takes
    # ~60% longer). The cache costs ~270 bytes per chunk: 27 MB at most.
    if isinstance(nlp.tokenizer, Tokenizer):  # a trained pipeline may bring its own
        nlp.tokenizer.max_cache_size = _TOKENIZER_CACHE_SIZE
    nlp.tokenizer = PiiScanningTokenizer(nlp.tokenizer)
    nlp.add_pipe("anlp_masker")
    lemmatizer = nlp.get_pipe("anlp_lemmatizer")
    assert isinstance(lemmatizer, LookupLemmatizer)
    lemmatizer.initialize()
    nlp.add_pipe("anlp_cue_marker", config={"spans_key": spans_key})
    return nlp


@functools.lru_cache(maxsize=4)
def get_pipeline(spacy_model: str | None = None) -> Language:
    """Return a shared, cached pipeline (built once per process).

    Examples
    --------
    >>> get_pipeline() is get_pipeline()
    True
    """
    return build_pipeline(spacy_model)


def make_docs(
    texts: Iterable[str], *, spacy_model: str | None = None, batch_size: int = 256
) -> Iterator[Doc]:
    """Yield one annotated ``Doc`` per text, in order, after :func:`clean_text`.

    Examples
    --------
    >>> [doc.text for doc in make_docs(["a", "b c"])]
    ['a', 'b c']
    """
    nlp = get_pipeline(spacy_model)
    yield from nlp.pipe((clean_text(text) for text in texts), batch_size=batch_size)
