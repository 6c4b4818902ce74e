"""Tests of the label scheme (accountability_nlp.labels)."""

from __future__ import annotations

import json

import pytest

import accountability_nlp as anlp
from accountability_nlp.labels import LABELS, Label


def test_labels_canonical_order() -> None:
    # Probability columns of reports and score frames follow this order.
    assert LABELS == ("ownership", "deflection", "victim")
    assert [label.value for label in Label] == list(LABELS)


def test_labels_members_equal_their_strings() -> None:
    assert Label.OWNERSHIP == "ownership"
    assert Label.DEFLECTION == "deflection"
    assert Label.VICTIM == "victim"
    assert isinstance(Label.VICTIM, str)


def test_labels_str_and_format_give_the_bare_value() -> None:
    # CSV writers and f-strings must print "victim", not "Label.VICTIM".
    assert str(Label.VICTIM) == "victim"
    assert f"{Label.DEFLECTION}" == "deflection"
    assert json.dumps([Label.OWNERSHIP]) == '["ownership"]'


def test_labels_lookup_by_value() -> None:
    assert Label("victim") is Label.VICTIM
    with pytest.raises(ValueError, match="'Victim' is not a valid Label"):
        Label("Victim")


def test_labels_exported_from_package_root() -> None:
    assert anlp.LABELS is LABELS
    assert anlp.Label is Label


def test_labels_match_the_default_model(default_model: anlp.Model) -> None:
    assert sorted(default_model.classes_.tolist()) == sorted(LABELS)
    assert default_model.meta["labels"] == list(LABELS)
