"""Tests of the exceptions and validation helpers (accountability_nlp.errors)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import accountability_nlp as anlp
from accountability_nlp.errors import (
    AccountabilityError,
    ColumnNotFoundError,
    InputFormatError,
    ModelLoadError,
    UntrustedModelError,
    check_one_of,
    check_text_batch,
    closest_match,
)


def test_errors_hierarchy_lets_callers_catch_builtin_types() -> None:
    assert issubclass(InputFormatError, ValueError)
    assert issubclass(InputFormatError, AccountabilityError)
    assert issubclass(ColumnNotFoundError, KeyError)
    assert issubclass(ColumnNotFoundError, InputFormatError)
    assert issubclass(ModelLoadError, OSError)
    assert issubclass(UntrustedModelError, ModelLoadError)
    for error in (InputFormatError, ColumnNotFoundError, ModelLoadError, UntrustedModelError):
        assert getattr(anlp, error.__name__) is error


def test_errors_column_not_found_message_is_not_quoted() -> None:
    # KeyError's own __str__ would wrap the message in quotes.
    message = "The 'text_column' parameter of score_file must be one of ['note']."
    assert str(ColumnNotFoundError(message)) == message
    assert str(ColumnNotFoundError()) == ""
    with pytest.raises(KeyError, match=re.escape(message)):
        raise ColumnNotFoundError(message)


def test_errors_closest_match_ignores_case_first() -> None:
    assert closest_match("loss notes", ["Loss Notes", "Loss Note"]) == "Loss Notes"


def test_errors_closest_match_fuzzy_and_none() -> None:
    assert closest_match("Loss Note", ["Loss Notes", "Stage"]) == "Loss Notes"
    assert closest_match("zzz", ["Loss Notes", "Stage"]) is None
    assert closest_match("anything", []) is None


def test_errors_check_one_of_accepts_an_option() -> None:
    check_one_of("csv", ["csv", "jsonl"], param="format", owner="read_table")
    check_one_of(None, ["temperature", None], param="calibration", owner="X")


def test_errors_check_one_of_message_with_hint() -> None:
    expected = (
        "The 'format' parameter of read_table must be one of ['csv', 'jsonl']. "
        "Got 'cvs' instead. Did you mean 'csv'?"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        check_one_of("cvs", ["csv", "jsonl"], param="format", owner="read_table")


def test_errors_check_one_of_message_without_hint() -> None:
    expected = (
        "The 'format' parameter of read_table must be one of ['csv', 'jsonl']. "
        "Got 'parquet' instead."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        check_one_of("parquet", ["csv", "jsonl"], param="format", owner="read_table")


def test_errors_check_one_of_non_string_value_gets_no_hint() -> None:
    expected = "The 'cv' parameter of Thing must be one of [3, 5]. Got 4 instead."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        check_one_of(4, [3, 5], param="cv", owner="Thing")


def test_errors_check_text_batch_rejects_a_bare_string() -> None:
    expected = (
        "Model.predict expects a list of notes, got a single string. "
        'Wrap it in a list: Model.predict(["a note"]).'
    )
    with pytest.raises(TypeError, match=f"^{re.escape(expected)}$") as info:
        check_text_batch("My private note about Dana", owner="Model.predict")
    # The note itself must not leak into the message (messages end up in logs).
    assert "Dana" not in str(info.value)


def test_errors_check_text_batch_rejects_bytes() -> None:
    with pytest.raises(TypeError, match=r"^train expects a list of notes, got a single string"):
        check_text_batch(b"a note", owner="train")


def test_errors_check_text_batch_rejects_a_non_iterable() -> None:
    expected = "Model.score expects a list of notes (an iterable of str), got int."
    with pytest.raises(TypeError, match=f"^{re.escape(expected)}$"):
        check_text_batch(5, owner="Model.score")


@pytest.mark.parametrize(
    "batch",
    [
        ["a", "b"],
        ("a", "b"),
        (note for note in ["a", "b"]),
        pd.Series(["a", "b"]),
        pd.Index(["a", "b"]),
    ],
    ids=["list", "tuple", "generator", "series", "index"],
)
def test_errors_check_text_batch_returns_a_list(batch: object) -> None:
    assert check_text_batch(batch, owner="Model.predict") == ["a", "b"]
