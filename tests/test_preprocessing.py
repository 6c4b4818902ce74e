"""Tests of the spaCy pipeline (accountability_nlp.preprocessing)."""

from __future__ import annotations

import pytest
from spacy.language import Language

from accountability_nlp.errors import ModelLoadError
from accountability_nlp.preprocessing import (
    CUES_KEY,
    PII_KEY,
    build_pipeline,
    get_doc_value,
    get_pipeline,
    make_docs,
    set_doc_value,
)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """A pipeline that also writes cues to ``doc.spans`` for inspection."""
    return build_pipeline(spans_key=CUES_KEY)


def test_preprocessing_default_components() -> None:
    assert get_pipeline().pipe_names == [
        "anlp_sentencizer",
        "anlp_lemmatizer",
        "anlp_masker",
        "anlp_cue_marker",
    ]


def test_preprocessing_get_pipeline_is_cached() -> None:
    assert get_pipeline() is get_pipeline()
    assert build_pipeline() is not get_pipeline()


def test_preprocessing_sentences_end_at_punctuation_and_newlines(nlp: Language) -> None:
    doc = nlp("Lost it.\nNo budget! Why? OK then\nbye")
    assert [sent.text.strip() for sent in doc.sents] == [
        "Lost it.",
        "No budget!",
        "Why?",
        "OK then",
        "bye",
    ]


def test_preprocessing_lemmas_ignore_case(nlp: Language) -> None:
    doc = nlp("Was DEALS Dropped")
    assert [token.lemma_ for token in doc] == ["be", "deal", "drop"]


def test_preprocessing_masker_merges_pii_into_one_token(nlp: Language) -> None:
    note = "Call Dana at 415-555-0199 or dana.w@brightpath-example.com, quote $48,500."
    doc = nlp(note)
    masked = {token.text: token.lemma_ for token in doc if token.lemma_.startswith("<")}
    assert masked == {
        "415-555-0199": "<phone>",
        "dana.w@brightpath-example.com": "<email>",
        "$48,500": "<money>",
    }
    # The text is untouched, so character offsets of evidence stay true.
    assert doc.text == note
    for token in doc:
        assert note[token.idx : token.idx + len(token.text)] == token.text
    assert all(token.norm_ == token.lemma_ for token in doc if token.lemma_.startswith("<"))


def test_preprocessing_masker_keeps_sentence_end_after_an_amount(nlp: Language) -> None:
    doc = nlp("Quote was $48,500. I never followed up.")
    assert [token.text for token in doc][2:4] == ["$48,500", "."]
    assert len(list(doc.sents)) == 2


def test_preprocessing_masker_handles_adjacent_pii(nlp: Language) -> None:
    doc = nlp("mail jo@x.org415-555-0148 or +1 415 555 0148/415-555-0149 now")
    assert doc.text.startswith("mail ")
    assert not any(ch.isdigit() for token in doc for ch in token.lemma_)


def test_preprocessing_cues_are_matched_on_lemmas(nlp: Language) -> None:
    doc = nlp("I Dropped the ball.")
    assert ("responsibility", 1, 4) in doc._.anlp_cues
    spans = {(span.label_, span.text) for span in doc.spans[CUES_KEY]}
    assert ("responsibility", "Dropped the ball") in spans


def test_preprocessing_spans_are_off_by_default() -> None:
    doc = get_pipeline()("Dropped the ball")
    assert CUES_KEY not in doc.spans
    assert ("responsibility", 0, 3) in doc._.anlp_cues


def test_preprocessing_empty_text(nlp: Language) -> None:
    doc = nlp("")
    assert len(doc) == 0
    assert doc._.anlp_cues == []


def test_preprocessing_missing_spacy_model_message() -> None:
    expected = (
        "The spaCy pipeline 'not_a_model_xyz' is not installed. It is optional: "
        "leave spacy_model unset to use the built-in pipeline"
    )
    with pytest.raises(ModelLoadError, match=expected):
        build_pipeline("not_a_model_xyz")


def test_preprocessing_make_docs_keeps_order() -> None:
    texts = [f"note {i} was lost" for i in range(7)]
    docs = list(make_docs(texts, batch_size=3))
    assert [doc.text for doc in docs] == texts


def test_preprocessing_fast_extension_access_agrees_with_spacy_api() -> None:
    doc = get_pipeline()("Call me on 415-555-0148, legal never replied.")
    assert get_doc_value(doc, PII_KEY) == doc._.get(PII_KEY) == [(11, 23, "phone")]
    assert get_doc_value(doc, CUES_KEY) == doc._.get(CUES_KEY) != []
    set_doc_value(doc, CUES_KEY, [("negation", 0, 1)])
    assert doc._.get(CUES_KEY) == [("negation", 0, 1)]


def test_preprocessing_tokenizer_remembers_many_chunks() -> None:
    # spaCy's default (10,000 chunks) is far below the distinct words and
    # punctuation runs of a CRM export; past it, every new chunk is re-split.
    tokenizer = build_pipeline().tokenizer
    assert tokenizer.max_cache_size >= 100_000
    # the wrapper keeps working as spaCy's tokenizer
    assert [t.text for t in tokenizer("Didn't call back.")] == ["Did", "n't", "call", "back", "."]
