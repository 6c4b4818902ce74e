"""Tests of note features (accountability_nlp.features)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from accountability_nlp.features import (
    NEGATION_PREFIX,
    cue_features,
    featurize,
    note_terms,
    parse_features,
    term_text,
)
from accountability_nlp.preprocessing import get_pipeline


def _doc(text: str) -> Doc:
    return get_pipeline()(text)


def _parsed(words: list[str], heads: list[int], deps: list[str], lemmas: list[str]) -> Doc:
    """A Doc with a hand-written dependency parse (no trained pipeline needed)."""
    return Doc(get_pipeline().vocab, words=words, heads=heads, deps=deps, lemmas=lemmas)


def test_features_empty_doc() -> None:
    note = featurize(_doc(""))
    assert note.term_keys == []
    assert note.term_spans == []
    assert note.negated == []
    assert note.named == {}
    assert note.cues == []


def test_features_negation_scope_stops_at_punctuation() -> None:
    # "wasn't the price" is negated; the clause after the comma is not.
    terms = note_terms(_doc("It wasn't the price, I never followed up"), ngram_range=(1, 1))
    negated = {term for term in terms if term.startswith(NEGATION_PREFIX)}
    assert negated == {"NOT_the", "NOT_price", "NOT_follow", "NOT_up"}
    assert "NOT_i" not in negated


def test_features_negation_scope_stops_at_a_turn() -> None:
    terms = note_terms(_doc("not because price mattered"), ngram_range=(1, 1))
    assert not any(term.startswith(NEGATION_PREFIX) for term in terms)


def test_features_negation_scope_is_three_words() -> None:
    terms = note_terms(_doc("never sent them the final quote"), ngram_range=(1, 1))
    assert [t for t in terms if t.startswith(NEGATION_PREFIX)] == [
        "NOT_send",
        "NOT_them",
        "NOT_the",
    ]


def test_features_negation_marking_can_be_off() -> None:
    doc = _doc("Wasn't my fault.")
    assert not any(
        t.startswith(NEGATION_PREFIX)
        for t in note_terms(doc, ngram_range=(1, 1), negation_marking=False)
    )
    assert not any(featurize(doc, negation_marking=False).negated)


@pytest.mark.parametrize("ngram_range", [(1, 1), (2, 2), (1, 3)])
def test_features_ngram_lengths(ngram_range: tuple[int, int]) -> None:
    doc = _doc("We missed the call. They left")
    note = featurize(doc, ngram_range=ngram_range, negation_marking=False)
    lengths = set()
    for start, end in note.term_spans:
        lengths.add(sum(1 for token in doc[start:end] if not token.is_punct))
        # N-grams never cross a sentence boundary.
        assert len({token.sent.start for token in doc[start:end]}) == 1
    assert lengths == set(range(ngram_range[0], ngram_range[1] + 1))


def test_features_masked_spans_appear_as_placeholders() -> None:
    terms = note_terms(_doc("mail dana.w@brightpath-example.com today"), ngram_range=(1, 1))
    assert terms == ["mail", "<email>", "today"]


def test_features_keys_are_stable_across_pipelines() -> None:
    from accountability_nlp.preprocessing import build_pipeline

    text = "I never sent the recap. On me!"
    first = featurize(get_pipeline()(text))
    second = featurize(build_pipeline()(text))
    assert first.term_keys == second.term_keys
    assert all(0 <= key < 2**64 for key in first.term_keys)  # unsigned 64-bit keys


def test_features_exclamation_and_question_marks_are_terms() -> None:
    assert note_terms(_doc("Lost again!"), ngram_range=(1, 1)) == ["lose", "again", "!"]


def test_features_self_failure_and_responsibility() -> None:
    features = cue_features(_doc("I never sent the recap. My miss."))
    assert features["self_failure"] > 0
    assert features["cue:responsibility"] > 0
    assert "no_self_reference" not in features


def test_features_external_failure_without_self() -> None:
    features = cue_features(_doc("Legal never replied."))
    assert features["external_failure"] > 0
    assert features["no_self_reference"] > 0
    assert "self_failure" not in features


def test_features_negated_responsibility() -> None:
    features = cue_features(_doc("Wasn't my fault."))
    assert features["neg:responsibility"] > 0
    assert "cue:responsibility" not in features


def test_features_empty_promise_only_unless_owned() -> None:
    assert "empty_promise_only" in cue_features(_doc("We'll get them next time."))
    owned = cue_features(_doc("Next time I will confirm budget first. My miss."))
    assert "empty_promise_only" not in owned


def test_features_helplessness_with_blame() -> None:
    assert "helpless_and_blame" in cue_features(_doc("Nothing I could do, legal killed it."))


def test_features_sarcastic_self_blame() -> None:
    features = cue_features(_doc("sure, totally my fault the product crashes"))
    assert features["sarcastic_self_blame"] > 0


def test_features_contrast_then_self() -> None:
    features = cue_features(_doc("Price was high but I should have built value."))
    assert features["contrast_then_self"] > 0
    assert features["self_regret"] > 0


def test_features_counts_are_log_scaled() -> None:
    features = cue_features(_doc("we we we"))
    assert features["cue:self_agent"] == pytest.approx(math.log1p(3))


def test_features_cue_matches_carry_sentence_and_negation() -> None:
    note = featurize(_doc("Lost it. Not my fault."))
    responsibility = [m for m in note.cues if m.category == "responsibility"]
    assert len(responsibility) == 1
    assert responsibility[0].sentence == 1
    assert responsibility[0].negated


def test_features_term_text_spells_out_lemmas() -> None:
    doc = _doc("We MISSED it.")
    assert term_text(doc, 0, 2) == "we miss"
    assert term_text(doc, 1, 2, negated=True) == "NOT_miss"


def test_features_no_parse_no_parse_features() -> None:
    assert parse_features(_doc("I missed it.")) == {}
    assert parse_features(_doc("")) == {}


def test_features_parse_self_subject_of_failure() -> None:
    doc = _parsed(["I", "missed", "it"], [1, 1, 1], ["nsubj", "ROOT", "dobj"], ["I", "miss", "it"])
    assert parse_features(doc) == {"dep:self_subject_of_failure": 1.0}


def test_features_parse_negated_other_subject() -> None:
    doc = _parsed(
        ["Legal", "did", "not", "reply"],
        [3, 3, 3, 3],
        ["nsubj", "aux", "neg", "ROOT"],
        ["legal", "do", "not", "reply"],
    )
    assert parse_features(doc) == {
        "dep:other_subject_of_failure": 1.0,
        "dep:other_subject_negated": 1.0,
    }


def test_features_parse_passive_and_featurize_includes_it() -> None:
    doc = _parsed(
        ["Deal", "was", "lost"],
        [2, 2, 2],
        ["nsubjpass", "auxpass", "ROOT"],
        ["deal", "be", "lose"],
    )
    # A hand-made Doc has no cue annotations; featurize must cope.
    note = featurize(doc)
    assert note.named["dep:passive"] == 1.0
    assert note.cues == []


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_features_featurize_never_crashes(text: str) -> None:
    doc = _doc(text)
    note = featurize(doc)
    n = len(note.term_keys)
    assert len(note.term_spans) == n
    assert len(note.negated) == n
    for start, end in note.term_spans:
        assert 0 <= start < end <= len(doc)
    assert all(math.isfinite(value) and value > 0 for value in note.named.values())
    for cue in note.cues:
        assert 0 <= cue.start < cue.end <= len(doc)
