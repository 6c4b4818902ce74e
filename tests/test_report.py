"""Tests of the team report: aggregation, dates, HTML, files, CLI and a real browser."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import accountability_nlp as anlp
from accountability_nlp.cli import app
from accountability_nlp.dates import NO_DATE, parse_dates, period_labels
from accountability_nlp.errors import ColumnNotFoundError, InputFormatError
from accountability_nlp.report import TOO_FEW, ReportData, read_scored, summarize
from accountability_nlp.report_html import highlight, render_html, write_report

SECRET = "Call Jane Roe at 555-0100"  # stands for note text that must never reach a message
XSS = '<script>alert("x")</script> Lost on price & <img src=x onerror=alert(1)>'


def _row(rep, team, date, label, *, review=False, evidence="", note="", status="scored"):
    probs = {"ownership": 0.1, "deflection": 0.1, "victim": 0.1}
    if label:
        probs[label] = 0.8
    return {
        "rep owner": rep,
        "team": team,
        "close": date,
        "note": note or f"{SECRET}. {evidence}",
        "label": label,
        "p_ownership": probs["ownership"] if label else None,
        "p_deflection": probs["deflection"] if label else None,
        "p_victim": probs["victim"] if label else None,
        "needs_review": review,
        "evidence": evidence,
        "status": status,
    }


@pytest.fixture()
def scored() -> pd.DataFrame:
    """12 rows: ana (6 scored + 1 empty), ben (3 scored), a blank rep, and odd dates."""
    rows = [
        _row("ana", "East", "2025-01-05", "ownership", evidence="My fault | I missed"),
        _row("ana", "East", "2025-01-20", "ownership", evidence="my fault"),
        _row("ana", "East", "01/31/2025", "ownership", evidence="I missed", review=True),
        _row("ana", "East", "2025-02-03 10:00:00", "deflection", evidence="They | price"),
        _row("ana", "East", "2025-02-28T23:30:00-05:00", "deflection", evidence="price"),
        _row("ana", "East", "2025-04-02", "victim", evidence="Nothing I could do"),
        _row("ana", "East", "2025-04-03", "", status="unscorable: empty note", note=""),
        _row("ben", "West", "soon", "victim", evidence="always", review=True),
        _row("ben", "West", "", "victim", evidence="always | never"),
        _row("ben", "West", "3/15/2025", "victim", evidence="never"),
        _row("", "West", "2025-03-01", "deflection", evidence="They"),
        _row("ben", "West", "2025-03-02", "", status="unscorable: not text", note="3.5"),
    ]
    frame = pd.DataFrame(rows)
    frame.loc[6, "note"] = ""
    return frame


def _group(data: ReportData, name: str) -> pd.Series:
    table = data.groups
    return table[table[data.by[0]] == name].iloc[0]


# -- aggregation ---------------------------------------------------------------


def test_report_summarize_counts_and_shares(scored):
    data = summarize(scored, by="rep owner", min_notes=5)
    ana = _group(data, "ana")
    assert (ana["n_rows"], ana["n_scored"], ana["n_unscorable"], ana["n_needs_review"]) == (
        7, 6, 1, 1,
    )
    assert (ana["n_ownership"], ana["n_deflection"], ana["n_victim"]) == (3, 2, 1)
    assert ana["share_ownership"] == pytest.approx(0.5)
    assert ana["share_deflection"] == pytest.approx(2 / 6)
    assert ana["share_victim"] == pytest.approx(1 / 6)
    assert ana["status"] == "ok"
    assert data.totals == {
        "n_rows": 12, "n_scored": 10, "n_unscorable": 2, "n_needs_review": 2,
        "n_ownership": 3, "n_deflection": 3, "n_victim": 4,
    }
    assert data.overall.iloc[0]["share_victim"] == pytest.approx(0.4)


def test_report_summarize_min_notes_reports_too_few(scored):
    data = summarize(scored, by="rep owner", min_notes=5)
    ben = _group(data, "ben")
    assert ben["status"] == TOO_FEW
    assert ben["n_scored"] == 3 and ben["n_victim"] == 3
    assert all(math.isnan(ben[f"share_{label}"]) for label in anlp.LABELS)
    relaxed = _group(summarize(scored, by="rep owner", min_notes=3), "ben")
    assert relaxed["status"] == "ok" and relaxed["share_victim"] == 1.0


def test_report_summarize_blank_group_is_named(scored):
    data = summarize(scored, by="rep owner", min_notes=1)
    assert data.groups["rep owner"].tolist() == ["(blank)", "ana", "ben"]
    assert _group(data, "(blank)")["n_deflection"] == 1


def test_report_summarize_unscorable_and_review_counts(scored):
    data = summarize(scored, by="rep owner")
    assert data.unscorable == {"empty note": 1, "not text": 1}
    assert data.needs_review == {"ownership": 1, "deflection": 0, "victim": 1}
    assert _group(data, "ben")["n_unscorable"] == 1


def test_report_summarize_team_mix(scored):
    data = summarize(scored, by="rep owner", team="team", min_notes=4)
    assert data.teams is not None
    west = data.teams.set_index("team").loc["West"]
    assert (west["n_scored"], west["n_victim"], west["n_deflection"]) == (4, 3, 1)
    assert west["share_victim"] == pytest.approx(0.75)


def test_report_summarize_several_by_columns(scored):
    data = summarize(scored, by=["team", "rep owner"], min_notes=1)
    assert data.groups[["team", "rep owner"]].values.tolist() == [
        ["East", "ana"], ["West", "(blank)"], ["West", "ben"],
    ]
    frame = data.to_frame()
    assert "West / ben" in frame["group"].tolist()


def test_report_summarize_trend_by_month_fills_gaps_and_counts_no_date(scored):
    data = summarize(scored, by="rep owner", period="close", freq="M", min_notes=2)
    trend = data.trend.set_index("period")
    assert trend.index.tolist() == ["2025-01", "2025-02", "2025-03", "2025-04", NO_DATE]
    assert trend.loc["2025-01", "n_ownership"] == 3  # ISO and US dates in one month
    # 23:30 at UTC-5 is still February for the writer: no time-zone shift.
    assert trend.loc["2025-02", "n_deflection"] == 2
    assert trend.loc["2025-03", "n_rows"] == 3 and trend.loc["2025-03", "n_scored"] == 2
    assert trend.loc[NO_DATE, "n_rows"] == 2  # "soon" and "" are counted, not dropped
    assert data.n_no_date == 2
    assert trend["n_rows"].sum() == len(scored)
    assert trend.loc["2025-04", "status"] == TOO_FEW  # one scored note


def test_report_summarize_trend_by_quarter(scored):
    data = summarize(scored, by="rep owner", period="close", freq="Q", min_notes=1)
    assert data.trend["period"].tolist() == ["2025-Q1", "2025-Q2", NO_DATE]
    assert data.trend["n_scored"].tolist() == [7, 1, 2]


def test_report_summarize_reads_text_typed_csv(scored, tmp_path):
    path = tmp_path / "scored.csv"
    scored.to_csv(path, index=False)
    from_csv = summarize(read_scored(path), by="rep owner", period="close", min_notes=2)
    typed = summarize(scored, by="rep owner", period="close", min_notes=2)
    pd.testing.assert_frame_equal(from_csv.groups, typed.groups)
    pd.testing.assert_frame_equal(from_csv.trend, typed.trend)
    assert from_csv.needs_review == typed.needs_review


def test_report_summarize_top_phrases_fold_case_once_per_note(scored):
    data = summarize(scored, by="rep owner")
    assert data.top_phrases["ownership"][:2] == [("i missed", 2), ("my fault", 2)]
    assert data.top_phrases["victim"][:2] == [("always", 2), ("never", 2)]


def test_report_summarize_examples_guess_text_column(scored):
    data = summarize(scored, by="rep owner")
    assert data.text_column == "note"
    first = data.examples["ownership"][0]
    assert not first.needs_review and first.evidence == ("My fault", "I missed")
    assert len(data.examples["victim"]) == 3
    assert all(not e.needs_review for e in data.examples["victim"][:2])


def test_report_summarize_empty_input(scored):
    data = summarize(scored.iloc[0:0], by="rep owner", period="close", team="team")
    assert data.totals["n_rows"] == 0 and data.groups.empty and data.n_no_date == 0
    page = render_html(data, title="Empty")
    assert "<h1>Empty</h1>" in page


def test_report_summary_dict_and_frame_hold_no_note_text(scored):
    data = summarize(scored, by="rep owner", team="team", period="close", min_notes=5)
    payload = json.dumps(data.to_dict())
    table = data.to_frame().to_csv(index=False)
    assert SECRET not in payload and SECRET not in table
    ben = next(g for g in data.to_dict()["groups"] if g["rep owner"] == "ben")
    assert ben["share_victim"] is None and ben["status"] == TOO_FEW
    assert set(data.to_frame()["level"]) == {"all", "by", "team", "period"}


def test_report_reads_scores_without_importing_spacy_or_sklearn():
    code = (
        "import sys, accountability_nlp.report as r; "
        "print(sorted(m for m in ('spacy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-31", "2025-07-31"),
        ("2025/07/31", "2025-07-31"),
        ("7/31/2025", "2025-07-31"),
        ("07-31-25", "2025-07-31"),
        ("2025-07-31 14:05:00", "2025-07-31"),
        ("2025-07-31T23:59:00Z", "2025-07-31"),
        ("7/31/2025 11:30 PM", "2025-07-31"),
        ("Jul 31, 2025", "2025-07-31"),
        (pd.Timestamp("2025-07-31 10:00", tz="UTC"), "2025-07-31"),
        ("31/07/2025", None),
        ("2025-02-30", None),
        ("0025-01-01", None),
        ("next week", None),
        ("", None),
        (None, None),
    ],
)
def test_report_parse_dates_formats(value, expected):
    parsed = parse_dates(pd.Series([value], dtype=object)).iloc[0]
    if expected is None:
        assert pd.isna(parsed)
    else:
        assert parsed.strftime("%Y-%m-%d") == expected


def test_report_period_labels_keep_every_row():
    dates = parse_dates(pd.Series(["2024-11-30", "bad", "2025-01-01"]))
    names, order = period_labels(dates, "Q")
    assert names.tolist() == ["2024-Q4", NO_DATE, "2025-Q1"]
    assert order == ["2024-Q4", "2025-Q1"]


# -- errors ----------------------------------------------------------------------------


def test_report_summarize_missing_by_column_names_closest(scored):
    with pytest.raises(
        ColumnNotFoundError,
        match=r"The 'by' parameter of summarize must be one of \[.*'rep owner'.*\]\. "
        r"Got 'Owner' instead\. Did you mean 'rep owner'\?",
    ):
        summarize(scored, by="Owner")


@pytest.mark.parametrize("param", ["team", "period", "text_column"])
def test_report_summarize_missing_optional_column(scored, param):
    with pytest.raises(ColumnNotFoundError, match=rf"The '{param}' parameter of summarize .*"
                       r"Got 'nope' instead\."):
        summarize(scored, by="rep owner", **{param: "nope"})


def test_report_summarize_missing_score_columns_suggests_prefix(scored):
    prefixed = scored.rename(columns={c: "anlp_" + c for c in scored.columns[4:]})
    with pytest.raises(ColumnNotFoundError, match=r"lacks \['label'.*pass prefix='anlp_'"):
        summarize(prefixed, by="rep owner")
    assert summarize(prefixed, by="rep owner", prefix="anlp_").totals["n_scored"] == 10


def test_report_summarize_unscored_input_says_score_first(scored):
    with pytest.raises(ColumnNotFoundError, match=r"needs the score columns.*Score the notes"):
        summarize(scored[["rep owner", "note"]], by="rep owner")


def test_report_summarize_rejects_unknown_labels_without_note_text(scored):
    scored.loc[0, "label"] = "blame"
    message = r"one of \['ownership'.*Got 1 rows.*'blame'"
    with pytest.raises(InputFormatError, match=message) as info:
        summarize(scored, by="rep owner")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq": "W"}, r"The 'freq' parameter of summarize must be one of \['M', 'Q'\]"),
        ({"min_notes": 0}, r"The 'min_notes' parameter of summarize must be an int >= 1"),
        ({"by": []}, r"The 'by' parameter of summarize must name at least one column"),
    ],
)
def test_report_summarize_rejects_bad_parameters(scored, kwargs, message):
    with pytest.raises(ValueError, match=message):
        summarize(scored, **{"by": "rep owner", **kwargs})


def test_report_read_scored_errors(tmp_path):
    with pytest.raises(InputFormatError, match=r"Cannot tell the format of .*notes\.txt"):
        read_scored(tmp_path / "notes.txt")
    with pytest.raises(InputFormatError, match=r"missing\.csv' is no file"):
        read_scored(tmp_path / "missing.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_text(SECRET)
    with pytest.raises(InputFormatError, match=r"not a readable Parquet file") as info:
        read_scored(broken)
    assert SECRET not in str(info.value)


# -- HTML ------------------------------------------------------------------------------


def test_report_highlight_escapes_and_marks_whole_words():
    out = highlight("I <3 it & I'm done, it isn't fair", ["I", "n't"], label="victim")
    assert out.startswith('<mark class="victim">I</mark> &lt;3 it &amp; ')
    assert "<mark" not in out.split("&amp;")[0].replace('<mark class="victim">I</mark>', "")
    assert 'is<mark class="victim">n&#x27;t</mark>' in out
    assert out.count("<mark") == 3  # "I", "I" of "I'm", "n't"; not the i of "it"


def test_report_html_escapes_note_text(scored):
    scored.loc[0, "note"] = XSS
    scored.loc[0, "evidence"] = "price"
    scored.loc[0, "p_ownership"] = 0.99
    scored.loc[1, "rep owner"] = "<b>eve</b>"
    page = render_html(summarize(scored, by="rep owner", min_notes=1), title="T <i>")
    assert "<script" not in page and "<img" not in page and "<b>eve" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'on <mark class="ownership">price</mark> &amp; &lt;img' in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "<title>T &lt;i&gt;</title>" in page


class _Tags(HTMLParser):
    """Every tag and attribute of a page, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _external_references(page: str) -> list[str]:
    parser = _Tags()
    parser.feed(page)
    found = []
    for tag, attrs in parser.tags:
        if tag in {"script", "link", "img", "iframe", "object", "embed", "image", "audio",
                   "video", "source", "base", "form"}:
            found.append(tag)
        for name, value in attrs.items():
            value = value or ""
            if name in {"src", "srcset", "action", "data", "poster"}:
                found.append(f"{tag} {name}")
            if name.endswith("href") and not value.startswith("#"):
                found.append(f"{tag} {name}={value}")
            if re.search(r"url\((?!#)", value):
                found.append(f"{tag} {name} url")
            if name.startswith("on"):
                found.append(f"{tag} {name}")
    return found


def test_report_html_is_self_contained(scored):
    page = render_html(
        summarize(scored, by="rep owner", team="team", period="close", min_notes=2),
        title="Report",
    )
    assert page.count("<svg") == 3  # groups, teams, trend
    for banned in ("http://", "https://", "<script", "src=", "@import", "<link"):
        assert banned not in page.lower(), banned
    assert _external_references(page) == []
    assert re.findall(r"url\((?!#)", page) == []
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # several charts on one page, no id clash


def test_report_html_hostile_notes_add_no_references(scored):
    scored.loc[0, "note"] = "see https://evil.example/x.png " + XSS
    scored.loc[0, "p_ownership"] = 0.99
    page = render_html(summarize(scored, by="rep owner", min_notes=1), title="R")
    assert "see https://evil.example/x.png &lt;script&gt;" in page  # shown as text only
    assert _external_references(page) == []


def test_report_html_explains_labels_and_use(scored):
    page = render_html(summarize(scored, by="rep owner"), title="R")
    assert "The labels describe notes, not people." in page
    assert "coaching conversations" in page
    for label in anlp.LABELS:
        assert f"{label}</dt>" in page
    assert TOO_FEW in page  # ben and the blank rep


# -- files and CLI -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".jsonl"])
def test_report_write_report_reads_every_format(scored, tmp_path, suffix):
    path = tmp_path / f"scored{suffix}"
    if suffix == ".csv":
        scored.to_csv(path, index=False)
    elif suffix == ".parquet":
        scored.to_parquet(path)
    elif suffix == ".xlsx":
        scored.to_excel(path, index=False)
    else:
        scored.to_json(path, orient="records", lines=True)
    data = write_report(path, tmp_path / "r.html", by="rep owner", period="close", min_notes=1)
    assert data.totals["n_scored"] == 10
    assert data.n_no_date == 2


def test_report_write_report_is_atomic_and_writes_summaries(scored, tmp_path):
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    out.write_text("old")
    write_report(scored, out, by="rep owner", summary_json=tmp_path / "s.json",
                 summary_csv=tmp_path / "s.csv")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temp files left
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert summary["totals"]["n_rows"] == 12 and summary["by"] == ["rep owner"]
    table = pd.read_csv(tmp_path / "s.csv")
    assert table.loc[table["group"] == "ana", "n_ownership"].item() == 3


def test_report_write_report_failure_keeps_old_file(scored, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("old")
    with pytest.raises(ColumnNotFoundError):
        write_report(scored, out, by="nope")
    assert out.read_text() == "old"


def test_report_cli_writes_report_and_overview(scored, tmp_path):
    source = tmp_path / "scored.csv"
    scored.to_csv(source, index=False)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, [
        "report", str(source), "--by", "rep owner", "--team", "team", "--period", "close",
        "--freq", "quarter", "--min-notes", "2", "-o", str(out),
        "--summary-json", str(tmp_path / "s.json"), "--summary-csv", str(tmp_path / "s.csv"),
    ])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Report written to {out}"
    assert "12 notes: 10 scored, 2 unscorable (empty note: 1, not text: 1)" in lines[1]
    assert "Periods: 2025-Q1 to 2025-Q2; 2 rows with no readable date." in result.stdout
    assert out.is_file() and (tmp_path / "s.json").is_file() and (tmp_path / "s.csv").is_file()
    assert SECRET not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "Owner"], r"Got 'Owner' instead\. Did you mean 'rep owner'\?"),
        (["--by", "rep owner", "--period", "Close"], r"'period' parameter.*Did you mean 'close'"),
        (["--by", "rep owner", "--freq", "week"], r"--freq must be one of \['month', 'quarter'\]"),
    ],
)
def test_report_cli_errors_exit_2(scored, tmp_path, args, message):
    source = tmp_path / "scored.csv"
    scored.to_csv(source, index=False)
    result = CliRunner().invoke(app, ["report", str(source), *args, "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert re.search(message, result.stderr.replace("\n", " ")), result.stderr
    assert not (tmp_path / "r.html").exists()


# -- browser -----------------------------------------------------------------------------------


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium is not installed; the CI script must install it "
                        "(apt-get install -y chromium).")
        pytest.skip("chromium is not installed (apt-get install -y chromium); "
                    "with CI set this test fails instead of skipping")
    return path


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_in_headless_chromium(sample_export, default_model, tmp_path):
    from PIL import Image

    from accountability_nlp.charts import LABEL_COLOURS
    from accountability_nlp.scoring import score_frame

    binary = _chromium()
    frame = pd.read_csv(sample_export, dtype=str, keep_default_na=False)
    scored_path = tmp_path / "scored.csv"
    score_frame(frame, default_model, text_column="Loss Notes").to_csv(scored_path, index=False)
    page = tmp_path / "report.html"
    write_report(scored_path, page, by="Opportunity Owner", team="Sales Team",
                 period="Close Date")

    dom = _run_chromium(binary, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 3 and dom.stdout.count("<table") >= 6
    assert "<path" in dom.stdout and "<mark" in dom.stdout
    assert "Stance mix by Opportunity Owner" in dom.stdout

    shot = tmp_path / "report.png"
    run = _run_chromium(binary, tmp_path / "profile", f"--screenshot={shot}",
                        "--window-size=1280,4000", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as image:
        assert image.size == (1280, 4000)
        pixels = image.convert("RGB")
        colours = {colour: n for n, colour in pixels.getcolors(maxcolors=1 << 24)}
    # The bars were painted: each label colour fills a sizeable area.
    for hex_colour in LABEL_COLOURS.values():
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        assert colours.get(rgb, 0) > 1000, f"{hex_colour}: {colours.get(rgb, 0)} pixels"
    assert len(colours) > 500  # text, tints and anti-aliasing: not a blank page
