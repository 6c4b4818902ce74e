"""The label scheme: the three stances a deal-loss note can take.

The definitions and the rules for hard cases live in the project's label
contract (``LABELS.md`` in the shared docs, summarised in the README). This
module is the only place label strings are spelled out.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from .errors import closest_match

__all__ = ["LABELS", "SCORE_COLUMNS", "Label", "check_labels"]


class Label(str, Enum):
    """Stance of the writer toward a lost deal.

    Members compare equal to their string values, so ``Label.OWNERSHIP ==
    "ownership"`` and labels can be written to CSV files unchanged.

    Examples
    --------
    >>> Label("victim")
    <Label.VICTIM: 'victim'>
    >>> Label.OWNERSHIP == "ownership"
    True
    """

    OWNERSHIP = "ownership"
    """The writer owns a concrete part of the loss or says what they will change."""

    DEFLECTION = "deflection"
    """The cause is placed outside the writer: prospect, product, price, others."""

    VICTIM = "victim"
    """The Valley: helplessness, nothing could have been done, self-pity."""

    def __str__(self) -> str:
        return self.value


#: The labels in the canonical order used for probability columns.
LABELS: tuple[str, ...] = tuple(label.value for label in Label)
#: Columns that scoring adds to each row, in order (``Model.score``, ``score_file``).
SCORE_COLUMNS: tuple[str, ...] = (
    "label",
    *(f"p_{label}" for label in LABELS),
    "needs_review",
    "evidence",
    "status",
)


def check_labels(labels: Sequence[Any], owner: str) -> list[str]:
    """Return ``labels`` as strings, or raise naming the ones outside the scheme.

    Examples
    --------
    >>> check_labels(["victim", Label.OWNERSHIP], owner="train")
    ['victim', 'ownership']
    >>> check_labels(["victm"], owner="train")
    Traceback (most recent call last):
    ...
    ValueError: train got labels outside ['ownership', 'deflection', 'victim']: 'victm' (did you mean 'victim'?). Fix or remove those rows; see the README for the label definitions.
    """
    bad = sorted({str(label) for label in labels if label not in LABELS})
    if bad:
        hints = [
            f"{b!r} (did you mean {hint!r}?)" if (hint := closest_match(b, LABELS)) else repr(b)
            for b in bad[:5]
        ]
        raise ValueError(
            f"{owner} got labels outside {list(LABELS)}: {', '.join(hints)}. "
            "Fix or remove those rows; see the README for the label definitions."
        )
    return [str(label) for label in labels]
