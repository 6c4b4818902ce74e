"""Exceptions and the validation helpers that produce their messages.

Messages follow scikit-learn's pattern: they name the parameter, its owner,
what was expected and what was received, and where it helps, the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AccountabilityError",
    "ColumnNotFoundError",
    "InputFormatError",
    "ModelLoadError",
    "UntrustedModelError",
    "check_one_of",
    "check_text_batch",
    "closest_match",
]


class AccountabilityError(Exception):
    """Base class of every error this library raises on purpose."""


class InputFormatError(AccountabilityError, ValueError):
    """An input file or batch cannot be read as the user asked."""


class ColumnNotFoundError(InputFormatError, KeyError):
    """A named column is not in the input."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ModelLoadError(AccountabilityError, OSError):
    """A model folder is missing, incomplete or from an incompatible version."""


class UntrustedModelError(ModelLoadError):
    """A model file contains types that are not on the trusted list."""


def closest_match(value: str, options: Iterable[str]) -> str | None:
    """Return the option most similar to ``value``, or None if none is close.

    Examples
    --------
    >>> closest_match("Loss Note", ["Loss Notes", "Stage"])
    'Loss Notes'
    """
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if value.lower() in lowered:
        return lowered[value.lower()]
    found = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return found[0] if found else None


def check_one_of(value: Any, options: Sequence[Any], *, param: str, owner: str) -> None:
    """Raise a ValueError naming the parameter if ``value`` is not an option.

    Examples
    --------
    >>> check_one_of("csv", ["csv", "jsonl"], param="format", owner="read_table")
    >>> check_one_of("cvs", ["csv", "jsonl"], param="format", owner="read_table")
    Traceback (most recent call last):
    ...
    ValueError: The 'format' parameter of read_table must be one of ['csv', 'jsonl']. Got 'cvs' instead. Did you mean 'csv'?
    """
    if value in options:
        return
    message = (
        f"The {param!r} parameter of {owner} must be one of {list(options)}. Got {value!r} instead."
    )
    if isinstance(value, str):
        hint = closest_match(value, [str(o) for o in options])
        if hint is not None:
            message += f" Did you mean {hint!r}?"
    raise ValueError(message)


def check_text_batch(texts: Any, *, owner: str) -> list[Any]:
    """Return ``texts`` as a list, rejecting a bare string.

    A bare string is iterable, so without this check it would be scored as
    one note per character: the classic silent bug of text APIs.

    Examples
    --------
    >>> check_text_batch(("a note",), owner="Model.predict")
    ['a note']
    >>> check_text_batch("a note", owner="Model.predict")
    Traceback (most recent call last):
    ...
    TypeError: Model.predict expects a list of notes, got a single string. Wrap it in a list: Model.predict(["a note"]).
    """
    if isinstance(texts, (str, bytes)):
        # The note itself is not echoed: messages end up in logs.
        raise TypeError(
            f"{owner} expects a list of notes, got a single string. "
            f'Wrap it in a list: {owner}(["a note"]).'
        )
    try:
        return list(texts)
    except TypeError:
        raise TypeError(
            f"{owner} expects a list of notes (an iterable of str), got {type(texts).__name__}."
        ) from None
