"""Tests of the cue lexicon (accountability_nlp.cues)."""

from __future__ import annotations

import pytest

from accountability_nlp.cues import CATEGORIES, CUE_LEXICON, CUE_SIGNALS
from accountability_nlp.preprocessing import build_pipeline


def test_cues_every_category_has_a_signal() -> None:
    assert set(CUE_SIGNALS) == set(CATEGORIES) == set(CUE_LEXICON)
    assert tuple(CUE_LEXICON) == CATEGORIES
    assert all(isinstance(text, str) and text for text in CUE_SIGNALS.values())


def test_cues_lexicon_is_read_only() -> None:
    with pytest.raises(TypeError):
        CUE_LEXICON["regret"] = ("oops",)  # type: ignore[index]
    with pytest.raises(TypeError):
        CUE_SIGNALS["regret"] = "oops"  # type: ignore[index]


def test_cues_phrases_are_lower_case_and_non_empty() -> None:
    for category, phrases in CUE_LEXICON.items():
        for phrase in phrases:
            assert phrase == phrase.strip().lower() and phrase, (category, phrase)


def test_cues_every_phrase_matches_itself() -> None:
    # A phrase that the pipeline cannot match (tokenized or lemmatized away)
    # is dead weight in the lexicon.
    nlp = build_pipeline()
    dead = []
    for category, phrases in CUE_LEXICON.items():
        for phrase in phrases:
            doc = nlp(phrase)
            if (category, 0, len(doc)) not in doc._.anlp_cues:
                dead.append((category, phrase))
    assert dead == []
