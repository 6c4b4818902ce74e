"""Find and mask personal data and numbers in note text.

CRM notes carry emails, phone numbers, URLs, money amounts and record IDs.
They say nothing about the writer's stance, and they must never reach a saved
model, so the pipeline replaces them with placeholders before any feature is
built. The functions here are pure and work on plain strings; the spaCy
component in :mod:`accountability_nlp.preprocessing` applies the same rules
to tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["MAYBE_PII", "PLACEHOLDERS", "find_pii", "mask_text", "may_contain_pii"]

#: Placeholder written in place of each kind of masked span.
PLACEHOLDERS: dict[str, str] = {
    "email": "<email>",
    "url": "<url>",
    "phone": "<phone>",
    "money": "<money>",
    "id": "<id>",
    "number": "<num>",
}

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# Amounts, numbers and URLs end on a digit or word character: punctuation
# right after them ("$48,500." or "see www.x.com)") stays in the note, so
# sentence and clause boundaries survive masking.
_URL = r"(?:https?://|www\.)\S*[^\s.,;:!?)\]}'\"]"
# 7+ digits in groups, with optional country code and separators: covers
# "415-555-0148", "+91 98200 55417", "(030) 1234 5678", "555.013.2288".
_PHONE = (
    r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?"
    r"\d{2,5}(?:[\s.-]\d{2,5}){1,4}(?![\w-])"
)
_MONEY = (
    r"(?:[$€£¥]\s?\d(?:[\d,.]*\d)?(?:\s?(?:[kKmMbB]|mm|MM|bn)\b)?"
    r"|\b\d(?:[\d,.]*\d)?\s?(?:[kKmM]|USD|EUR|GBP|usd|eur|gbp)\b)"
)
_ID = r"\b(?=[A-Za-z-]*\d)(?=\w*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b"
_NUMBER = r"\b\d(?:[\d,.:/]*\d)?%?"

_KINDS = (
    ("email", _EMAIL),
    ("url", _URL),
    ("phone", _PHONE),
    ("money", _MONEY),
    ("id", _ID),
    ("number", _NUMBER),
)
_ALTERNATIVES = "|".join(f"(?P<{name}>{rx})" for name, rx in _KINDS)
_PATTERN = re.compile(_ALTERNATIVES)
# Without an "@" no email can match, and every other kind starts with a
# digit, a sign, "www"/"http" or a word that contains a digit: checking that
# first makes the scan several times faster on ordinary prose.
_PATTERN_NO_EMAIL = re.compile(
    r"(?=[\d+($€£¥]|www\.|https?:|\b[A-Za-z][A-Za-z-]*\d)(?:" + _ALTERNATIVES + ")"
)


#: A cheap test: text without a digit, "@" or web address has nothing to mask.
MAYBE_PII = re.compile(r"[0-9@]|www\.|https?:")
_DIGIT_OR_AT = re.compile(r"[0-9@]")


def may_contain_pii(text: str) -> bool:
    """Whether ``text`` might hold something to mask (same answer as ``MAYBE_PII``, faster).

    Examples
    --------
    >>> may_contain_pii("Lost on price."), may_contain_pii("see www.example.org")
    (False, True)
    """
    # A one-class regex uses the engine's fast search; substrings are cheaper
    # than alternatives.
    return bool(_DIGIT_OR_AT.search(text) or "www." in text or "http:" in text or "https:" in text)


# Every match of _PATTERN_NO_EMAIL starts at one of these characters, at a web
# address, or on the run of letters and hyphens just before a digit ("OPP-12").
_ANCHOR = re.compile(r"[\d+($€£¥]")
_RUN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")


def _scan_without_email(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_PATTERN_NO_EMAIL.finditer(text)``, found faster.

    ``finditer`` tries the pattern at every character of the note; this jumps
    from one possible start to the next with a fast character search and
    tries the pattern only there, in the same order, so the matches are the
    same (a property test checks it).
    """
    pos, end = 0, len(text)
    while pos < end:
        anchor = _ANCHOR.search(text, pos)
        at = anchor.start() if anchor else end
        start = at
        while start > pos and text[start - 1] in _RUN:
            start -= 1
        webs = [i for i in (text.find("www.", pos, start), text.find("http", pos, start)) if i >= 0]
        if webs:
            web = min(webs)
            match = _PATTERN_NO_EMAIL.match(text, web)
            if match:
                yield match
            pos = match.end() if match else web + 1
            continue
        if anchor is None:
            return
        for candidate in range(start, at + 1):
            match = _PATTERN_NO_EMAIL.match(text, candidate)
            if match:
                yield match
                pos = match.end()
                break
        else:
            pos = at + 1


def _is_phone(match: str) -> bool:
    # Dates ("2026-03-14") and ranges ("10-15") also look like digit groups.
    return sum(ch.isdigit() for ch in match) >= 7 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", match)


def find_pii(text: str) -> list[tuple[int, int, str]]:
    """Return ``(start, end, kind)`` character spans to mask, in order.

    ``kind`` is a key of :data:`PLACEHOLDERS`.

    Examples
    --------
    >>> find_pii("call 415-555-0148 or mail jo@example.org")
    [(5, 17, 'phone'), (26, 40, 'email')]
    """
    spans = []
    matches = _PATTERN.finditer(text) if "@" in text else _scan_without_email(text)
    for match in matches:
        kind = match.lastgroup or "number"
        if kind == "phone" and not _is_phone(match.group()):
            kind = "number"
        spans.append((match.start(), match.end(), kind))
    return spans


def mask_text(text: str) -> str:
    """Replace emails, URLs, phones, money, IDs and numbers with placeholders.

    Examples
    --------
    >>> mask_text("Quote was $48k, email dana.r@pruett.example, ref OPP-12345")
    'Quote was <money>, email <email>, ref <id>'
    """
    out, last = [], 0
    for start, end, kind in find_pii(text):
        out.append(text[last:start])
        out.append(PLACEHOLDERS[kind])
        last = end
    out.append(text[last:])
    return "".join(out)
