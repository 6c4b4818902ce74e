"""Dates of CRM exports: parse what people type, bucket by month or quarter.

CRM exports mix ISO dates, US dates and datetimes, sometimes in one column,
and hold typos. Rows whose date cannot be read get the period
:data:`NO_DATE` so they are counted, never dropped silently.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NO_DATE", "parse_dates", "period_labels"]

logger = logging.getLogger(__name__)

#: Period given to rows whose date is missing or cannot be read.
NO_DATE = "no date"
# Filling every month between a typo like 1925 and today would make a
# useless chart; past this many periods only the observed ones are kept.
_MAX_FILLED_PERIODS = 240

# The date part is enough for month and quarter buckets; what follows it (a
# time, a UTC offset) is ignored, so "2025-07-31T23:30-05:00" stays in July
# as the writer saw it.
_ISO_DATE = r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[T\s])"
_US_DATE = r"^\s*(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})(?:$|[\s,])"
# Years outside this window are typos (0025, 9999); they count as "no date"
# rather than stretching the trend over centuries.
_YEARS = (1900, 2199)
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse ISO dates, US dates and datetimes; NaT where a value is unreadable.

    Understood: ``2025-07-31``, ``2025/07/31``, ``2025-07-31 14:05:00``,
    ``2025-07-31T14:05:00Z`` (the date part counts; no time-zone shift),
    US ``7/31/2025``, ``07-31-25`` (two-digit years as in ``strptime``),
    month names (``Jul 31, 2025``) and datetime values. Day-first dates
    (``31/07/2025``) are not guessed: they come out NaT unless the day is
    12 or less, where US order wins.

    Examples
    --------
    >>> dates = parse_dates(pd.Series(["2025-07-31", "7/31/2025", "2025-07-31T23:30:00-05:00",
    ...                                "Jul 3, 2025", "31/07/2025", "soon", ""]))
    >>> dates.dt.strftime("%Y-%m-%d").tolist()
    ['2025-07-31', '2025-07-31', '2025-07-31', '2025-07-03', nan, nan, nan]
    """
    series = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        return series.where(series.dt.year.between(*_YEARS)).astype("datetime64[ns]")
    # A date column repeats itself: parse each distinct value once.
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    parsed = _parse_distinct(pd.Series(uniques, dtype=object))
    return pd.Series(parsed.to_numpy()[codes], index=series.index, dtype="datetime64[ns]")


def _parse_distinct(series: pd.Series) -> pd.Series:
    native = pd.Series(
        [_native_timestamp(v) for v in series], index=series.index, dtype="datetime64[ns]"
    )
    text = pd.Series(
        ["" if _is_missing(v) or isinstance(v, date) else str(v) for v in series],
        index=series.index,
        dtype=object,
    )
    iso = text.str.extract(_ISO_DATE).astype(float)
    us = text.str.extract(_US_DATE).astype(float)
    us_year = us[2].where(us[2] >= 100, us[2] + np.where(us[2] < 69, 2000, 1900))
    parts = pd.DataFrame(
        {
            "year": iso[0].fillna(us_year),
            "month": iso[1].fillna(us[0]),
            "day": iso[2].fillna(us[1]),
        }
    )
    parts = parts[parts["year"].between(*_YEARS)].dropna()
    parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if not parts.empty:
        parsed[parts.index] = pd.to_datetime(parts, errors="coerce").astype("datetime64[ns]")
    named = np.array([_MONTH_NAME.search(v) is not None for v in text], dtype=bool)
    rest = parsed.isna() & native.isna() & named
    if rest.any():
        parsed[rest] = [_parse_month_name(v) for v in text[rest]]
    return native.fillna(parsed)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT


def _native_timestamp(value: Any) -> Any:
    if _is_missing(value) or not isinstance(value, date):
        return pd.NaT
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    return stamp if _YEARS[0] <= stamp.year <= _YEARS[1] else pd.NaT


def _parse_month_name(text: str) -> Any:
    from dateutil import parser

    try:
        # A fixed default: a missing day must not depend on today's date.
        stamp = parser.parse(text, default=datetime(2000, 1, 1), ignoretz=True)
    except (ValueError, OverflowError):
        return pd.NaT
    return pd.Timestamp(stamp) if _YEARS[0] <= stamp.year <= _YEARS[1] else pd.NaT


def period_labels(dates: pd.Series, freq: str) -> tuple[pd.Series, list[str]]:
    """Name the month (``"2025-07"``) or quarter (``"2025-Q3"``) of each date.

    Parameters
    ----------
    dates : pandas.Series of datetime64
        As returned by :func:`parse_dates`; NaT becomes :data:`NO_DATE`.
    freq : {"M", "Q"}
        Month or quarter.

    Returns
    -------
    names : pandas.Series of str
        The period of each row, same index as ``dates``.
    order : list of str
        Every period from the first to the last, gaps included (only the
        observed ones if that would be more than 240), without ``NO_DATE``.

    Examples
    --------
    >>> names, order = period_labels(parse_dates(pd.Series(["2025-01-05", "", "2025-03-01"])), "M")
    >>> names.tolist(), order
    (['2025-01', 'no date', '2025-03'], ['2025-01', '2025-02', '2025-03'])
    """
    known = dates.dropna()
    labels = pd.Series(NO_DATE, index=dates.index, dtype=object)
    if known.empty:
        return labels, []
    periods = known.dt.to_period(freq)
    full = pd.period_range(periods.min(), periods.max(), freq=freq)
    if len(full) > _MAX_FILLED_PERIODS:
        logger.info("Dates span %d periods; only periods with notes are shown", len(full))
        full = pd.PeriodIndex(sorted(periods.unique()), freq=freq)
    codes, uniques = pd.factorize(periods)  # name each distinct period once
    labels[known.index] = np.array([_period_name(p) for p in uniques], dtype=object)[codes]
    return labels, [_period_name(p) for p in full]


def _period_name(period: pd.Period) -> str:
    if period.freqstr.startswith("Q"):
        return f"{period.year}-Q{period.quarter}"
    return f"{period.year}-{period.month:02d}"
