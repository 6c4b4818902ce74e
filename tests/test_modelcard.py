"""Tests of the model card (accountability_nlp.modelcard)."""

from __future__ import annotations

from accountability_nlp.modelcard import render_metrics, render_model_card

METRICS = {
    "n": 4,
    "accuracy": 0.75,
    "macro_f1": 0.5,
    "description": "Held-out notes.",
    "per_class": {"ownership": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}},
    "confusion_matrix": {"labels": ["ownership", "victim"], "matrix": [[1, 1], [0, 2]]},
    "by_rule": {"negation": {"passed": 3, "cases": 4}},
}


def test_modelcard_render_metrics_sections() -> None:
    lines = render_metrics("rubric", METRICS).splitlines()
    assert lines[0] == "### rubric: macro-F1 0.500, accuracy 0.750 (n=4)"
    assert "Held-out notes." in lines
    assert "| ownership | 1.000 | 0.500 | 0.667 | 2 |" in lines
    assert "| | ownership | victim |" in lines
    assert "| ownership | 1 | 1 |" in lines
    assert "| negation | 3 | 4 |" in lines


def test_modelcard_full_card() -> None:
    meta = {
        "name": "demo",
        "labels": ["ownership", "deflection", "victim"],
        "review_threshold": 0.6,
        "training": {
            "source": "notes.csv",
            "n_notes": 10,
            "label_counts": {"ownership": 4, "deflection": 3, "victim": 3},
            "data_sha256": "abc",
            "seed": 0,
        },
        "params": {"C": 64.0},
        "metrics": {"test": METRICS},
        "versions": {"spacy": "3.8"},
    }
    card = render_model_card(meta)
    for heading in ("# Model card: demo", "## Intended use", "## Training data", "## Model",
                    "## Evaluation", "## Limitations", "## Responsible use", "## Versions"):
        assert heading in card.splitlines()
    assert "- Notes: 10 (ownership 4, deflection 3, victim 3)" in card
    assert "### test: macro-F1 0.500" in card
    assert "| C | 64.0 |" in card
    assert "- spacy: 3.8" in card


def test_modelcard_without_records() -> None:
    card = render_model_card({})
    assert card.startswith("# Model card: unnamed model")
    assert "Not recorded." in card
    assert "No evaluation recorded." in card
    assert "## Versions" not in card
