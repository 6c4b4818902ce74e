"""Build the sample Salesforce closed-lost export from the hand-written notes.

Reads ``data/sample/crm_notes_source.csv`` (columns ``text,label``) and writes
``data/sample/crm_export.csv``: a Salesforce-style "Closed Lost" opportunity
report of about 500 rows for a seller of a field-service management platform.
The ``label`` column stays in the source file; a real export has no labels.

Everything random comes from one ``random.Random(SEED)``, so two runs write
byte-identical files. The summary printed at the end is computed from the
written rows, not from the targets below, and is what the sample README quotes.

Notes
-----
Run from the repository root::

    python scripts/build_sample_export.py

Each source note is used exactly once. On top of the notes the script adds
the quirks a real export has: empty notes, placeholder notes ("see email"),
rich-text HTML fragments, line breaks, exact duplicate rows from a double
export, and non-ASCII account and owner names. Opportunity IDs carry the real
Salesforce 15-to-18 character case-checksum suffix. Account, rep and
competitor names are invented.

Examples
--------
>>> to_18_char_id("0065g00000XyZ12")
'0065g00000XyZ12AAF'
>>> loss_reason("Went dark after pricing, 6 emails no reply")
'Lost Contact'
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import random
import re
from collections import Counter
from pathlib import Path

import pandas as pd

SEED = 20251201

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SOURCE_PATH = SAMPLE_DIR / "crm_notes_source.csv"
EXPORT_PATH = SAMPLE_DIR / "crm_export.csv"

COLUMNS = [
    "Opportunity ID",
    "Account Name",
    "Opportunity Owner",
    "Sales Team",
    "Stage",
    "Close Date",
    "Amount",
    "Loss Reason",
    "Loss Notes",
]

N_EMPTY_NOTES = 25
N_PLACEHOLDER_NOTES = 8
N_HTML_NOTES = 15
N_ADDED_LINE_BREAKS = 10
N_DUPLICATE_ROWS = 8
BLANK_AMOUNT_SHARE = 0.06

FIRST_CLOSE_DATE = dt.date(2025, 12, 1)
LAST_CLOSE_DATE = dt.date(2026, 11, 30)

PLACEHOLDERS = ["see email", "See email", "see attached", "See attached.", "n/a", "N/A"]

REPS: dict[str, list[str]] = {
    "SMB East": ["Zoë Ambrose", "Declan Moorcroft", "Priya Venkataraman"],
    "SMB West": ["José Ibáñez", "Kelsey Tran", "Bryce Aldridge"],
    "Mid-Market": ["Rachel Castellanos", "Tobias Fairweather", "Siobhán Mulcahy"],
    "Enterprise": ["Dariusz Wróbel", "Camille Ostrander", "Hamid Farouqi"],
}

# Share of opportunities per team: the SMB teams run more, smaller deals.
TEAM_WEIGHTS: dict[str, float] = {
    "SMB East": 0.28,
    "SMB West": 0.27,
    "Mid-Market": 0.27,
    "Enterprise": 0.18,
}

# (low, high, rounding step) in USD; drawn log-uniformly.
AMOUNT_RANGES: dict[str, tuple[int, int, int]] = {
    "SMB East": (6_000, 40_000, 500),
    "SMB West": (6_000, 40_000, 500),
    "Mid-Market": (35_000, 180_000, 1_000),
    "Enterprise": (150_000, 1_200_000, 5_000),
}

ACCOUNTS: dict[str, list[str]] = {
    "SMB East": [
        "Hartwell Plumbing & Heating",
        "Kowalski Bros. Mechanical",
        "Bayshore Comfort Air",
        "Ridgeline HVAC Services",
        "Pruitt & Sons Drain Co.",
        "Greenmarsh Property Services",
        "Tidewater Fiber Installs",
        "Oakhollow Refrigeration",
        "Château Dufresne Gestion Immobilière",
        "Brannock Heating Oil & Service",
        "Little Falls Sewer & Drain",
        "Sørensen Climate Control",
        "Wexley Building Maintenance",
        "Mohawk Valley Cable Contractors",
        "Quarry Street Pipe Works",
        "Bright Hollow Electric",
        "Cedar Point Apartments Mgmt",
        "Fenwick Boiler Repair",
        "Lindell & Haugh Plumbing",
        "Östberg Ventilation",
        "Kittredge Facility Care",
        "Harbor Lane Property Group",
        "Pemberton Air Solutions",
        "Plomberie Nadeau Inc.",
        "Blue Heron Telecom Installs",
        "Marchetti Heating & Cooling",
        "Saltmarsh Rooter Service",
        "Whitcombe Chiller Service",
    ],
    "SMB West": [
        "Saguaro Cooling Co.",
        "Desert Bloom Plumbing",
        "Cascadia Drain Pros",
        "Redwood Gap HVAC",
        "Alameda Line Installers",
        "Piñon Property Management",
        "Sierra Crest Mechanical",
        "Juniper Flats Water Co-op",
        "Baja Norte Climate",
        "Coyote Ridge Fiber",
        "Muñoz & Daughters Plumbing",
        "Tahoma Building Services",
        "Pacific Rim Refrigeration",
        "Larkspur Apartments LLC",
        "Golden Spike Heating",
        "Two Rivers Cable & Fiber",
        "Vashon Island Plumbing",
        "Mesa Verde Facility Services",
        "Ngata Air Conditioning",
        "Obsidian Peak Mechanical",
        "Salish Sea Property Partners",
        "Zúñiga Comfort Systems",
        "Canyon Lake HVAC",
        "Old Mill Drain & Rooter",
        "Stillwater Heights HOA Services",
        "Wrangell Boiler & Steam",
        "Los Altos Tenant Services",
        "Tamarack Line Construction",
    ],
    "Mid-Market": [
        "Keystone Facility Partners",
        "Meridian Multifamily Group",
        "Alder & Finch Mechanical",
        "Thornbury Commercial HVAC",
        "Crescent Fiber Networks",
        "Eastbrook Municipal Utilities",
        "Pinecrest Senior Living Facilities",
        "Grünwald Gebäudetechnik GmbH",
        "Lakeshore Medical Campus Services",
        "Ironbridge Plumbing Group",
        "Prairie Wind Electric Cooperative",
        "Summit Peak Property Management",
        "Valdés Facility Solutions",
        "Halcyon Telecom Services",
        "Whitmore University Facilities",
        "Bellweather Mechanical Contractors",
        "Copperline Installations",
        "Gaspé Énergie Services",
        "Rosewood Residential Management",
        "Tri-County Gas Services",
        "Anchorpoint Building Systems",
        "Fjällström Fastighetsservice AB",
        "Maplecroft Schools Facilities",
        "Redstone Rural Broadband",
    ],
    "Enterprise": [
        "Compagnie Lémanique des Eaux",
        "Northgate Regional Water Authority",
        "Great Plains Power & Light",
        "Atlantic Seaboard Gas Distribution",
        "Stadtwerke Mühlenbach",
        "Consolidated Realty Trust",
        "Pan-Continental Facilities Group",
        "Ashgrove Telecom Field Services",
        "Meridia Health Facilities Network",
        "Cumberland Valley Electric",
        "Ålesund Kraft og Nett AS",
        "Redmarsh County Utilities District",
        "Vanguardia Servicios Técnicos S.A.",
        "Halloran Integrated FM",
        "United Metro Housing Authority",
        "Blue Ridge Fiber Holdings",
        "Sterling Commercial Properties REIT",
        "Ostara Mechanical Services Group",
    ],
}

SMB_TEAMS = ("SMB East", "SMB West")
UPMARKET_TEAMS = ("Mid-Market", "Enterprise")

# Words that place a note with a large or a small customer.
UPMARKET_HINT = re.compile(
    r"\b(rfp|procurement|steering committee|board|cio|cfo|legal|security (review|questionnaire)"
    r"|soc ?2|pen test|utilit(y|ies)|water (district|authority)|gas|co-ops?|muni|commission"
    r"|rate case|global|parent co|hq|msa|indemnif|capital committee|council|reorg|portfolio)\b",
    re.IGNORECASE,
)
SMB_HINT = re.compile(
    r"\b(owner|shop|plumb\w*|family|wife|son|nephew|office (mgr|manager)|whiteboard|paper"
    r"|clipboard|flip phone|spreadsheet|ebook)\b",
    re.IGNORECASE,
)
HEADCOUNT = re.compile(
    r"\b(\d+)[ -](?:person|techs?|trucks?|mechanics|routes|campuses|buildings)\b", re.IGNORECASE
)

# First match wins; the order settles notes that name several reasons.
LOSS_REASON_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "Lost Contact",
        re.compile(
            r"went (dark|silent|cold|quiet)|ghost|no (reply|response|answer)|unresponsive|no show"
            r"|lost contact|(don'?t|didn'?t|never) (answer|reply|respond)|disconnected|nothing back"
            r"|heard back|left (the )?co|circle back|straight answer|shouting into the void",
            re.IGNORECASE,
        ),
    ),
    (
        "No Decision / Status Quo",
        re.compile(
            r"status quo|no decision|tabled|paper|spreadsheet|whiteboard|clipboard|in[- ]house"
            r"|homegrown|build (it|something)|not a priority|think about it|wait and see|stay with"
            r"|happy enough|works fine|rather hire|not right now|not interested|\bboard\b|committee"
            r"|cancel|never (a )?real|wasn'?t real|cold feet|change mgmt",
            re.IGNORECASE,
        ),
    ),
    (
        "Competitor",
        re.compile(
            r"competitor|incumbent|lost to|went (w/|with)|picked|chose"
            r"|crewline|dispatchly|routehawk|tessera|servicegrid|servix|fieldmark|wrenchly|fixflow"
            r"|ampwright|omniwork|valvely"
            r"|vendor|another direction|better offer|someone else|awarded|alternatives"
            r"|other (team|system|guys)|big guys|cousin",
            re.IGNORECASE,
        ),
    ),
    ("Price", re.compile(r"pric|expensive|cheap|discount|\$|too much|\d+% off", re.IGNORECASE)),
    (
        "Budget",
        re.compile(
            r"budget|fund|capex|\bspend|freeze|\bcash\b|\bcut\b|money|\bcfo\b|finance|capital"
            r"|\bgrant|roi\b|business case|bankrupt|layoff|credit check",
            re.IGNORECASE,
        ),
    ),
    (
        "Timing",
        re.compile(
            r"timing|next (year|fy|fiscal|cycle|quarter)|fiscal|delay|postpon|revisit|hold off"
            r"|\bpush|\bslip|season|\bwait|\blater\b|deadline|holiday|vacation|too late|\bq[1-4]\b"
            r"|reorg|merger|retire|\bnew (ceo|vp|cio|guy|leadership)",
            re.IGNORECASE,
        ),
    ),
    (
        "Product Fit",
        re.compile(
            r"product|feature|gap|integrat|offline|fit\b|locali|support|app\b|roadmap"
            r"|we don'?t have|can'?t handle|demo|security|\bsso\b|soc ?2|pen test|\bapi\b|on-prem"
            r"|license|module|\bgis\b"
            r"|sync|packag|too complex|too technical|data residency|reference|outage|review",
            re.IGNORECASE,
        ),
    ),
]
FALLBACK_REASON_WEIGHTS: dict[str, float] = {
    "Price": 0.2,
    "Competitor": 0.2,
    "No Decision / Status Quo": 0.15,
    "Budget": 0.1,
    "Timing": 0.1,
    "Product Fit": 0.1,
    "Lost Contact": 0.1,
    "Other": 0.05,
}

ID_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_BODY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_PREFIX = "0065g00000"  # "006" is the Opportunity key prefix

HTML_MARKERS = re.compile(r"<(?:p|div|br)\b|&amp;|&#39;|&quot;|&lt;|&gt;")


def read_source(path: Path) -> tuple[list[str], Counter[str]]:
    """Return the note texts of the source file, in file order, and the label counts.

    Parameters
    ----------
    path : Path
        CSV file with the columns ``text`` and ``label``.

    Returns
    -------
    notes : list of str
        One entry per source note.
    labels : collections.Counter
        Number of notes per label.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [row["text"] for row in rows], Counter(row["label"] for row in rows)


def to_18_char_id(id15: str) -> str:
    """Append Salesforce's case-checksum suffix to a 15-character ID.

    Each 5-character chunk gives one suffix character whose bits mark the
    upper-case letters in that chunk, so the ID survives case-insensitive tools.

    Parameters
    ----------
    id15 : str
        A 15-character, case-sensitive Salesforce ID.

    Returns
    -------
    str
        The 18-character ID.

    Examples
    --------
    >>> to_18_char_id("006000000000000")
    '006000000000000AAA'
    """
    suffix = ""
    for start in range(0, 15, 5):
        chunk = id15[start : start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += ID_CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def new_opportunity_ids(rng: random.Random, count: int) -> list[str]:
    """Return ``count`` distinct 18-character Opportunity IDs."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        new_id = to_18_char_id(ID_PREFIX + "".join(rng.choices(ID_BODY_ALPHABET, k=5)))
        if new_id not in seen:
            seen.add(new_id)
            ids.append(new_id)
    return ids


def eligible_teams(note: str) -> tuple[str, ...]:
    """Return the teams whose customers could plausibly have written ``note``.

    A stated headcount decides; otherwise upmarket and SMB words are counted.
    """
    match = HEADCOUNT.search(note)
    if match:
        size = int(match.group(1))
        if size <= 30:
            return SMB_TEAMS
        return ("Mid-Market",) if size < 150 else ("Enterprise",)
    upmarket = len(UPMARKET_HINT.findall(note))
    smb = len(SMB_HINT.findall(note))
    if upmarket > smb:
        return UPMARKET_TEAMS
    if smb > upmarket:
        return SMB_TEAMS
    return tuple(TEAM_WEIGHTS)


def pick_team(rng: random.Random, teams: tuple[str, ...]) -> str:
    """Draw one of ``teams`` in proportion to ``TEAM_WEIGHTS``."""
    return rng.choices(teams, weights=[TEAM_WEIGHTS[t] for t in teams])[0]


def loss_reason(note: str) -> str:
    """Return the picklist value a rep would most likely pick for ``note``.

    Examples
    --------
    >>> loss_reason("Lost to Crewline on price")
    'Competitor'
    """
    for reason, pattern in LOSS_REASON_RULES:
        if pattern.search(note):
            return reason
    return "Other"


def random_amount(rng: random.Random, team: str) -> float | None:
    """Return a rounded deal size typical of ``team``, or ``None`` (blank)."""
    if rng.random() < BLANK_AMOUNT_SHARE:
        return None
    low, high, step = AMOUNT_RANGES[team]
    value = low * (high / low) ** rng.random()
    return float(max(low, round(value / step) * step))


def random_close_date(rng: random.Random) -> str:
    """Return an ISO date between ``FIRST_CLOSE_DATE`` and ``LAST_CLOSE_DATE``."""
    span = (LAST_CLOSE_DATE - FIRST_CLOSE_DATE).days
    return (FIRST_CLOSE_DATE + dt.timedelta(days=rng.randint(0, span))).isoformat()


def as_rich_text(rng: random.Random, note: str) -> str:
    """Return ``note`` as Salesforce rich-text HTML: escaped, wrapped, broken with ``<br>``."""
    escaped = html.escape(note, quote=False).replace("'", "&#39;").replace('"', "&quot;")
    sentences = [p for p in re.split(r"(?<=[.!?])\s+|\n", escaped) if p]
    style = rng.randrange(3)
    if style == 0:
        return "<p>" + "<br>".join(sentences) + "</p>"
    if style == 1:
        return "<div>" + escaped.replace("\n", "<br>") + "</div>"
    return "".join(f"<p>{p}</p>" for p in sentences)


def add_line_break(rng: random.Random, note: str) -> str:
    """Replace one sentence gap in ``note`` with a line break, as reps do."""
    gaps = [m.start() for m in re.finditer(r"(?<=[.!?]) (?=\S)", note)]
    cut = rng.choice(gaps)
    return note[:cut] + rng.choice(["\n", "\n\n"]) + note[cut + 1 :]


def decorate_notes(rng: random.Random, notes: list[str]) -> list[str]:
    """Return the notes with HTML wrapping and extra line breaks applied to a few.

    Notes with an ampersand go first into the HTML set so that ``&amp;`` shows up.
    """
    order = list(range(len(notes)))
    rng.shuffle(order)
    order.sort(key=lambda i: "&" not in notes[i])  # stable: ampersand notes first
    html_set = set(order[:N_HTML_NOTES])
    one_line = [
        i for i in order[N_HTML_NOTES:] if "\n" not in notes[i] and re.search(r"[.!?] \S", notes[i])
    ]
    break_set = set(rng.sample(one_line, N_ADDED_LINE_BREAKS))
    decorated = []
    for i, note in enumerate(notes):
        if i in html_set:
            note = as_rich_text(rng, note)
        elif i in break_set:
            note = add_line_break(rng, note)
        decorated.append(note)
    return decorated


def assign_accounts(rng: random.Random) -> dict[str, list[str]]:
    """Split each team's accounts evenly among its reps; return rep -> accounts."""
    book: dict[str, list[str]] = {rep: [] for reps in REPS.values() for rep in reps}
    for team, accounts in ACCOUNTS.items():
        shuffled = accounts[:]
        rng.shuffle(shuffled)
        for k, account in enumerate(shuffled):
            book[REPS[team][k % len(REPS[team])]].append(account)
    return book


def build_export(notes: list[str], rng: random.Random) -> pd.DataFrame:
    """Return the export rows built around ``notes`` (each used exactly once).

    Parameters
    ----------
    notes : list of str
        Source notes, in file order.
    rng : random.Random
        The single seeded source of randomness.

    Returns
    -------
    pandas.DataFrame
        Columns ``COLUMNS``, sorted by close date, duplicates included.
    """
    book = assign_accounts(rng)
    decorated = decorate_notes(rng, notes)
    # (text the row shows, text that decides team and loss reason)
    entries = list(zip(decorated, notes, strict=True))
    entries += [("", "")] * N_EMPTY_NOTES
    entries += [(rng.choice(PLACEHOLDERS), "") for _ in range(N_PLACEHOLDER_NOTES)]
    rng.shuffle(entries)

    ids = new_opportunity_ids(rng, len(entries))
    reasons, reason_weights = zip(*FALLBACK_REASON_WEIGHTS.items(), strict=True)
    rows = []
    for opp_id, (shown, raw) in zip(ids, entries, strict=True):
        team = pick_team(rng, eligible_teams(raw))
        owner = rng.choice(REPS[team])
        account = rng.choice(book[owner])
        reason = loss_reason(raw) if raw else rng.choices(reasons, weights=reason_weights)[0]
        rows.append(
            {
                "Opportunity ID": opp_id,
                "Account Name": account,
                "Opportunity Owner": owner,
                "Sales Team": team,
                "Stage": "Closed Lost",
                "Close Date": random_close_date(rng),
                "Amount": random_amount(rng, team),
                "Loss Reason": reason,
                "Loss Notes": shown,
            }
        )
    # A double export repeats some rows verbatim.
    rows += [dict(row) for row in rng.sample(rows, N_DUPLICATE_ROWS)]
    export = pd.DataFrame(rows, columns=COLUMNS)
    return export.sort_values("Close Date", kind="stable").reset_index(drop=True)


def summarize(export: pd.DataFrame, labels: Counter[str]) -> list[str]:
    """Return the summary lines printed after a build (and quoted in the README).

    Quirk counts give rows, duplicates included, and in brackets the distinct
    opportunities among them.
    """
    notes = export["Loss Notes"].fillna("")
    ids = export["Opportunity ID"]

    def count(mask: pd.Series) -> str:
        return f"{int(mask.sum())} rows ({ids[mask].nunique()} opportunities)"

    def per(column: str) -> str:
        counts = export[column].value_counts()
        return ", ".join(f"{key} {value}" for key, value in counts.sort_index().items())

    return [
        f"rows: {len(export)}",
        f"distinct Opportunity IDs: {ids.nunique()}",
        f"exact duplicate rows (second copy of a double export): {int(export.duplicated().sum())}",
        f"empty Loss Notes: {count(notes == '')}",
        f"placeholder Loss Notes (see email/attached, n/a): {count(notes.isin(PLACEHOLDERS))}",
        f"Loss Notes with HTML fragments: {count(notes.str.contains(HTML_MARKERS))}",
        f"Loss Notes with line breaks: {count(notes.str.contains(chr(10), regex=False))}",
        f"blank Amount: {count(export['Amount'].isna())}",
        f"non-ASCII Account Name: {count(~export['Account Name'].map(str.isascii))}",
        f"non-ASCII Opportunity Owner: {count(~export['Opportunity Owner'].map(str.isascii))}",
        f"source notes by label: {dict(sorted(labels.items()))}",
        f"rows per team: {per('Sales Team')}",
        f"rows per rep: {per('Opportunity Owner')}",
        f"rows per Loss Reason: {per('Loss Reason')}",
        f"Close Date range: {export['Close Date'].min()} to {export['Close Date'].max()}",
    ]


def main() -> None:
    """Read the source notes, write the export, print the summary."""
    rng = random.Random(SEED)
    notes, labels = read_source(SOURCE_PATH)
    export = build_export(notes, rng)
    export.to_csv(EXPORT_PATH, index=False, encoding="utf-8", float_format="%.2f")
    print(f"wrote {EXPORT_PATH}")
    for line in summarize(export, labels):
        print(line)


if __name__ == "__main__":
    main()
