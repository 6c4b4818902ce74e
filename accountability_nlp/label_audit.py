"""Audit labeled notes: likely label errors, duplicates, balance, shortcuts.

:func:`audit_labels` predicts every note with a model that did not see it
(cross-validation) and, in the style of confident learning, flags notes
whose given label gets a low probability while another label is
confidently predicted. It also finds near-duplicate notes with different
labels, duplicates, empty and very short notes, a rare label, and a label
whose notes are systematically shorter or longer than the others (a
shortcut a model can learn instead of the stance).

Tables refer to notes by ``position`` (0-based row of the input) and never
hold note text; logs hold counts only.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.parallel import Parallel, delayed

from .errors import check_text_batch, closest_match
from .estimator import AccountabilityClassifier
from .labels import LABELS, check_labels
from .model import unscorable_reason

__all__ = [
    "LENGTH_SHORTCUT_AUC",
    "MIN_LABEL_SHARE",
    "MIN_WORDS",
    "NEAR_DUPLICATE_JACCARD",
    "WEAK_MODEL_F1",
    "LabelAudit",
    "audit_labels",
    "near_duplicates",
]

logger = logging.getLogger(__name__)

#: Word 3-gram Jaccard similarity from which two notes count as near-duplicates.
NEAR_DUPLICATE_JACCARD = 0.5
#: A label holding a smaller share of the notes than this is flagged as rare.
MIN_LABEL_SHARE = 0.15
#: Notes with fewer words than this are flagged as too short to label reliably.
MIN_WORDS = 3
#: A label whose notes are longer than the others' this often (or this rarely,
#: mirrored) is flagged: a model can learn length instead of stance.
LENGTH_SHORTCUT_AUC = 0.7
#: Below this out-of-fold macro-F1 the model is too weak to single out label errors.
WEAK_MODEL_F1 = 0.6

_WORD = re.compile(r"[a-z0-9']+")
# A 3-gram found in more notes than this ("lost to competitor") says nothing
# about duplication and would make the pair search quadratic.
_MAX_POSTINGS = 2000
#: Probability columns of the tables, in :data:`LABELS` order.
PROBABILITY_COLUMNS = [f"p_{label}" for label in LABELS]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def check_positive_int(value: Any, *, param: str, owner: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise a ValueError naming the parameter.

    Examples
    --------
    >>> check_positive_int(0, param="n", owner="sample_for_labeling")
    Traceback (most recent call last):
    ...
    ValueError: The 'n' parameter of sample_for_labeling must be an int >= 1. Got 0 instead.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"The {param!r} parameter of {owner} must be an int >= {minimum}. "
            f"Got {value!r} instead."
        )
    return int(value)


def proba_in_label_order(proba: np.ndarray, classes: Iterable[Any]) -> np.ndarray:
    """Reorder probability columns to :data:`LABELS` (a missing label gets 0)."""
    ordered = np.zeros((proba.shape[0], len(LABELS)))
    for j, label in enumerate(classes):
        ordered[:, LABELS.index(str(label))] = proba[:, j]
    return ordered


def _shingles(text: str, n: int = 3) -> frozenset[str]:
    words = _words(text)
    if len(words) < n:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def near_duplicates(
    texts: Iterable[Any], *, threshold: float = NEAR_DUPLICATE_JACCARD
) -> pd.DataFrame:
    """Pairs of notes that share most of their word 3-grams.

    Candidates come from an inverted index of 3-grams, so only notes that
    share at least one 3-gram are compared. 3-grams found in more than 2,000
    notes are not indexed: they carry no sign of copying.

    Parameters
    ----------
    texts : iterable of str
        The notes; values that are not text are ignored.
    threshold : float, default=0.5
        Minimum Jaccard similarity of the 3-gram sets.

    Returns
    -------
    pandas.DataFrame
        ``position_a`` < ``position_b`` and ``jaccard``, most similar first.

    Examples
    --------
    >>> pairs = near_duplicates(["Lost on price to the cheaper vendor again",
    ...                          "lost on price to the cheaper vendor",
    ...                          "I never sent the recap."])
    >>> pairs.round(3).to_dict("records")
    [{'position_a': 0, 'position_b': 1, 'jaccard': 0.833}]
    """
    notes = check_text_batch(texts, owner="near_duplicates")
    if not 0 < threshold <= 1:
        raise ValueError(
            "The 'threshold' parameter of near_duplicates must be a float in (0, 1]. "
            f"Got {threshold!r} instead."
        )
    grams = [_shingles(note) if isinstance(note, str) else frozenset() for note in notes]
    index: dict[str, list[int]] = defaultdict(list)
    for i, note_grams in enumerate(grams):
        for gram in note_grams:
            index[gram].append(i)
    pairs = []
    for i, note_grams in enumerate(grams):
        shared: Counter[int] = Counter()
        for gram in note_grams:
            postings = index[gram]
            if len(postings) <= _MAX_POSTINGS:
                shared.update(j for j in postings if j > i)
        for j, common in shared.items():
            jaccard = common / (len(note_grams) + len(grams[j]) - common)
            if jaccard >= threshold:
                pairs.append((i, j, jaccard))
    table = pd.DataFrame(pairs, columns=["position_a", "position_b", "jaccard"]).astype(
        {"position_a": "int64", "position_b": "int64", "jaccard": float}
    )
    return table.sort_values(
        ["jaccard", "position_a", "position_b"], ascending=[False, True, True], ignore_index=True
    )


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class LabelAudit:
    """What :func:`audit_labels` found; every table refers to notes by ``position``.

    Attributes
    ----------
    n_notes : int
        Notes passed in.
    n_audited : int
        Notes that went through cross-validation (notes that cannot be
        scored, such as empty ones, do not).
    cv : int
        Folds used.
    macro_f1 : float
        Macro-F1 of the out-of-fold predictions against the given labels:
        a rough idea of what a model trained on these labels reaches.
    thresholds : dict of str to float
        Per label, the average out-of-fold probability notes of that label
        get for it; a probability at or above it counts as confident.
    suspects : pandas.DataFrame
        Likely label errors, most likely first: ``position``,
        ``given_label``, ``suggested_label``, ``p_given``, ``p_suggested``,
        ``margin`` (``p_suggested - p_given``) and ``p_<label>``.
    out_of_fold : pandas.DataFrame
        Per audited note: ``position``, ``given_label``,
        ``predicted_label``, ``p_<label>`` and ``p_given``.
    conflicts : pandas.DataFrame
        Near-duplicate pairs with different labels: ``position_a``,
        ``position_b``, ``label_a``, ``label_b``, ``jaccard``, ``exact``.
    duplicates : pandas.DataFrame
        Notes with the same text (ignoring case and spacing), one row per
        note: ``group``, ``position``, ``given_label``, ``conflicting``.
    short_notes : pandas.DataFrame
        Notes shorter than ``min_words``, and notes left out of the audit
        because they cannot be scored (empty, a placeholder such as "n/a",
        not text, too long):
        ``position``, ``given_label``, ``words``, ``reason``.
    balance : pandas.DataFrame
        Per label: ``count``, ``share`` and ``low`` (share below 15%).
    lengths : pandas.DataFrame
        Per label, words per note (``notes``, ``mean``, ``q25``, ``median``,
        ``q75``) and ``p_longer``: the chance a note of this label is longer
        than a note of another label (0.5 means no length difference).
    warnings : list of str
        What to fix, in plain words.
    """

    n_notes: int
    n_audited: int
    cv: int
    macro_f1: float
    thresholds: dict[str, float]
    suspects: pd.DataFrame
    out_of_fold: pd.DataFrame
    conflicts: pd.DataFrame
    duplicates: pd.DataFrame
    short_notes: pd.DataFrame
    balance: pd.DataFrame
    lengths: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def to_markdown(self, max_rows: int | None = 10) -> str:
        """A Markdown report: the findings, then the tables.

        Parameters
        ----------
        max_rows : int or None, default=10
            Rows shown per long table; None shows every row.
        """
        n_conflicting = int(self.duplicates.loc[self.duplicates["conflicting"], "group"].nunique())
        lines = [
            "# Label audit",
            "",
            f"- notes: {self.n_notes} ({self.n_audited} cross-validated with {self.cv} folds)",
            f"- out-of-fold macro-F1: {self.macro_f1:.3f}",
            f"- suspected label errors: {len(self.suspects)}",
            f"- near-duplicate pairs with different labels: {len(self.conflicts)}",
            f"- groups of duplicate notes: {self.duplicates['group'].nunique()} "
            f"({n_conflicting} with different labels)",
            f"- empty, placeholder or very short notes: {len(self.short_notes)}",
            "",
            "Positions are 0-based rows of the input (header not counted).",
            "",
            "## Warnings",
            "",
        ]
        lines += [f"- {w}" for w in self.warnings] or ["None."]
        sections = (
            ("Label balance", self.balance, None),
            ("Words per note, by label", self.lengths, None),
            ("Suspected label errors", self.suspects, max_rows),
            ("Near-duplicates with different labels", self.conflicts, max_rows),
            ("Duplicate notes", self.duplicates, max_rows),
            ("Empty, placeholder or very short notes", self.short_notes, max_rows),
        )
        for title, table, limit in sections:
            lines += ["", f"## {title}", "", _markdown_table(table, limit)]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.3f}"
    return str(value).replace("|", "\\|")


def _markdown_table(table: pd.DataFrame, max_rows: int | None) -> str:
    if table.empty:
        return "None."
    if not isinstance(table.index, pd.RangeIndex):
        table = table.reset_index()
    shown = table if max_rows is None else table.head(max_rows)
    lines = [
        "| " + " | ".join(str(c) for c in shown.columns) + " |",
        "|" + "---|" * len(shown.columns),
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.itertuples(False)]
    if len(shown) < len(table):
        lines.append(f"\n... {len(table) - len(shown)} more rows (see the full report).")
    return "\n".join(lines)


def _check_model_params(params: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    params = dict(params or {})
    valid = list(AccountabilityClassifier().get_params())
    for key in params:
        if key not in valid:
            hint = closest_match(str(key), valid)
            raise ValueError(
                f"The 'model_params' parameter of {owner} has a key {key!r} that "
                f"AccountabilityClassifier does not take; valid keys are {valid}."
                + (f" Did you mean {hint!r}?" if hint else "")
            )
    return params


def _check_folds(counts: Counter[str], cv: int, owner: str) -> None:
    if len(counts) < 2:
        raise ValueError(
            f"{owner} needs notes of at least two labels to cross-validate; got only "
            f"{sorted(counts)}. Label notes of the other stances too."
        )
    few = {label: count for label, count in sorted(counts.items()) if count < cv}
    if few:
        listed = ", ".join(f"{count} {label!r}" for label, count in few.items())
        raise ValueError(
            f"{owner} needs at least cv={cv} non-empty notes of each label for {cv}-fold "
            f"cross-validation; got {listed}. Label more notes of "
            f"{'that label' if len(few) == 1 else 'those labels'}, or pass a smaller cv "
            "(at least 2)."
        )


def _fit_predict(
    params: dict[str, Any], train_texts: list[str], train_labels: np.ndarray, test_texts: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    classifier = AccountabilityClassifier(**params).fit(train_texts, train_labels)
    return classifier.predict_proba(test_texts), classifier.classes_


def _out_of_fold_proba(
    notes: list[str],
    targets: np.ndarray,
    *,
    cv: int,
    random_state: int,
    params: dict[str, Any],
    n_jobs: int | None,
) -> np.ndarray:
    # Folds by hand rather than sklearn's cross_val_predict: for probabilities
    # it label-encodes y to integers, which AccountabilityClassifier.fit turns
    # into an object array that LogisticRegression rejects.
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(notes, targets))
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(
            params, [notes[i] for i in train], targets[train], [notes[i] for i in test]
        )
        for train, test in folds
    )
    proba = np.zeros((len(notes), len(LABELS)))
    for (_, test), (fold_proba, classes) in zip(folds, results, strict=True):
        proba[test] = proba_in_label_order(fold_proba, classes)
    return proba


def _suspects(
    proba: np.ndarray, given: np.ndarray, positions: np.ndarray
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Confident-learning style: a confident other label beats the given one."""
    rows = np.arange(len(given))
    present = sorted(set(given.tolist()))
    threshold = np.full(len(LABELS), np.inf)  # a label nobody gave is never confident
    for k in present:
        threshold[k] = proba[given == k, k].mean()
    confident = proba >= threshold
    best = np.argmax(np.where(confident, proba, -1.0), axis=1)
    p_given = proba[rows, given]
    p_best = proba[rows, best]
    flagged = confident.any(axis=1) & (best != given) & (p_best > p_given)
    names = np.asarray(LABELS, dtype=object)
    table = pd.DataFrame(
        {
            "position": positions[flagged],
            "given_label": names[given[flagged]],
            "suggested_label": names[best[flagged]],
            "p_given": p_given[flagged],
            "p_suggested": p_best[flagged],
            "margin": (p_best - p_given)[flagged],
            **{name: proba[flagged, j] for j, name in enumerate(PROBABILITY_COLUMNS)},
        }
    )
    table = table.sort_values(["margin", "position"], ascending=[False, True], ignore_index=True)
    return table, {LABELS[k]: float(threshold[k]) for k in present}


def _duplicates(notes: list[Any], given: list[str]) -> pd.DataFrame:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, note in enumerate(notes):
        if unscorable_reason(note) is None:
            groups[_normalized(note)].append(i)
    rows = []
    for group, members in enumerate(m for m in groups.values() if len(m) > 1):
        conflicting = len({given[i] for i in members}) > 1
        rows += [(group, i, given[i], conflicting) for i in members]
    table = pd.DataFrame(rows, columns=["group", "position", "given_label", "conflicting"])
    table = table.astype({"group": "int64", "position": "int64", "conflicting": bool})
    return table.sort_values(
        ["conflicting", "group", "position"], ascending=[False, True, True], ignore_index=True
    )


def _conflicts(notes: list[Any], given: list[str], threshold: float) -> pd.DataFrame:
    pairs = near_duplicates(notes, threshold=threshold)
    a, b = pairs["position_a"].to_numpy(), pairs["position_b"].to_numpy()
    labels = np.asarray(given, dtype=object)
    keep = labels[a] != labels[b]
    return pd.DataFrame(
        {
            "position_a": a[keep],
            "position_b": b[keep],
            "label_a": labels[a[keep]],
            "label_b": labels[b[keep]],
            "jaccard": pairs["jaccard"].to_numpy()[keep],
            "exact": [
                _normalized(notes[i]) == _normalized(notes[j])
                for i, j in zip(a[keep], b[keep], strict=True)
            ],
        }
    )


def _short_notes(notes: list[Any], given: list[str], min_words: int) -> pd.DataFrame:
    rows = []
    for i, note in enumerate(notes):
        reason = unscorable_reason(note)
        words = 0 if reason else len(_words(note))
        if reason is None and words < min_words:
            reason = f"fewer than {min_words} words"
        if reason is not None:
            rows.append((i, given[i], words, reason))
    return pd.DataFrame(rows, columns=["position", "given_label", "words", "reason"]).astype(
        {"position": "int64", "words": "int64"}
    )


def _balance(labels: Sequence[str]) -> pd.DataFrame:
    counts = Counter(labels)
    total = max(len(labels), 1)
    table = pd.DataFrame(
        {
            "count": [counts.get(label, 0) for label in LABELS],
            "share": [counts.get(label, 0) / total for label in LABELS],
        },
        index=pd.Index(LABELS, name="label"),
    )
    table["low"] = table["share"] < MIN_LABEL_SHARE
    return table


def _lengths(words: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    ranks = rankdata(words)  # ties share a rank, so equal lengths count half
    rows = {}
    for label in LABELS:
        mine = labels == label
        n_mine, n_rest = int(mine.sum()), int((~mine).sum())
        if n_mine and n_rest:
            # Mann-Whitney U over n_mine * n_rest: P(a note of this label is longer).
            p_longer = (ranks[mine].sum() - n_mine * (n_mine + 1) / 2) / (n_mine * n_rest)
        else:
            p_longer = math.nan
        quartiles = np.percentile(words[mine], [25, 50, 75]) if n_mine else [math.nan] * 3
        rows[label] = {
            "notes": n_mine,
            "mean": float(words[mine].mean()) if n_mine else math.nan,
            "q25": float(quartiles[0]),
            "median": float(quartiles[1]),
            "q75": float(quartiles[2]),
            "p_longer": float(p_longer),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "label"
    return table.astype({"notes": "int64"})


def _warnings(
    audit: dict[str, Any], words: np.ndarray, labels: np.ndarray, macro_f1: float
) -> list[str]:
    found = []
    if macro_f1 < WEAK_MODEL_F1:
        found.append(
            f"A model cross-validated on these labels reaches only macro-F1 {macro_f1:.2f} "
            f"({len(labels)} notes): the suspects mix label errors with model errors. Read "
            "them as a review list; more notes, or more consistent labels, sharpen it."
        )
    for label, row in audit["balance"].iterrows():
        if row["low"]:
            found.append(
                f"{label!r} is {row['share']:.1%} of the notes (below "
                f"{MIN_LABEL_SHARE:.0%}): the model sees few examples of it. Label more "
                f"{label!r} notes; sample-for-labeling --strategy stratified helps find them."
            )
    for label, row in audit["lengths"].iterrows():
        p_longer = row["p_longer"]
        if math.isnan(p_longer) or 1 - LENGTH_SHORTCUT_AUC < p_longer < LENGTH_SHORTCUT_AUC:
            continue
        side = "longer" if p_longer >= LENGTH_SHORTCUT_AUC else "shorter"
        rest = float(np.median(words[labels != label]))
        found.append(
            f"{label!r} notes are systematically {side} than the others (median "
            f"{row['median']:.0f} words vs {rest:.0f}; longer than a note of another label "
            f"{p_longer:.0%} of the time). A model can learn length instead of stance: add "
            f"{'shorter' if side == 'longer' else 'longer'} {label!r} notes."
        )
    if len(audit["suspects"]):
        found.append(
            f"{len(audit['suspects'])} notes look mislabeled (another label is confidently "
            "predicted); re-read the top ones against the labeling guide."
        )
    if len(audit["conflicts"]):
        found.append(
            f"{len(audit['conflicts'])} pairs of near-identical notes have different labels; "
            "decide each pair with the guide and label both the same."
        )
    n_groups = audit["duplicates"]["group"].nunique()
    if n_groups:
        found.append(
            f"{n_groups} groups of duplicate notes: keep one copy of each, or they count "
            "several times and can leak between training and test data."
        )
    if len(audit["short_notes"]):
        found.append(
            f"{len(audit['short_notes'])} notes are empty, placeholders or very short; those "
            "that cannot be scored were left out of the audit. Drop notes with no stance "
            "rather than guessing a label."
        )
    return found


def audit_labels(
    texts: Iterable[Any],
    labels: Iterable[Any],
    *,
    cv: int = 5,
    random_state: int = 0,
    model_params: Mapping[str, Any] | None = None,
    min_words: int = MIN_WORDS,
    similarity: float = NEAR_DUPLICATE_JACCARD,
    n_jobs: int | None = None,
) -> LabelAudit:
    """Find likely label errors and other problems in labeled notes.

    Each note is predicted by a model that did not see it (``cv``-fold
    cross-validation with :class:`~accountability_nlp.estimator.
    AccountabilityClassifier`, uncalibrated for speed). As in confident
    learning, a label's threshold is the average probability its own notes
    get for it; a note is a suspect when another label reaches its
    threshold and is more probable than the given label. Suspects are
    ranked by the margin between the two. Also checks near-duplicates with
    different labels, duplicate notes, empty or short notes, the label
    balance and whether one label is systematically shorter or longer.

    Parameters
    ----------
    texts : iterable of str
        The notes.
    labels : iterable of str
        The given label of each note: ``"ownership"``, ``"deflection"`` or
        ``"victim"``.
    cv : int, default=5
        Cross-validation folds; each label needs at least ``cv`` non-empty
        notes.
    random_state : int, default=0
        Seed of the folds.
    model_params : dict, optional
        Parameters of ``AccountabilityClassifier``; ``calibration`` is None
        unless given.
    min_words : int, default=3
        Notes with fewer words are listed as too short.
    similarity : float, default=0.5
        Word 3-gram Jaccard similarity from which notes are near-duplicates.
    n_jobs : int, optional
        Folds fitted in parallel (joblib); one at a time by default.

    Returns
    -------
    LabelAudit
        The tables (positions only, no note text) and warnings; ``str()``
        gives a Markdown summary.

    Raises
    ------
    ValueError
        On different numbers of notes and labels, labels outside the scheme
        (with a did-you-mean), fewer than ``cv`` notes of a label, fewer
        than two labels, or an unknown key in ``model_params``.
    TypeError
        If ``texts`` or ``labels`` is a single string.

    Examples
    --------
    >>> notes = ["I never sent the recap.", "Their legal team stalled.",
    ...          "Nothing ever closes here."] * 4
    >>> audit = audit_labels(notes, ["ownership", "deflection", "victim"] * 4, cv=2,
    ...                      model_params={"n_features": 2**10})
    >>> audit.n_audited, len(audit.suspects), audit.duplicates["group"].nunique()
    (12, 0, 3)
    """
    owner = "audit_labels"
    notes = check_text_batch(texts, owner=owner)
    given = check_labels(check_text_batch(labels, owner=owner), owner)
    if len(notes) != len(given):
        raise ValueError(
            f"{owner} got {len(notes)} notes but {len(given)} labels; pass one label per note."
        )
    cv = check_positive_int(cv, param="cv", owner=owner, minimum=2)
    min_words = check_positive_int(min_words, param="min_words", owner=owner)
    params = {
        "calibration": None,
        "random_state": random_state,
        **_check_model_params(model_params, owner),
    }
    usable = np.asarray(
        [i for i, note in enumerate(notes) if unscorable_reason(note) is None], dtype=np.int64
    )
    usable_labels = np.asarray([given[i] for i in usable], dtype=object)
    _check_folds(Counter(usable_labels.tolist()), cv, owner)

    logger.info("Auditing %d labeled notes with %d-fold cross-validation.", len(usable), cv)
    proba = _out_of_fold_proba(
        [notes[i] for i in usable],
        usable_labels,
        cv=cv,
        random_state=random_state,
        params=params,
        n_jobs=n_jobs,
    )
    given_index = np.asarray([LABELS.index(label) for label in usable_labels])
    suspects, thresholds = _suspects(proba, given_index, usable)
    predicted = np.asarray(LABELS, dtype=object)[np.argmax(proba, axis=1)]
    out_of_fold = pd.DataFrame(
        {
            "position": usable,
            "given_label": usable_labels,
            "predicted_label": predicted,
            **{name: proba[:, j] for j, name in enumerate(PROBABILITY_COLUMNS)},
            "p_given": proba[np.arange(len(usable)), given_index],
        }
    )
    words = np.asarray([len(_words(notes[i])) for i in usable], dtype=float)
    found: dict[str, Any] = {
        "suspects": suspects,
        "conflicts": _conflicts(notes, given, similarity),
        "duplicates": _duplicates(notes, given),
        "short_notes": _short_notes(notes, given, min_words),
        "balance": _balance(usable_labels.tolist()),
        "lengths": _lengths(words, usable_labels),
    }
    macro_f1 = float(
        f1_score(usable_labels, predicted, labels=sorted(set(usable_labels)), average="macro")
    )
    audit = LabelAudit(
        n_notes=len(notes),
        n_audited=len(usable),
        cv=cv,
        macro_f1=macro_f1,
        thresholds=thresholds,
        out_of_fold=out_of_fold,
        warnings=_warnings(found, words, usable_labels, macro_f1),
        **found,
    )
    logger.info(
        "Audit found %d suspects, %d conflicting near-duplicate pairs, %d short notes.",
        len(audit.suspects),
        len(audit.conflicts),
        len(audit.short_notes),
    )
    return audit
