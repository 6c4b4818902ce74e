"""The label scheme: the three stances a deal-loss note can take.

The definitions and the rules for hard cases live in the project's label
contract (``LABELS.md`` in the shared docs, summarised in the README). This
module is the only place label strings are spelled out.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Label", "LABELS"]


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
