"""Charts for the team report, as inline SVG strings.

Figures are built with :class:`matplotlib.figure.Figure` directly, never
through ``pyplot``: no global figure registry, no GUI backend, nothing left
open in a long-running process, and the caller's backend choice is untouched.
Text is drawn as paths, so the SVG needs no fonts and no external files.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .labels import LABELS, Label

__all__ = ["LABEL_COLOURS", "stacked_shares", "trend_lines"]

#: One colour per label from the Okabe-Ito palette, which stays distinct for
#: the common forms of colour blindness. Blue / orange / purple on purpose: a
#: green-to-red scale would read as good-to-bad, and the labels describe notes,
#: they are not grades.
LABEL_COLOURS: dict[str, str] = {
    Label.OWNERSHIP.value: "#0072B2",
    Label.DEFLECTION.value: "#E69F00",
    Label.VICTIM.value: "#CC79A7",
}
# Text on each colour with enough contrast (white on blue, black on the others).
_INK = {
    Label.OWNERSHIP.value: "white",
    Label.DEFLECTION.value: "black",
    Label.VICTIM.value: "black",
}
# Markers tell the trend lines apart without colour.
_MARKERS = {Label.OWNERSHIP.value: "o", Label.DEFLECTION.value: "s", Label.VICTIM.value: "^"}
# Any: matplotlib types rc keys as a Literal union that a plain dict cannot match.
_RC: Any = {
    "svg.fonttype": "path",
    "svg.hashsalt": "accountability_nlp",  # stable ids: same data, same file
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_MAX_NAME = 32
_MAX_TICKS = 24
_FLAT_TICKS = 14


def _short(name: str) -> str:
    # Cut in the middle: names that share a long start ("Acme Corp - East",
    # "Acme Corp - West") stay tell-apart-able.
    if len(name) <= _MAX_NAME:
        return name
    head = (_MAX_NAME - 1) * 2 // 3
    return name[:head] + "\u2026" + name[len(name) - (_MAX_NAME - 1 - head) :]


def _legend(ax: Axes) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncol=len(LABELS),
        frameon=False,
        handlelength=1.2,
        columnspacing=1.5,
    )


def _to_svg(figure: Figure, *, chart_id: str, title: str) -> str:
    """Serialise ``figure`` to an ``<svg>`` element fit for inlining in HTML."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE (a URL)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # Namespace declarations are URLs; the HTML parser does not need them.
    svg = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", svg)
    # Several charts share one page: prefix ids so their glyph and clip-path
    # definitions cannot collide.
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(
        r'(\bid="|href="#|url\(#)([^")]+)',
        lambda m: m.group(1) + (f"{chart_id}-{m.group(2)}" if m.group(2) in ids else m.group(2)),
        svg,
    )
    # Scale with the page instead of the fixed size in points.
    svg = re.sub(
        r'<svg([^>]*?)\s+width="([\d.]+)pt"\s+height="([\d.]+)pt"',
        lambda m: (
            f'<svg{m.group(1)} width="100%" style="max-width:{float(m.group(2)):.0f}pt;'
            f'height:auto" role="img" aria-label="{html.escape(title, quote=True)}"'
        ),
        svg,
        count=1,
    )
    return svg.strip()


def stacked_shares(
    names: Sequence[str],
    shares: Mapping[str, Sequence[float]],
    counts: Sequence[int],
    *,
    ok: Sequence[bool],
    title: str,
    chart_id: str,
) -> str:
    """Horizontal 100% bars: the label mix of each group, as an SVG string.

    Parameters
    ----------
    names : sequence of str
        Group names, drawn top to bottom in this order.
    shares : mapping
        Label -> share (0..1) per group.
    counts : sequence of int
        Scored notes per group, written at the end of each bar.
    ok : sequence of bool
        False for groups with too few notes: drawn as an empty row that says so.
    title : str
        Accessible name of the chart.
    chart_id : str
        Unique prefix for the ids inside the SVG.

    Examples
    --------
    >>> svg = stacked_shares(["Ana"], {"ownership": [0.5], "deflection": [0.25],
    ...     "victim": [0.25]}, [4], ok=[True], title="Mix", chart_id="c1")
    >>> svg.startswith("<svg") and "http" not in svg
    True
    """
    rows = len(names)
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(9, 0.9 + 0.42 * max(rows, 1)))
        ax = figure.subplots()
        y = list(range(rows))[::-1]  # first group on top
        left = [0.0] * rows
        for label in LABELS:
            widths = [s if good else 0.0 for s, good in zip(shares[label], ok, strict=True)]
            ax.barh(
                y,
                widths,
                left=left,
                height=0.7,
                color=LABEL_COLOURS[label],
                label=label,
                edgecolor="white",
                linewidth=0.8,
            )
            for yy, start, width in zip(y, left, widths, strict=True):
                if width >= 0.07:  # narrower segments cannot hold a readable label
                    ax.text(
                        start + width / 2,
                        yy,
                        f"{width:.0%}",
                        ha="center",
                        va="center",
                        color=_INK[label],
                        fontsize=9,
                    )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for yy, n, good in zip(y, counts, ok, strict=True):
            if good:
                ax.text(1.01, yy, f"n={n}", va="center", ha="left", fontsize=9, color="#444")
            else:
                ax.text(
                    0.01,
                    yy,
                    f"too few notes (n={n})",
                    va="center",
                    ha="left",
                    fontsize=9,
                    color="#555",
                    style="italic",
                )
        ax.set_yticks(y, [_short(n) for n in names])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, rows - 0.4)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.tick_params(axis="y", length=0)
        _legend(ax)
        return _to_svg(figure, chart_id=chart_id, title=title)


def trend_lines(
    periods: Sequence[str],
    shares: Mapping[str, Sequence[float]],
    counts: Sequence[int],
    *,
    title: str,
    chart_id: str,
) -> str:
    """Share of each label per period, one line per label, as an SVG string.

    Periods whose shares are NaN (too few notes) leave a gap in the lines.
    Each tick says how many scored notes the period holds.

    Examples
    --------
    >>> svg = trend_lines(["2025-01", "2025-02"], {"ownership": [0.5, 0.4],
    ...     "deflection": [0.25, 0.4], "victim": [0.25, 0.2]}, [8, 10],
    ...     title="Trend", chart_id="t")
    >>> svg.count("<svg")
    1
    """
    x = list(range(len(periods)))
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(10.5, 4))
        ax = figure.subplots()
        for label in LABELS:
            ax.plot(
                x,
                list(shares[label]),
                color=LABEL_COLOURS[label],
                marker=_MARKERS[label],
                linewidth=2,
                markersize=5,
                label=label,
            )
        step = max(1, -(-len(periods) // _MAX_TICKS))  # ceil: at most _MAX_TICKS labels
        ticks = x[::step]
        if len(ticks) <= _FLAT_TICKS:
            ax.set_xticks(ticks, [f"{periods[i]}\nn={counts[i]}" for i in ticks], fontsize=8)
        else:  # two-line labels turned on their side are hard to read: one line each
            ax.set_xticks(
                ticks,
                [f"{periods[i]} (n={counts[i]})" for i in ticks],
                fontsize=8,
                rotation=40,
                ha="right",
                rotation_mode="anchor",
            )
        ax.set_ylim(0, 1)
        ax.set_xlim(-0.5, max(len(periods) - 0.5, 0.5))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", color="#ddd", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_ylabel("share of scored notes")
        _legend(ax)
        return _to_svg(figure, chart_id=chart_id, title=title)
