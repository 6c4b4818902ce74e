"""Team report, the data side: the stance mix of scored notes per group and period.

:func:`summarize` turns a scored table (the output of ``score_frame`` or
``score_file``) into a :class:`ReportData`: counts and shares of each label
per group (e.g. per rep), per team and per month or quarter, the most frequent
evidence phrases, a few example notes, and the rows that could not be scored.
It returns data only; :mod:`accountability_nlp.report_html` renders it.

Groups with fewer than ``min_notes`` scored notes get no shares: a share of
two notes is noise, and a report read by managers should not invite
conclusions from it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .dates import NO_DATE, parse_dates, period_labels
from .errors import ColumnNotFoundError, InputFormatError, check_one_of, closest_match
from .labels import LABELS, SCORE_COLUMNS

__all__ = [
    "NO_DATE",
    "TOO_FEW",
    "Example",
    "ReportData",
    "overview",
    "read_scored",
    "summarize",
]

logger = logging.getLogger(__name__)

#: Status of a group with fewer scored notes than ``min_notes``.
TOO_FEW = "too few notes"
#: Group name given to rows with an empty group value.
BLANK = "(blank)"
#: Separator of evidence phrases in the scored ``evidence`` column.
EVIDENCE_SEPARATOR = " | "

_FREQS = ("M", "Q")
_N_EXAMPLES = 3
_N_PHRASES = 10
_TRUE = {"true", "1", "yes", "y", "t"}


@dataclass(frozen=True)
class Example:
    """One example note of a label, for the report.

    Attributes
    ----------
    label : str
        The predicted label.
    text : str
        The note as written (render it escaped).
    evidence : tuple of str
        The phrases that drove the label.
    probability : float
        The probability of ``label``.
    needs_review : bool
        Whether the model flagged the note as uncertain.
    """

    label: str
    text: str
    evidence: tuple[str, ...]
    probability: float
    needs_review: bool


@dataclass(frozen=True, eq=False)
class ReportData:
    """Everything a team report shows, as data.

    Mix tables (``overall``, ``groups``, ``teams``, ``trend``) share their
    columns: the key column(s), then ``n_rows``, ``n_scored``,
    ``n_unscorable``, ``n_needs_review``, ``n_<label>`` and ``share_<label>``
    for each label (NaN when the group has fewer than ``min_notes`` scored
    notes) and ``status`` (``"ok"`` or ``"too few notes"``).

    Attributes
    ----------
    by : tuple of str
        The grouping column(s).
    team, period : str or None
        The team and date columns, if given.
    freq : {"M", "Q"}
        Month or quarter buckets for the trend.
    min_notes : int
        Scored notes a group needs before shares are reported.
    text_column : str or None
        The column the example notes come from (None: no examples).
    overall : pandas.DataFrame
        One row, key column ``group`` = ``"all notes"``.
    groups : pandas.DataFrame
        One row per group of ``by``, in sorted order.
    teams : pandas.DataFrame or None
        One row per team, key column ``team``.
    trend : pandas.DataFrame or None
        One row per period (key column ``period``: ``"2025-07"`` or
        ``"2025-Q3"``), gaps filled with empty periods, then a ``"no date"``
        row if any date could not be read.
    n_no_date : int or None
        Rows whose date is missing or unreadable (None without ``period``).
    top_phrases : dict
        Label -> list of ``(phrase, n_notes)``, most frequent first, phrases
        lower-cased and counted once per note.
    examples : dict
        Label -> list of :class:`Example`, most confident first.
    unscorable : dict
        Reason -> number of rows, most frequent first.
    needs_review : dict
        Label -> number of scored notes flagged for review.
    """

    by: tuple[str, ...]
    team: str | None
    period: str | None
    freq: str
    min_notes: int
    text_column: str | None
    overall: pd.DataFrame
    groups: pd.DataFrame
    teams: pd.DataFrame | None
    trend: pd.DataFrame | None
    n_no_date: int | None
    top_phrases: dict[str, list[tuple[str, int]]]
    examples: dict[str, list[Example]]
    unscorable: dict[str, int]
    needs_review: dict[str, int]

    @property
    def totals(self) -> dict[str, int]:
        """Counts over all rows: ``n_rows``, ``n_scored``, ``n_<label>``..."""
        row = self.overall.iloc[0]
        names = ["n_rows", "n_scored", "n_unscorable", "n_needs_review"]
        names += [f"n_{label}" for label in LABELS]
        return {name: int(row[name]) for name in names}

    def to_frame(self) -> pd.DataFrame:
        """All mix tables stacked into one tidy table, for ``--summary-csv``.

        Columns: ``level`` (``all``, ``by``, ``team`` or ``period``), ``key``
        (the column name(s)), ``group`` (the value(s), joined by ``" / "``)
        and the mix columns. Holds no note text.
        """
        parts = [_tidy(self.overall, "all", ["group"], "all notes")]
        parts.append(_tidy(self.groups, "by", list(self.by), " / ".join(self.by)))
        if self.teams is not None and self.team is not None:
            parts.append(_tidy(self.teams, "team", ["team"], self.team))
        if self.trend is not None and self.period is not None:
            parts.append(_tidy(self.trend, "period", ["period"], self.period))
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, for ``--summary-json``.

        Holds counts, shares (None where a group has too few notes) and the
        top phrases, but no example notes: summaries travel further than
        the report.
        """

        def records(table: pd.DataFrame | None) -> list[dict[str, Any]] | None:
            if table is None:
                return None
            out = table.astype(object).where(table.notna(), None).to_dict("records")
            return [{k: _plain(v) for k, v in row.items()} for row in out]

        return {
            "by": list(self.by),
            "team": self.team,
            "period": self.period,
            "freq": self.freq,
            "min_notes": self.min_notes,
            "labels": list(LABELS),
            "totals": self.totals,
            "n_no_date": self.n_no_date,
            "groups": records(self.groups),
            "teams": records(self.teams),
            "trend": records(self.trend),
            "top_phrases": {
                label: [{"phrase": p, "notes": n} for p, n in phrases]
                for label, phrases in self.top_phrases.items()
            },
            "unscorable": dict(self.unscorable),
            "needs_review": dict(self.needs_review),
        }


def _plain(value: Any) -> Any:
    # numpy scalars are not JSON serialisable; shares are rounded for reading.
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 4)
    return value


def _tidy(table: pd.DataFrame, level: str, keys: list[str], key_name: str) -> pd.DataFrame:
    out = table.drop(columns=keys)
    out.insert(0, "group", table[keys].astype(str).agg(" / ".join, axis=1))
    out.insert(0, "key", key_name)
    out.insert(0, "level", level)
    return out


# -- reading ----------------------------------------------------------------


def read_scored(path: str | Path) -> pd.DataFrame:
    """Read a whole scored file: ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or ``.jsonl``.

    Uses the library's own readers (:func:`accountability_nlp.io.read_chunks`),
    so encodings, delimiters and broken rows are handled as when scoring;
    CSV cells stay text, empty cells ``""``.

    Raises
    ------
    InputFormatError
        If the file is missing, its format unknown, or it cannot be parsed.

    Examples
    --------
    >>> read_scored("notes.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    accountability_nlp.errors.InputFormatError: Cannot tell the format of 'notes.txt' ...
    """
    from .io import read_chunks

    chunks = list(read_chunks(path))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


# -- aggregation ----------------------------------------------------------------


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", name.lower()) if w]


def _check_column(columns: list[str], value: Any, *, param: str) -> None:
    if value in columns:
        return
    message = (
        f"The {param!r} parameter of summarize must be one of {columns}. Got {value!r} instead."
    )
    if isinstance(value, str):
        # CRM columns carry prefixes ("Opportunity Owner" for "Owner") that
        # a plain similarity ratio misses, or gets wrong ("p_ownership").
        words = set(_words(value))
        within = [c for c in columns if words and words <= set(_words(c))]
        hint = within[0] if len(within) == 1 else closest_match(value, columns)
        if hint is not None:
            message += f" Did you mean {hint!r}?"
    raise ColumnNotFoundError(message)


def _check_score_columns(columns: list[str], prefix: str) -> None:
    missing = [prefix + c for c in SCORE_COLUMNS if prefix + c not in columns]
    if not missing:
        return
    message = (
        f"summarize needs the score columns {[prefix + c for c in SCORE_COLUMNS]} "
        f"written by score_frame or score_file; the input lacks {missing}. "
        f"Columns found: {columns}."
    )
    guesses = [c[: -len("status")] for c in columns if c.endswith("status") and c != "status"]
    guesses = [g for g in guesses if g + "label" in columns and g != prefix]
    if guesses:
        message += f" The score columns look prefixed: pass prefix={guesses[0]!r}."
    else:
        message += " Score the notes first (accountability-nlp score)."
    raise ColumnNotFoundError(message)


def _text(value: Any) -> str:
    """A cell as stripped text; "" for None, NaN and NaT."""
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):  # a list-like cell, e.g. from JSON Lines
        missing = False
    return "" if missing else str(value).strip()


def _texts(column: pd.Series, *, blank: str = "") -> pd.Series:
    """``_text`` of every cell, computed once per distinct value (columns repeat)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    names = np.array([_text(v) or blank for v in uniques], dtype=object)
    return pd.Series(names[codes], index=column.index, dtype=object)


def _mix(work: pd.DataFrame, keys: list[str], min_notes: int) -> pd.DataFrame:
    grouped = work.groupby(keys, sort=True, observed=False)
    out = pd.DataFrame(
        {
            "n_rows": grouped.size(),
            "n_scored": grouped["_scored"].sum(),
            "n_unscorable": grouped["_unscorable"].sum(),
            "n_needs_review": grouped["_review"].sum(),
        }
    )
    for label in LABELS:
        out[f"n_{label}"] = grouped[f"_is_{label}"].sum()
    out = out.astype("int64")
    enough = out["n_scored"] >= min_notes
    for label in LABELS:
        share = out[f"n_{label}"] / out["n_scored"].where(out["n_scored"] > 0)
        out[f"share_{label}"] = share.where(enough)
    out["status"] = np.where(enough, "ok", TOO_FEW)
    return out.reset_index()


def _split_evidence(value: Any) -> list[str]:
    return [p.strip() for p in _text(value).split(EVIDENCE_SEPARATOR) if p.strip()]


def _top_phrases(work: pd.DataFrame) -> dict[str, list[tuple[str, int]]]:
    scored = work.loc[work["_scored"], ["_label", "_evidence"]].reset_index(drop=True)
    # Arrow strings: splitting and exploding a million evidence cells takes a
    # fraction of a second, Python lists take seconds.
    evidence = scored["_evidence"].astype(pd.ArrowDtype(pa.string()))
    phrases = evidence.str.split(EVIDENCE_SEPARATOR, regex=False).explode()
    phrases = phrases.str.strip().str.lower()
    long = pd.DataFrame(
        {
            "note": phrases.index.to_numpy(),
            "label": scored["_label"].to_numpy()[phrases.index.to_numpy()],
            "phrase": phrases.to_numpy(dtype=object, na_value=""),
        }
    )
    long = long[long["phrase"] != ""].drop_duplicates(["note", "phrase"])  # once per note
    counts = long.groupby(["label", "phrase"]).size().reset_index(name="n")
    # Ties broken alphabetically so the report is the same on every run.
    counts = counts.sort_values(["n", "phrase"], ascending=[False, True], kind="stable")
    return {
        label: [
            (str(p), int(n))
            for p, n in counts.loc[counts["label"] == label, ["phrase", "n"]]
            .head(_N_PHRASES)
            .itertuples(index=False)
        ]
        for label in LABELS
    }


def _guess_text_column(
    scored: pd.DataFrame, evidence: pd.Series, candidates: list[str]
) -> str | None:
    """The column whose cells contain the evidence phrases of most rows."""
    rows = evidence[evidence != ""].head(200).map(_split_evidence)
    best, best_hits = None, 0
    for column in candidates:
        cells = scored.loc[rows.index, column].map(_text)
        hits = sum(
            all(p in cell for p in phrases) for cell, phrases in zip(cells, rows, strict=True)
        )
        if hits > best_hits:
            best, best_hits = column, hits
    return best


def _examples(work: pd.DataFrame, texts: pd.Series | None) -> dict[str, list[Example]]:
    examples: dict[str, list[Example]] = {label: [] for label in LABELS}
    if texts is None:
        return examples
    for label in LABELS:
        rows = work[work[f"_is_{label}"]]
        rows = rows.assign(_p=rows[f"_p_{label}"].fillna(0.0))
        # Confident, unflagged notes show the label best; stable sort keeps
        # file order among equals.
        rows = rows.sort_values(["_review", "_p"], ascending=[True, False], kind="stable")
        rows = rows.head(_N_EXAMPLES)
        examples[label] = [
            Example(label, _text(text), tuple(_split_evidence(evidence)), float(p), bool(review))
            for text, evidence, p, review in zip(
                texts[rows.index], rows["_evidence"], rows["_p"], rows["_review"], strict=True
            )
        ]
    return examples


def _unscorable_reason(status: str) -> str:
    if status.startswith("unscorable:"):
        return status[len("unscorable:") :].strip() or "no reason given"
    return "missing status" if not status else "unknown status"


def summarize(
    scored: pd.DataFrame,
    *,
    by: str | list[str],
    period: str | None = None,
    freq: str = "M",
    team: str | None = None,
    min_notes: int = 5,
    text_column: str | None = None,
    prefix: str = "",
) -> ReportData:
    """Aggregate scored notes into the data of a team report.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of ``score_frame``/``score_file``: any input columns plus
        ``label``, ``p_<label>``, ``needs_review``, ``evidence``, ``status``.
    by : str or list of str
        Column(s) to group by, e.g. ``"Opportunity Owner"``.
    period : str, optional
        Date column for the trend. Unreadable dates count as ``"no date"``.
    freq : {"M", "Q"}, default="M"
        Trend by month or quarter.
    team : str, optional
        Team column: adds a mix per team.
    min_notes : int, default=5
        Groups (and periods) with fewer scored notes get status
        ``"too few notes"`` and no shares.
    text_column : str, optional
        Column with the note text, for the example notes. By default it is
        the column whose cells contain the evidence phrases.
    prefix : str, default=""
        Prefix of the score columns, if they were written with one.

    Returns
    -------
    ReportData

    Raises
    ------
    ColumnNotFoundError
        If a named column or a score column is missing.
    InputFormatError
        If a scored row has a label outside the label scheme.
    ValueError
        If ``freq`` or ``min_notes`` is invalid.

    Examples
    --------
    >>> scored = pd.DataFrame({
    ...     "rep": ["ana", "ana", "ben"], "note": ["Lost on price.", "My fault.", ""],
    ...     "label": ["deflection", "ownership", ""], "p_ownership": [0.1, 0.9, None],
    ...     "p_deflection": [0.8, 0.05, None], "p_victim": [0.1, 0.05, None],
    ...     "needs_review": [False, False, False], "evidence": ["price", "My fault", ""],
    ...     "status": ["scored", "scored", "unscorable: empty note"]})
    >>> data = summarize(scored, by="rep", min_notes=2)
    >>> data.groups[["rep", "n_scored", "share_ownership", "status"]]
       rep  n_scored  share_ownership         status
    0  ana         2              0.5             ok
    1  ben         0              NaN  too few notes
    >>> data.unscorable
    {'empty note': 1}
    """
    by_list = [by] if isinstance(by, str) else list(by)
    columns = [str(c) for c in scored.columns]
    if not by_list:
        raise ValueError("The 'by' parameter of summarize must name at least one column.")
    for column in by_list:
        _check_column(columns, column, param="by")
    if team is not None:
        _check_column(columns, team, param="team")
    if period is not None:
        _check_column(columns, period, param="period")
    if text_column is not None:
        _check_column(columns, text_column, param="text_column")
    check_one_of(freq, _FREQS, param="freq", owner="summarize")
    if isinstance(min_notes, bool) or not isinstance(min_notes, (int, np.integer)) or min_notes < 1:
        raise ValueError(
            f"The 'min_notes' parameter of summarize must be an int >= 1. Got {min_notes!r}."
        )
    _check_score_columns(columns, prefix)
    # Positions, not labels: a frame may carry a duplicated index.
    scored = scored.reset_index(drop=True)

    status = _texts(scored[prefix + "status"])
    label = _texts(scored[prefix + "label"])
    is_scored = status == "scored"
    odd = sorted(set(label[is_scored]) - set(LABELS))
    if odd:
        shown = [value[:30] for value in odd[:3]]
        raise InputFormatError(
            f"summarize expects the 'label' of scored rows to be one of {list(LABELS)}. "
            f"Got {int(label[is_scored].isin(odd).sum())} rows with other values, "
            f"e.g. {shown}. Was the file written by score_frame or score_file?"
        )

    work = pd.DataFrame(index=scored.index)
    for column in [*by_list, *([team] if team else [])]:
        work[column] = _texts(scored[column], blank=BLANK)
    # Categorical: the "all notes" row exists even when there are no rows.
    work["_all"] = pd.Categorical(["all notes"] * len(work), categories=["all notes"])
    work["_scored"] = is_scored
    work["_unscorable"] = ~is_scored
    work["_review"] = _texts(scored[prefix + "needs_review"]).str.lower().isin(_TRUE) & is_scored
    work["_label"] = label.where(is_scored, "")
    work["_evidence"] = _texts(scored[prefix + "evidence"]).where(is_scored, "")
    for name in LABELS:
        work[f"_is_{name}"] = is_scored & (label == name)
        work[f"_p_{name}"] = pd.to_numeric(scored[prefix + f"p_{name}"], errors="coerce")

    overall = _mix(work, ["_all"], min_notes).rename(columns={"_all": "group"})
    overall["group"] = overall["group"].astype(str)
    groups = _mix(work, by_list, min_notes)
    teams = None
    if team is not None:
        teams = _mix(work, [team], min_notes).rename(columns={team: "team"})

    trend, n_no_date = None, None
    if period is not None:
        names, order = period_labels(parse_dates(scored[period]), freq)
        n_no_date = int((names == NO_DATE).sum())
        order += [NO_DATE] if n_no_date else []
        work["_period"] = pd.Categorical(names, categories=order)
        trend = _mix(work, ["_period"], min_notes).rename(columns={"_period": "period"})
        trend["period"] = trend["period"].astype(str)

    if text_column is None:
        skip = {*by_list, team, period, *(prefix + c for c in SCORE_COLUMNS)}
        text_column = _guess_text_column(
            scored, work["_evidence"], [c for c in columns if c not in skip]
        )
        logger.info("Example notes taken from column %r", text_column)
    examples = _examples(work, scored[text_column] if text_column is not None else None)

    reasons = status[~is_scored].map(_unscorable_reason).value_counts()
    return ReportData(
        by=tuple(by_list),
        team=team,
        period=period,
        freq=freq,
        min_notes=int(min_notes),
        text_column=text_column,
        overall=overall,
        groups=groups,
        teams=teams,
        trend=trend,
        n_no_date=n_no_date,
        top_phrases=_top_phrases(work),
        examples=examples,
        unscorable={str(k): int(v) for k, v in reasons.items()},
        needs_review={name: int((work["_review"] & work[f"_is_{name}"]).sum()) for name in LABELS},
    )


def overview(data: ReportData) -> list[str]:
    """A few plain lines that sum up a report (no note text), for the CLI.

    Examples
    --------
    >>> scored = pd.DataFrame({"rep": ["ana"], "label": ["victim"], "p_ownership": [0.1],
    ...     "p_deflection": [0.1], "p_victim": [0.8], "needs_review": [True],
    ...     "evidence": ["always"], "status": ["scored"]})
    >>> print("\\n".join(overview(summarize(scored, by="rep", min_notes=1))))
    1 notes: 1 scored, 0 unscorable; 1 flagged for review.
    Stance mix of all scored notes: ownership 0%, deflection 0%, victim 100%.
    1 groups by rep, 0 with too few notes (< 1 scored).
    """
    totals = data.totals
    reasons = ", ".join(f"{reason}: {n}" for reason, n in data.unscorable.items())
    lines = [
        f"{totals['n_rows']} notes: {totals['n_scored']} scored, "
        f"{totals['n_unscorable']} unscorable{f' ({reasons})' if reasons else ''}; "
        f"{totals['n_needs_review']} flagged for review."
    ]
    overall = data.overall.iloc[0]
    if overall["status"] == "ok":
        mix = ", ".join(f"{label} {overall[f'share_{label}']:.0%}" for label in LABELS)
        lines.append(f"Stance mix of all scored notes: {mix}.")
    else:
        lines.append(f"Too few scored notes for shares (< {data.min_notes}).")
    few = int((data.groups["status"] == TOO_FEW).sum())
    lines.append(
        f"{len(data.groups)} groups by {' / '.join(data.by)}, {few} with too few notes "
        f"(< {data.min_notes} scored)."
        + (f" {len(data.teams)} teams." if data.teams is not None else "")
    )
    if data.trend is not None:
        dated = data.trend[data.trend["period"] != NO_DATE]["period"].tolist()
        span = f"{dated[0]} to {dated[-1]}" if dated else "none"
        lines.append(f"Periods: {span}; {data.n_no_date} rows with no readable date.")
    return lines
