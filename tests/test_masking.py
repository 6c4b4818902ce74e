"""Tests of personal-data masking (accountability_nlp.masking)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountability_nlp import masking
from accountability_nlp.masking import MAYBE_PII, PLACEHOLDERS, find_pii, mask_text

# Small budgets: these run on every test run, on 2 cores.
PROPERTY = settings(max_examples=50, deadline=None)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("dana.whitfield@brightpath-example.com", "email"),
        ("j.o+crm@mail.example.co.uk", "email"),
        ("https://brightpath-example.com/deal/991?x=1", "url"),
        ("www.example.org/pricing", "url"),
        ("415-555-0199", "phone"),
        ("+91 98200 55417", "phone"),
        ("(030) 1234 5678", "phone"),
        ("555.013.2288", "phone"),
        ("$48,500", "money"),
        ("€1.2m", "money"),
        ("30,000 USD", "money"),
        ("OPP-40817", "id"),
        ("0065g00000NRmp3AAD", "id"),
        ("30%", "number"),
        ("2026-03-14", "number"),
        ("10-15", "number"),
    ],
)
def test_masking_find_pii_kinds(text: str, kind: str) -> None:
    note = f"see {text} now"
    assert find_pii(note) == [(4, 4 + len(text), kind)]


def test_masking_find_pii_offsets_in_order() -> None:
    assert find_pii("call 415-555-0148 or mail jo@example.org") == [
        (5, 17, "phone"),
        (26, 40, "email"),
    ]


def test_masking_plain_prose_has_nothing_to_mask() -> None:
    note = "Never got to the economic buyer; I took the champion's word on budget."
    assert MAYBE_PII.search(note) is None
    assert find_pii(note) == []
    assert mask_text(note) == note


def test_masking_mask_text_replaces_every_kind() -> None:
    note = (
        "Call Dana Whitfield at 415-555-0199 or dana.whitfield@brightpath-example.com, "
        "see https://brightpath-example.com/q/7 - quote $48,500, ref OPP-40817, 12 seats"
    )
    masked = mask_text(note)
    assert masked == (
        "Call Dana Whitfield at <phone> or <email>, see <url> - quote <money>, "
        "ref <id>, <num> seats"
    )
    assert not any(ch.isdigit() for ch in masked)
    assert set(PLACEHOLDERS) == {"email", "url", "phone", "money", "id", "number"}


@pytest.mark.parametrize(
    ("note", "masked"),
    [
        ("Quote was $48,500. I never followed up.", "Quote was <money>. I never followed up."),
        ("Lost 2 deals in 2024, both to price.", "Lost <num> deals in <num>, both to price."),
        ("at 10:30. Then silence", "at <num>. Then silence"),
        ("They wanted $1.2m!", "They wanted <money>!"),
        ("(see www.example.com)", "(see <url>)"),
        ("see https://x.example.com/a, then www.y.org. Done", "see <url>, then <url>. Done"),
    ],
)
def test_masking_keeps_punctuation_after_a_masked_span(note: str, masked: str) -> None:
    # The period after "$48,500." ends a sentence; swallowing it into the
    # placeholder would merge clauses and drop "!"/"?" terms.
    assert mask_text(note) == masked


def test_masking_empty_text() -> None:
    assert find_pii("") == []
    assert mask_text("") == ""


# -- properties ---------------------------------------------------------------

_WORDS = st.sampled_from(
    ["lost", "on", "price", "I", "never", "called", "back", "-", ",", ".", "(", ")", "+", "at"]
)
_EMAILS = st.builds(
    "{}.{}@{}-example.{}".format,
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    st.from_regex(r"[a-z]{2,10}", fullmatch=True),
    st.sampled_from(["com", "org", "co.uk"]),
)
_PHONES = st.one_of(
    st.from_regex(r"\d{3}-\d{3}-\d{4}", fullmatch=True),
    st.from_regex(r"\+\d{2} \d{5} \d{5}", fullmatch=True),
    st.from_regex(r"\(\d{3}\) \d{4} \d{4}", fullmatch=True),
    st.from_regex(r"\d{3}\.\d{3}\.\d{4}", fullmatch=True),
)
_NOTES = st.lists(st.one_of(_WORDS, _EMAILS, _PHONES, st.text(max_size=6)), max_size=12).map(
    " ".join
)


@PROPERTY
@given(_NOTES)
def test_masking_leaves_no_email_or_phone(note: str) -> None:
    masked = mask_text(note)
    assert [kind for _, _, kind in find_pii(masked) if kind in ("email", "phone")] == []


@PROPERTY
@given(st.lists(st.tuples(_EMAILS, _PHONES), min_size=1, max_size=3), _WORDS)
def test_masking_removes_the_personal_data_itself(
    contacts: list[tuple[str, str]], word: str
) -> None:
    note = f" {word} ".join(f"mail {email} or call {phone}" for email, phone in contacts)
    masked = mask_text(note)
    for email, phone in contacts:
        assert email not in masked
        assert email.split("@")[0] not in masked
        assert phone not in masked
    assert not any(ch.isdigit() for ch in masked)


@PROPERTY
@given(st.one_of(_NOTES, st.text(max_size=80)))
def test_masking_is_idempotent(note: str) -> None:
    once = mask_text(note)
    assert mask_text(once) == once


# Characters and pieces that start, end or break the patterns' matches.
_TRICKY = st.lists(
    st.one_of(
        st.sampled_from(list("ab Zq-_.,:;/()+$€£¥0123456789 \n٣xk")),
        st.sampled_from(["www.", "http://", "https://x.io", "OPP-", "Q3", "+91", "(030)", "USD"]),
    ),
    max_size=25,
).map("".join)


@PROPERTY
@given(st.one_of(_NOTES, _TRICKY, st.text(max_size=80)).map(lambda t: t.replace("@", " ")))
def test_masking_fast_path_agrees_with_full_pattern(note: str) -> None:
    # Without "@" find_pii skips from one possible start to the next instead
    # of trying every character; it must find exactly what the full pattern finds.
    full = [(m.start(), m.end(), m.lastgroup) for m in masking._PATTERN.finditer(note)]
    fast = [(m.start(), m.end(), m.lastgroup) for m in masking._scan_without_email(note)]
    assert fast == full


@PROPERTY
@given(st.one_of(_NOTES, _TRICKY, st.text(max_size=40)))
def test_masking_cheap_check_agrees_with_its_regex(note: str) -> None:
    assert masking.may_contain_pii(note) == bool(MAYBE_PII.search(note))
