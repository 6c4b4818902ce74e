"""Validation of the data shipped in ``data/``: schemas, balance, splits, leakage.

The near-duplicate checks use the same measure as the shared
``corpus_check.py`` tool (word 3-gram shingles, Jaccard >= 0.5) without its
shortcut of skipping shingles found in over 2,000 notes, so they flag every
pair the tool flags, and more. Pairs are found through a sparse
note-by-shingle matrix: its product with its transpose counts the shingles
each pair of notes shares, with no loop over pairs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from accountability_nlp.labels import LABELS

NOTE_COLUMNS = ["id", "text", "label", "split", "hard", "style"]
RUBRIC_COLUMNS = ["id", "text", "label", "rule"]
EXPORT_COLUMNS = [
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
SPLIT_SHARES = {"train": 0.70, "dev": 0.15, "test": 0.15}
JACCARD = 0.5  # corpus_check.py's default threshold
MAX_DUP_SHARE = 0.02  # corpus_check.py's default --max-dup-share

_WORD = re.compile(r"[a-z0-9']+")  # corpus_check.py's tokenization


def shingles(text: str, n: int = 3) -> frozenset[str]:
    """Word n-grams of the lower-cased text, exactly as corpus_check.py builds them."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def skeleton(text: str) -> str:
    """The note with emails, numbers and names masked, as corpus_check.py does."""
    masked = re.sub(r"\S+@\S+", "EMAIL", text)
    masked = re.sub(r"[$€£]?\d[\d,.%kKmM]*", "NUM", masked)
    masked = re.sub(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z&]+", "NAME", masked)
    return " ".join(_WORD.findall(masked.lower()))


def near_duplicate_pairs(
    texts: Sequence[str], threshold: float = JACCARD
) -> list[tuple[int, int, float]]:
    """All pairs ``(i, j, jaccard)`` with ``i < j`` and Jaccard >= ``threshold``."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        for gram in shingles(text):
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, cols)),
        shape=(len(texts), max(len(vocabulary), 1)),
    )
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    shared = sp.triu(matrix @ matrix.T, k=1).tocoo()  # shingles in common, i < j
    jaccard = shared.data / (sizes[shared.row] + sizes[shared.col] - shared.data)
    keep = jaccard >= threshold
    return [
        (int(i), int(j), float(s))
        for i, j, s in zip(shared.row[keep], shared.col[keep], jaccard[keep], strict=True)
    ]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def rubric(root: Path) -> pd.DataFrame:
    return _read(root / "data" / "rubric_cases.csv")


@pytest.fixture(scope="module")
def sample_source(root: Path) -> pd.DataFrame:
    return _read(root / "data" / "sample" / "crm_notes_source.csv")


@pytest.fixture(scope="module")
def all_texts(
    corpus: pd.DataFrame, rubric: pd.DataFrame, sample_source: pd.DataFrame
) -> pd.DataFrame:
    """Every note of the three files, with where it comes from (file and split)."""
    return pd.concat(
        [
            pd.DataFrame({"id": corpus["id"], "text": corpus["text"], "where": corpus["split"]}),
            pd.DataFrame({"id": rubric["id"], "text": rubric["text"], "where": "rubric"}),
            pd.DataFrame(
                {
                    "id": [f"sample row {i + 2}" for i in range(len(sample_source))],
                    "text": sample_source["text"],
                    "where": "sample",
                }
            ),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def duplicate_pairs(all_texts: pd.DataFrame) -> pd.DataFrame:
    """Near-duplicate pairs over all three files: ids, origins and similarity."""
    pairs = near_duplicate_pairs(all_texts["text"].tolist())
    where, ids = all_texts["where"].to_numpy(), all_texts["id"].to_numpy()
    return pd.DataFrame(
        [(ids[i], ids[j], where[i], where[j], round(s, 3)) for i, j, s in pairs],
        columns=["id_a", "id_b", "where_a", "where_b", "jaccard"],
    )


def _pairs_between(pairs: pd.DataFrame, a: set[str], b: set[str]) -> pd.DataFrame:
    forward = pairs["where_a"].isin(a) & pairs["where_b"].isin(b)
    backward = pairs["where_a"].isin(b) & pairs["where_b"].isin(a)
    return pairs[forward | backward]


# -- the measure itself --------------------------------------------------------------


def test_data_shingles_match_corpus_check() -> None:
    assert shingles("I never, EVER followed up.") == {
        "i never ever",
        "never ever followed",
        "ever followed up",
    }
    assert shingles("Lost again") == {"lost again"}
    assert shingles("!!!") == frozenset()


def test_data_near_duplicate_pairs_finds_reworded_copies() -> None:
    texts = [
        "we never confirmed the budget with the CFO before sending the quote",
        "We never confirmed the budget with the CFO before sending the final quote.",
        "Procurement stalled for months and the incumbent kept the contract.",
        "",
    ]
    pairs = near_duplicate_pairs(texts)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]
    assert pairs[0][2] == pytest.approx(9 / 12)  # 9 shared of 10 + 11 shingles


# -- notes.csv ---------------------------------------------------------------------------


def test_data_notes_schema(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns) == NOTE_COLUMNS


def test_data_notes_values_are_valid(corpus: pd.DataFrame) -> None:
    assert set(corpus["label"]) <= set(LABELS), set(corpus["label"]) - set(LABELS)
    assert set(corpus["split"]) == set(SPLIT_SHARES)
    assert set(corpus["hard"]) <= {"0", "1"}
    assert (corpus["style"].str.strip() != "").all()


def test_data_notes_ids_unique_and_texts_present(corpus: pd.DataFrame) -> None:
    assert corpus["id"].is_unique, corpus.loc[corpus["id"].duplicated(), "id"].tolist()
    empty = corpus.loc[corpus["text"].str.strip() == "", "id"].tolist()
    assert not empty, f"notes with empty text: {empty}"


def test_data_notes_size_and_balance(corpus: pd.DataFrame) -> None:
    assert len(corpus) >= 3000
    counts = corpus["label"].value_counts()
    assert all(counts.get(label, 0) >= 900 for label in LABELS), counts.to_dict()


def test_data_notes_hard_share_per_label(corpus: pd.DataFrame) -> None:
    share = (corpus["hard"] == "1").groupby(corpus["label"]).mean()
    assert (share >= 0.25).all(), share.round(3).to_dict()


def test_data_notes_splits_are_70_15_15(corpus: pd.DataFrame) -> None:
    share = corpus["split"].value_counts(normalize=True)
    for split, expected in SPLIT_SHARES.items():
        assert abs(share[split] - expected) <= 0.02, (split, round(share[split], 3))


def test_data_notes_splits_are_stratified(corpus: pd.DataFrame) -> None:
    overall = corpus["label"].value_counts(normalize=True)
    within = pd.crosstab(corpus["split"], corpus["label"], normalize="index")
    off = (within - overall).abs()
    assert (off <= 0.03).all().all(), off.round(3).to_dict()


def test_data_notes_few_near_duplicates_within_splits(
    corpus: pd.DataFrame, duplicate_pairs: pd.DataFrame
) -> None:
    same = duplicate_pairs[
        (duplicate_pairs["where_a"] == duplicate_pairs["where_b"])
        & duplicate_pairs["where_a"].isin(SPLIT_SHARES)
    ]
    notes = set(same["id_a"]) | set(same["id_b"])
    assert len(notes) / len(corpus) <= MAX_DUP_SHARE, same.head(10).to_dict("records")


def test_data_notes_no_near_duplicates_across_splits(duplicate_pairs: pd.DataFrame) -> None:
    leaks = duplicate_pairs[
        duplicate_pairs["where_a"].isin(SPLIT_SHARES)
        & duplicate_pairs["where_b"].isin(SPLIT_SHARES)
        & (duplicate_pairs["where_a"] != duplicate_pairs["where_b"])
    ]
    assert leaks.empty, leaks.head(10).to_dict("records")


@pytest.mark.parametrize("other", ["rubric", "sample"])
def test_data_notes_no_near_duplicates_with_other_files(
    duplicate_pairs: pd.DataFrame, other: str
) -> None:
    leaks = _pairs_between(duplicate_pairs, set(SPLIT_SHARES), {other})
    assert leaks.empty, leaks.head(10).to_dict("records")


def test_data_notes_not_templated(corpus: pd.DataFrame) -> None:
    # corpus_check.py's other two failure conditions: shared skeletons and low variety.
    skeletons = Counter(skeleton(text) for text in corpus["text"])
    shared = sum(count for count in skeletons.values() if count > 1)
    assert shared / len(corpus) <= MAX_DUP_SHARE, skeletons.most_common(3)
    sets = [shingles(text) for text in corpus["text"]]
    variety = len(set().union(*sets)) / sum(len(s) for s in sets)
    assert variety >= 0.5


# -- rubric_cases.csv ------------------------------------------------------------------------


def test_data_rubric_schema_and_values(rubric: pd.DataFrame) -> None:
    assert list(rubric.columns) == RUBRIC_COLUMNS
    assert len(rubric) >= 150
    assert rubric["id"].is_unique, rubric.loc[rubric["id"].duplicated(), "id"].tolist()
    assert set(rubric["label"]) <= set(LABELS)
    assert (rubric["rule"].str.strip() != "").all()
    assert (rubric["text"].str.strip() != "").all()


def test_data_rubric_minimal_pairs_differ_in_label(rubric: pd.DataFrame) -> None:
    parts = rubric["id"].str.extract(r"^(MP\d{3})([ab])$")
    pairs = rubric.assign(pair=parts[0], side=parts[1]).dropna(subset=["pair"])
    assert not pairs.empty
    assert (rubric["id"].str.startswith("MP") == rubric.index.isin(pairs.index)).all(), (
        "ids starting with MP must be MPnnna or MPnnnb"
    )
    sides = pairs.groupby("pair")["side"].apply(lambda s: "".join(sorted(s)))
    assert (sides == "ab").all(), sides[sides != "ab"].to_dict()
    labels = pairs.groupby("pair")["label"].nunique()
    assert (labels == 2).all(), labels[labels != 2].index.tolist()


# -- sample files ------------------------------------------------------------------------------


def test_data_sample_source_schema(sample_source: pd.DataFrame) -> None:
    assert list(sample_source.columns) == ["text", "label"]
    assert set(sample_source["label"]) <= set(LABELS)
    assert (sample_source["text"].str.strip() != "").all()


def test_data_sample_export_looks_like_salesforce(sample_export: Path) -> None:
    export = _read(sample_export)
    assert list(export.columns) == EXPORT_COLUMNS
    assert 450 <= len(export) <= 550
    # Exact duplicate rows are a deliberate quirk (a double export, see
    # data/sample/README.md); apart from those, each opportunity is one row.
    ids = export.drop_duplicates()["Opportunity ID"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"006[0-9A-Za-z]{15}").all()
    assert (export["Stage"] == "Closed Lost").all()
