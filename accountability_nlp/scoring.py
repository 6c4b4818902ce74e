"""Batch scoring: a table of notes in, the same rows out with their scores.

Every input row comes out, in order: scored, or marked ``unscorable: <reason>``
in the ``status`` column. Nothing is dropped.
"""

from __future__ import annotations

import pandas as pd

from .errors import ColumnNotFoundError, InputFormatError, closest_match
from .model import SCORE_COLUMNS, Model

__all__ = ["check_text_column", "score_frame"]


def check_text_column(columns: list[str], text_column: str, *, owner: str) -> None:
    """Raise a clear error if ``text_column`` is not among ``columns``.

    Examples
    --------
    >>> check_text_column(["Stage", "Loss Notes"], "Loss Note", owner="score_file")
    Traceback (most recent call last):
    ...
    accountability_nlp.errors.ColumnNotFoundError: The 'text_column' parameter of score_file must be one of ['Stage', 'Loss Notes']. Got 'Loss Note' instead. Did you mean 'Loss Notes'?
    """
    if text_column in columns:
        return
    message = (
        f"The 'text_column' parameter of {owner} must be one of {list(columns)}. "
        f"Got {text_column!r} instead."
    )
    hint = closest_match(text_column, [str(c) for c in columns])
    if hint is not None:
        message += f" Did you mean {hint!r}?"
    raise ColumnNotFoundError(message)


def score_frame(
    frame: pd.DataFrame, model: Model, *, text_column: str, prefix: str = ""
) -> pd.DataFrame:
    """Return ``frame`` with the score columns appended, row for row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The notes with any other columns; all are kept, in order.
    model : Model
        The model to score with.
    text_column : str
        The column holding the note text.
    prefix : str, default=""
        Put before each score column name, e.g. ``"anlp_"``, when the input
        already has columns called ``label``, ``status``...

    Returns
    -------
    pandas.DataFrame
        The input columns followed by ``label``, ``p_ownership``,
        ``p_deflection``, ``p_victim``, ``needs_review``, ``evidence`` and
        ``status`` (each with ``prefix``). Same index and length as ``frame``.

    Raises
    ------
    ColumnNotFoundError
        If ``text_column`` is not a column of ``frame``.
    InputFormatError
        If a score column would overwrite an input column.
    """
    check_text_column(list(frame.columns), text_column, owner="score_frame")
    names = [prefix + column for column in SCORE_COLUMNS]
    clash = [name for name in names if name in frame.columns]
    if clash:
        raise InputFormatError(
            f"The input already has columns {clash}, which scoring would overwrite. "
            "Pass prefix='anlp_' (CLI: --prefix anlp_) to name the score columns apart."
        )
    scores = model.score(frame[text_column].tolist())
    scores.columns = names
    scores.index = frame.index
    return pd.concat([frame, scores], axis=1)
