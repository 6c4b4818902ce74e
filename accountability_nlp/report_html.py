"""Team report, the rendering side: one self-contained HTML file.

:func:`render_html` turns a :class:`~accountability_nlp.report.ReportData`
into a page with inline SVG charts and tables; :func:`write_report` reads a
scored file, summarizes it and writes the page (and optional machine-readable
summaries) atomically. The page loads nothing: no scripts, no fonts, no
style sheets, no images from elsewhere, and a Content-Security-Policy that
forbids them, so it can be mailed or archived and still render the same.
Every piece of text from the data is escaped.
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .charts import LABEL_COLOURS, stacked_shares, trend_lines
from .labels import LABELS, Label
from .report import NO_DATE, TOO_FEW, ReportData, read_scored, summarize

__all__ = ["highlight", "render_html", "write_report"]

_MEANING = {
    Label.OWNERSHIP.value: "The writer owns a concrete part of the loss (something they did, "
    "missed or decided) or says what they will do differently.",
    Label.DEFLECTION.value: "The writer places the cause outside themselves (the prospect, "
    "product, price, marketing, a competitor, timing) and presents their own work as fine.",
    Label.VICTIM.value: "The writer sounds helpless: nothing could have been done, it always "
    "happens, the deck was stacked, with no plan for next time.",
}
_MAX_NOTE_CHARS = 600
# Light tints of the chart colours, dark enough to see, light enough to read
# black text on.
_TINTS = {
    Label.OWNERSHIP.value: "#c4dcf0",
    Label.DEFLECTION.value: "#fbe3b3",
    Label.VICTIM.value: "#f2d7e6",
}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1d1d1f;background:#fff;margin:0;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.7em;margin:.2em 0 .3em}h2{font-size:1.3em;margin:1.8em 0 .5em;
 border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.lead{font-size:1.05em;color:#333}
.about{background:#f5f6f8;border-left:4px solid #888;padding:10px 18px;margin:18px 0}
.about dt{font-weight:600;margin-top:.5em}.about dd{margin:0 0 0 1.2em}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.4em;
 vertical-align:-.1em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.92em}
th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f0f1f3;font-weight:600;white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}td.few{color:#666;font-style:italic;text-align:center}
.cols{display:flex;flex-wrap:wrap;gap:24px}.cols>div{flex:1 1 280px}
figure{margin:.6em 0 1em}figure svg{display:block}
blockquote{margin:.4em 0 .2em;padding:8px 14px;background:#fafafa;border-left:4px solid #ccc;
 white-space:pre-wrap;overflow-wrap:anywhere}
.meta{color:#555;font-size:.88em;margin:0 0 1em}
mark{padding:0 .15em;border-radius:2px;color:inherit}
footer{margin-top:3em;color:#666;font-size:.85em}
"""
_CSS += "".join(
    f"mark.{label}{{background:{tint}}}blockquote.{label}{{border-left-color:"
    f"{LABEL_COLOURS[label]}}}"
    for label, tint in _TINTS.items()
)
# Nothing may be fetched: a note cannot smuggle in a tracker, and the file
# renders the same offline.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Evidence phrases are tokens or token runs; a word-boundary guard stops
    # "I" from lighting up every "i" inside words. Clitics ("n't" of "can't")
    # start mid-word by nature, so they get no guard on the left.
    clitic = phrase.lower() in {"n't", "n\u2019t", "nt"}
    left = r"(?<!\w)" if phrase[0].isalnum() and not clitic else ""
    right = r"(?!\w)" if phrase[-1].isalnum() else ""
    return re.compile(left + re.escape(phrase) + right)


def highlight(text: str, phrases: Iterable[str], *, label: str = "") -> str:
    """Escape ``text`` for HTML and wrap each evidence phrase in ``<mark>``.

    Matching is case-sensitive (evidence is quoted as written) and respects
    word edges; overlapping matches are merged.

    Examples
    --------
    >>> highlight("I <b>never</b> followed up", ["never", "I"], label="victim")
    '<mark class="victim">I</mark> &lt;b&gt;<mark class="victim">never</mark>&lt;/b&gt; followed up'
    >>> highlight("It isn't fair", ["n't"])
    'It is<mark>n&#x27;t</mark> fair'
    """
    spans = sorted(
        (m.start(), m.end())
        for phrase in {p for p in phrases if p.strip()}
        for m in _phrase_pattern(phrase).finditer(text)
    )
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    css = f' class="{_e(label)}"' if label else ""
    out, position = [], 0
    for start, end in merged:
        out += [_e(text[position:start]), f"<mark{css}>{_e(text[start:end])}</mark>"]
        position = end
    out.append(_e(text[position:]))
    return "".join(out)


def _probability(value: float) -> str:
    # "1.00" would claim a certainty no model has.
    return f"{value:.2f}" if value < 0.995 else "&gt; 0.99"


def _pct(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "-"


def _mix_table(table: pd.DataFrame, keys: list[str], headers: list[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    head += "<th>Scored notes</th>" + "".join(
        f'<th><span class="swatch" style="background:{LABEL_COLOURS[label]}"></span>'
        f"{_e(label)}</th>"
        for label in LABELS
    )
    head += "<th>Flagged for review</th><th>Unscorable</th>"
    rows = []
    for row in table.itertuples(index=False):
        record = dict(zip(table.columns, row, strict=True))
        cells = "".join(f"<td>{_e(record[k])}</td>" for k in keys)
        cells += f'<td class="num">{record["n_scored"]}</td>'
        if record["status"] == TOO_FEW:
            few = TOO_FEW if record["n_scored"] else "no scored notes"
            cells += f'<td class="few" colspan="{len(LABELS)}">{few}</td>'
        else:
            cells += "".join(
                f'<td class="num">{record[f"n_{label}"]} ({record[f"share_{label}"]:.0%})</td>'
                for label in LABELS
            )
        cells += f'<td class="num">{record["n_needs_review"]}</td>'
        cells += f'<td class="num">{record["n_unscorable"]}</td>'
        rows.append(f"<tr>{cells}</tr>")
    return _table(head, rows)


def _table(head: str, rows: list[str]) -> str:
    """A table from header cells and body rows, both already HTML."""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _count_rows(items: Iterable[tuple[str, int]], *, css: str = "") -> list[str]:
    # Two-column rows: an escaped name (marked when css is given) and a count.
    wrap = (lambda t: f'<mark class="{css}">{t}</mark>') if css else (lambda t: t)
    return [f'<tr><td>{wrap(_e(name))}</td><td class="num">{n}</td></tr>' for name, n in items]


def _mix_chart(table: pd.DataFrame, keys: list[str], *, title: str, chart_id: str) -> str:
    if table.empty:
        return ""
    names = table[keys].astype(str).agg(" / ".join, axis=1).tolist()
    svg = stacked_shares(
        names,
        {label: table[f"share_{label}"].fillna(0.0).tolist() for label in LABELS},
        table["n_scored"].tolist(),
        ok=(table["status"] == "ok").tolist(),
        title=title,
        chart_id=chart_id,
    )
    return f"<figure>{svg}</figure>"


def _trend_section(data: ReportData) -> str:
    if data.trend is None or data.period is None:
        return ""
    unit = "month" if data.freq == "M" else "quarter"
    dated = data.trend[data.trend["period"] != NO_DATE]
    parts = [f"<h2>Trend by {unit} of {_e(data.period)}</h2>"]
    if (dated["status"] == "ok").any():
        title = f"Share of each stance per {unit}"
        svg = trend_lines(
            dated["period"].tolist(),
            {label: dated[f"share_{label}"].tolist() for label in LABELS},
            dated["n_scored"].tolist(),
            title=title,
            chart_id="trend",
        )
        parts.append(f"<figure>{svg}</figure>")
        if (dated["status"] == TOO_FEW).any():
            parts.append(
                f'<p class="meta">Gaps in a line: {unit}s with fewer than {data.min_notes} '
                "scored notes.</p>"
            )
    else:
        parts.append(f"<p>No {unit} has {data.min_notes} or more scored notes.</p>")
    parts.append(_mix_table(data.trend, ["period"], [unit.capitalize()]))
    parts.append(
        f"<p>{data.n_no_date} rows have no readable date in {_e(data.period)} and are "
        f"counted under &ldquo;{NO_DATE}&rdquo;.</p>"
    )
    return "".join(parts)


def _phrases_section(data: ReportData) -> str:
    columns = []
    for label in LABELS:
        rows = _count_rows(data.top_phrases[label], css=label)
        rows = rows or ['<tr><td colspan="2">no evidence</td></tr>']
        columns.append(
            f"<div><h3>{_e(label)}</h3>{_table('<th>Phrase</th><th>Notes</th>', rows)}</div>"
        )
    return (
        "<h2>Most frequent cue phrases</h2><p>The words that drove each label most often, "
        "counted once per note.</p>" + f'<div class="cols">{"".join(columns)}</div>'
    )


def _examples_section(data: ReportData) -> str:
    if data.text_column is None:
        return (
            "<h2>Example notes</h2><p>No note text column was found; pass "
            "<code>text_column</code> (CLI: <code>--text-column</code>) to show examples.</p>"
        )
    parts = [
        "<h2>Example notes</h2><p>The notes the model was most sure about for each label, "
        "with the phrases that drove the label highlighted.</p>"
    ]
    for label in LABELS:
        parts.append(f"<h3>{_e(label)}</h3>")
        if not data.examples[label]:
            parts.append("<p>No notes with this label.</p>")
        for example in data.examples[label]:
            text = example.text
            if len(text) > _MAX_NOTE_CHARS:
                text = text[:_MAX_NOTE_CHARS] + "\u2026"
            evidence = ", ".join(f'<mark class="{label}">{_e(p)}</mark>' for p in example.evidence)
            flag = " &middot; flagged for review" if example.needs_review else ""
            parts.append(
                f'<blockquote class="{label}">{highlight(text, example.evidence, label=label)}'
                f'</blockquote><p class="meta">Evidence: {evidence or "none"} &middot; '
                f"probability {_probability(example.probability)}{flag}</p>"
            )
    return "".join(parts)


def _quality_section(data: ReportData) -> str:
    totals = data.totals
    parts = ["<h2>Rows not scored and notes to check</h2>"]
    if data.unscorable:
        parts.append(
            f"<p>{totals['n_unscorable']} of {totals['n_rows']} rows could not be scored "
            "and are left out of every share above:</p>"
            + _table("<th>Reason</th><th>Rows</th>", _count_rows(data.unscorable.items()))
        )
    else:
        parts.append(f"<p>All {totals['n_rows']} rows were scored.</p>")
    per_label = ", ".join(f"{_e(k)} {v}" for k, v in data.needs_review.items())
    parts.append(
        f"<p>{totals['n_needs_review']} scored notes "
        f"({_pct(totals['n_needs_review'], totals['n_scored'])}) are flagged for review "
        f"because the model was unsure ({per_label}). Read them before drawing conclusions.</p>"
    )
    return "".join(parts)


def _about_section(data: ReportData) -> str:
    items = "".join(
        f'<dt><span class="swatch" style="background:{LABEL_COLOURS[label]}"></span>'
        f"{_e(label)}</dt><dd>{_e(_MEANING[label])}</dd>"
        for label in LABELS
    )
    return (
        '<section class="about"><h2 style="border:0;margin-top:.4em">How to read this report'
        f"</h2><p>Each deal-loss note is labelled by the stance its writer takes toward the "
        f"loss:</p><dl>{items}</dl><p><strong>The labels describe notes, not people.</strong> "
        "One note is one moment; a share says how a set of notes reads, not what anyone is "
        "worth. Use this report to start coaching conversations, not to judge, rank or rate "
        f"anyone. Groups with fewer than {data.min_notes} scored notes show "
        f"&ldquo;{TOO_FEW}&rdquo; instead of shares, because a handful of notes is noise. "
        "The model makes mistakes: check the example notes and the notes flagged for "
        "review.</p></section>"
    )


def render_html(report_data: ReportData, *, title: str) -> str:
    """Render a report as one self-contained HTML page.

    Parameters
    ----------
    report_data : ReportData
        From :func:`accountability_nlp.report.summarize`.
    title : str
        Page title and heading (escaped).

    Returns
    -------
    str
        The HTML document: inline CSS and SVG only, no scripts, no URLs.

    Examples
    --------
    >>> from accountability_nlp.report import summarize
    >>> scored = pd.DataFrame({"rep": ["ana"], "note": ["<b>Nothing</b> to do"],
    ...     "label": ["victim"], "p_ownership": [0.1], "p_deflection": [0.1],
    ...     "p_victim": [0.8], "needs_review": [False], "evidence": ["Nothing"],
    ...     "status": ["scored"]})
    >>> page = render_html(summarize(scored, by="rep", min_notes=1), title="Q3 <team>")
    >>> "<title>Q3 &lt;team&gt;</title>" in page, "&lt;b&gt;<mark" in page, "<script" in page
    (True, True, False)
    """
    data = report_data
    by_name = " / ".join(data.by)
    totals = data.totals
    sections = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">{totals["n_rows"]} notes, {totals["n_scored"]} scored, '
        f"{totals['n_unscorable']} could not be scored, {totals['n_needs_review']} flagged "
        "for review.</p>",
        _about_section(data),
        f"<h2>Stance mix by {_e(by_name)}</h2>",
        _mix_chart(data.groups, list(data.by), title=f"Stance mix by {by_name}", chart_id="groups"),
        _mix_table(
            pd.concat([data.groups, _overall_as(data, list(data.by))], ignore_index=True),
            list(data.by),
            list(data.by),
        ),
    ]
    if data.teams is not None and data.team is not None:
        sections += [
            f"<h2>Stance mix by {_e(data.team)}</h2>",
            _mix_chart(data.teams, ["team"], title=f"Stance mix by {data.team}", chart_id="teams"),
            _mix_table(data.teams, ["team"], [data.team]),
        ]
    sections += [
        _trend_section(data),
        _phrases_section(data),
        _examples_section(data),
        _quality_section(data),
        "<footer>Made by accountability_nlp. Shares are of scored notes; rows that could not "
        "be scored are counted apart.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>\n"
    )


def _overall_as(data: ReportData, keys: list[str]) -> pd.DataFrame:
    # The "all notes" row closes the group table, under the group columns.
    overall = data.overall.drop(columns=["group"])
    for key in keys:
        overall.insert(0, key, "")
    overall[keys[0]] = "all notes"
    return overall[data.groups.columns]


def _atomic_write(path: Path, text: str) -> None:
    # Write next to the target and rename: readers never see half a file,
    # and a failure leaves any previous version in place. open(..., "x")
    # rather than mkstemp, so the file gets the usual permissions (umask).
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "x", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_report(
    scored: str | Path | pd.DataFrame,
    output: str | Path,
    *,
    by: str | list[str],
    period: str | None = None,
    team: str | None = None,
    freq: str = "M",
    min_notes: int = 5,
    title: str | None = None,
    text_column: str | None = None,
    prefix: str = "",
    summary_json: str | Path | None = None,
    summary_csv: str | Path | None = None,
) -> ReportData:
    """Summarize a scored file or frame and write the HTML report.

    Parameters
    ----------
    scored : path or pandas.DataFrame
        A scored table, or a file of one (any format :func:`~accountability_nlp.report.read_scored`
        reads).
    output : path
        The HTML file to write (replaced atomically).
    by, period, team, freq, min_notes, text_column, prefix
        As in :func:`accountability_nlp.report.summarize`.
    title : str, optional
        Defaults to "Deal-loss notes: stance by <by>".
    summary_json, summary_csv : path, optional
        Also write :meth:`ReportData.to_dict` as JSON and
        :meth:`ReportData.to_frame` as CSV. Neither holds note text.

    Returns
    -------
    ReportData
        What the report shows, e.g. for a printed overview.

    Examples
    --------
    >>> import tempfile
    >>> scored = pd.DataFrame({"rep": ["ana"], "note": ["Lost on price"],
    ...     "label": ["deflection"], "p_ownership": [0.1], "p_deflection": [0.8],
    ...     "p_victim": [0.1], "needs_review": [False], "evidence": ["price"],
    ...     "status": ["scored"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     data = write_report(scored, Path(folder) / "report.html", by="rep", min_notes=1)
    ...     (Path(folder) / "report.html").read_text(encoding="utf-8")[:15]
    '<!DOCTYPE html>'
    """
    frame = scored if isinstance(scored, pd.DataFrame) else read_scored(scored)
    data = summarize(
        frame,
        by=by,
        period=period,
        freq=freq,
        team=team,
        min_notes=min_notes,
        text_column=text_column,
        prefix=prefix,
    )
    if title is None:
        title = f"Deal-loss notes: stance by {' / '.join(data.by)}"
    _atomic_write(Path(output), render_html(data, title=title))
    if summary_json is not None:
        _atomic_write(
            Path(summary_json), json.dumps(data.to_dict(), indent=2, ensure_ascii=False) + "\n"
        )
    if summary_csv is not None:
        _atomic_write(Path(summary_csv), data.to_frame().to_csv(index=False, float_format="%.4f"))
    return data
