"""Help a team label its own notes well: a guide, what to label next, checks.

A model retrained on a team's own notes is only as good as their labels.
This module supports the labeling loop and returns data for every step (the
CLI prints it):

* :func:`labeling_guide`: the decision procedure for labelers, in plain words;
* :func:`sample_for_labeling`: which unlabeled notes to label next;
* :func:`agreement`: how far two labelers agree (Cohen's kappa);
* :func:`audit_labels` (from :mod:`accountability_nlp.label_audit`): likely
  label errors, conflicting near-duplicates, duplicates, short notes, label
  balance and length shortcuts.

Tables refer to notes by ``position`` (0-based row of the input) and never
hold note text, so they can be shared without the notes; :func:`attach_rows`
joins the input rows back. Logs hold counts only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from .errors import check_one_of, check_text_batch
from .label_audit import (
    PROBABILITY_COLUMNS,
    LabelAudit,
    audit_labels,
    check_positive_int,
    near_duplicates,
    proba_in_label_order,
)
from .labels import LABELS, check_labels
from .model import unscorable_reason

__all__ = [
    "SAMPLING_STRATEGIES",
    "LabelAudit",
    "agreement",
    "attach_rows",
    "audit_labels",
    "labeling_guide",
    "near_duplicates",
    "sample_for_labeling",
]

logger = logging.getLogger(__name__)

#: Strategies of :func:`sample_for_labeling`.
SAMPLING_STRATEGIES: tuple[str, ...] = ("uncertainty", "random", "stratified")


# -- the guide ------------------------------------------------------------------------

# (question, what it means, invented example, label it gives)
_QUESTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Does the writer own a concrete part of the loss, or say concretely what they will change?",
        "Something the writer (or 'we', their own selling team) did, skipped or decided, "
        "named clearly enough that a manager could check it; or a specific change for next "
        "time. It wins even when the note also blames the customer, the product or the price.",
        "Their budget froze, but I let the proposal sit for three weeks after the demo.",
        "ownership",
    ),
    (
        "If not: does the note say nothing could be done, that the writer is helpless, "
        "or that this always happens to them?",
        "Look for 'always', 'never', 'nothing', 'impossible', being set up to fail, "
        "self-pity, and no plan. It wins over blame: a note that points at someone AND "
        "declares there was no way out is victim.",
        "Procurement stalled it like they stall every deal I get. No point even trying.",
        "victim",
    ),
    (
        "Otherwise (no to both questions)",
        "The cause sits outside the writer (customer, product, pricing, leads, legal, "
        "timing, a competitor) and their own work is presented as fine, or the note is "
        "a bare list of outside reasons.",
        "Went with the incumbent; their IT would not approve a new vendor this year.",
        "deflection",
    ),
)

# (trap, how to handle it, invented example, label it gives)
_TRAPS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Empty promises",
        "'We'll get them next time' names nothing the writer did or will change. "
        "It is not ownership; go on to questions 2 and 3.",
        "Buyer picked the cheaper tool. We'll win the renewal cycle next year.",
        "deflection",
    ),
    (
        "Negation",
        "Read what is denied. Ruling out an outside cause and naming your own miss is "
        "ownership; denying your own part is deflection.",
        "Price wasn't the issue. I never booked the follow-up after the pilot.",
        "ownership",
    ),
    (
        "Sarcasm",
        "Label what the writer means, not the words they use.",
        "Right, obviously my fault the integration broke in both pilot weeks.",
        "deflection",
    ),
    (
        "First-person deflection",
        "Writing 'I' is not owning anything. 'I did everything right' or 'I told them the "
        "feature was coming' puts the cause elsewhere.",
        "I sent every document on time and answered each question within a day.",
        "deflection",
    ),
    (
        "Frustrated tone is not victim",
        "Anger or exclamation marks aimed at someone else are still deflection, unless "
        "the note says it could not be helped or always happens.",
        "Unbelievable. Their counsel sat on the redlines for five weeks!!",
        "deflection",
    ),
    (
        "Ownership without 'I'",
        "Owning can be written with 'we', in the passive, or as a bare fragment. What "
        "counts is a concrete own miss or change, not the pronoun.",
        "quote went out before discovery was done. qualify the pain first next time.",
        "ownership",
    ),
)


def labeling_guide() -> str:
    """The decision procedure for people labeling notes, in plain words.

    Three questions asked in order (the first "yes" decides), the usual
    traps, and one short example per step. It follows the project's label
    contract; the examples are made up for the guide.

    Returns
    -------
    str
        Plain text (valid Markdown), ready to print or hand to labelers.

    Examples
    --------
    >>> guide = labeling_guide()
    >>> guide.splitlines()[0]
    '# How to label a deal-loss note'
    >>> "Sarcasm" in guide and "-> victim" in guide
    True
    """
    lines = [
        "# How to label a deal-loss note",
        "",
        "Label the stance the writer takes toward the lost deal, not the reason the deal "
        "was lost. Read the whole note, then ask these questions in order and stop at the "
        "first 'yes'.",
        "",
    ]
    for number, (question, meaning, example, label) in enumerate(_QUESTIONS, start=1):
        lines += [
            f"{number}. {question} -> {label}",
            f"   {meaning}",
            f'   Example: "{example}" -> {label}',
            "",
        ]
    lines += ["## Traps", ""]
    for name, handling, example, label in _TRAPS:
        lines += [f"- {name}: {handling}", f'  Example: "{example}" -> {label}']
    lines += [
        "",
        "## When you are unsure",
        "",
        "Pick the label the questions give and note your doubt in a separate column; do "
        "not skip the note. A note with nothing to judge ('closed lost', 'n/a', a bare "
        "ticket number) says nothing about stance: leave it out of the training data "
        "rather than forcing a label on it.",
    ]
    return "\n".join(lines) + "\n"


# -- what to label next --------------------------------------------------------------


class _ProbabilisticModel(Protocol):
    @property
    def classes_(self) -> Any: ...

    def predict_proba(self, texts: Any) -> np.ndarray: ...


def sample_for_labeling(
    texts: Iterable[Any],
    model: _ProbabilisticModel,
    *,
    n: int = 50,
    strategy: str = "uncertainty",
    random_share: float = 0.2,
    random_state: int = 0,
) -> pd.DataFrame:
    """Pick the unlabeled notes a team should label next.

    Parameters
    ----------
    texts : iterable of str
        The unlabeled notes. Empty notes and values that are not text are
        never picked.
    model : Model
        A fitted model with ``predict_proba`` and ``classes_`` (a
        :class:`~accountability_nlp.model.Model` or an
        :class:`~accountability_nlp.estimator.AccountabilityClassifier`).
    n : int, default=50
        How many notes to pick (fewer when fewer notes are scorable).
    strategy : {"uncertainty", "random", "stratified"}, default="uncertainty"
        ``"uncertainty"`` picks the notes the model is least sure about
        (smallest margin between its two most likely labels, then lowest top
        probability): labeling them teaches the model the most. A share of
        random notes (``random_share``) is mixed in so the sample also shows
        what ordinary notes look like and the labels are not all hard cases.
        ``"random"`` picks uniformly. ``"stratified"`` picks the same number
        of notes per label the model guesses, so a rare stance is not
        missed.
    random_share : float, default=0.2
        Share of random notes in an ``"uncertainty"`` sample.
    random_state : int, default=0
        Seed; the same notes, model and seed give the same sample.

    Returns
    -------
    pandas.DataFrame
        One row per picked note, ordered by position: ``position`` (0-based
        index into ``texts``), ``guess`` (the model's label),
        ``p_ownership``, ``p_deflection``, ``p_victim``, ``top_probability``,
        ``margin``, ``reason`` (``"least confident"``, ``"random"`` or
        ``"stratified"``) and an empty ``label`` column to fill in.

    Raises
    ------
    ValueError
        If ``n``, ``strategy`` or ``random_share`` is invalid.
    TypeError
        If ``texts`` is a single string.

    Examples
    --------
    >>> import accountability_nlp as anlp
    >>> notes = ["I never followed up.", "Legal killed it.", "", "Nothing ever closes."]
    >>> picked = sample_for_labeling(notes, anlp.load(), n=2, random_share=0)
    >>> len(picked), picked["label"].tolist()
    (2, ['', ''])
    """
    owner = "sample_for_labeling"
    notes = check_text_batch(texts, owner=owner)
    n = check_positive_int(n, param="n", owner=owner)
    check_one_of(strategy, SAMPLING_STRATEGIES, param="strategy", owner=owner)
    if isinstance(random_share, bool) or not 0 <= random_share <= 1:
        raise ValueError(
            f"The 'random_share' parameter of {owner} must be a float in [0, 1]. "
            f"Got {random_share!r} instead."
        )
    usable = np.asarray(
        [i for i, note in enumerate(notes) if unscorable_reason(note) is None], dtype=np.int64
    )
    proba = np.zeros((len(usable), len(LABELS)))
    if len(usable):
        raw = np.asarray(model.predict_proba([notes[i] for i in usable]), dtype=float)
        proba = proba_in_label_order(raw, model.classes_)
    ranked = np.sort(proba, axis=1)[:, ::-1]
    top, margin = ranked[:, 0], ranked[:, 0] - ranked[:, 1]
    guess = np.asarray(LABELS, dtype=object)[np.argmax(proba, axis=1)]
    rng = np.random.default_rng(random_state)
    n = min(n, len(usable))

    reason = np.full(len(usable), "", dtype=object)
    if strategy == "uncertainty":
        n_random = round(n * random_share)
        order = np.lexsort((top, margin))  # smallest margin first, ties by lowest top
        reason[order[: n - n_random]] = "least confident"
        rest = np.flatnonzero(reason == "")
        reason[rng.choice(rest, size=n_random, replace=False)] = "random"
    elif strategy == "random":
        reason[rng.choice(len(usable), size=n, replace=False)] = "random"
    else:
        # Round robin over the guessed labels, each shuffled: equal shares
        # while every label has notes left, then the others fill the rest.
        queues = [list(rng.permutation(np.flatnonzero(guess == label))) for label in LABELS]
        picked = 0
        while picked < n:
            for queue in queues:
                if queue and picked < n:
                    reason[queue.pop()] = "stratified"
                    picked += 1
    chosen = np.flatnonzero(reason != "")
    logger.info("Picked %d of %d scorable notes (%s).", len(chosen), len(usable), strategy)
    table = pd.DataFrame(
        {
            "position": usable[chosen],
            "guess": guess[chosen],
            **{name: proba[chosen, j] for j, name in enumerate(PROBABILITY_COLUMNS)},
            "top_probability": top[chosen],
            "margin": margin[chosen],
            "reason": reason[chosen],
            "label": "",
        }
    )
    return table.reset_index(drop=True)


def attach_rows(table: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Put the input rows that ``table`` refers to next to it.

    Parameters
    ----------
    table : pandas.DataFrame
        A table with a ``position`` column (0-based rows of ``frame``), such
        as :attr:`LabelAudit.suspects` or a :func:`sample_for_labeling` result.
    frame : pandas.DataFrame
        The input the positions refer to.

    Returns
    -------
    pandas.DataFrame
        ``table``'s columns followed by the matching rows of ``frame``; an
        input column whose name ``table`` already uses gets the prefix
        ``input_``.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", "b"], "label": ["victim", "ownership"]})
    >>> table = pd.DataFrame({"position": [1], "label": [""]})
    >>> attach_rows(table, frame).columns.tolist()
    ['position', 'label', 'id', 'input_label']
    """
    if "position" not in table.columns:
        raise ValueError(
            f"attach_rows needs a 'position' column in 'table'. Got columns {list(table.columns)}."
        )
    rows = frame.iloc[table["position"].to_numpy(dtype=np.int64)].reset_index(drop=True)
    rows.columns = [f"input_{c}" if c in table.columns else c for c in rows.columns]
    return pd.concat([table.reset_index(drop=True), rows], axis=1)


# -- agreement between two labelers --------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _kappa_reading(kappa: float) -> str:
    if math.isnan(kappa):
        return (
            "undefined: both labelers gave every note the same single label, so agreement "
            "beyond chance cannot be measured. Compare on a more varied set of notes."
        )
    if kappa < 0:
        return (
            "worse than chance: the labelers read the scheme differently, or the columns are "
            "misaligned. Check the file, then go through the disagreements together."
        )
    bands = (
        (
            0.2,
            "slight",
            "the labels are close to guesswork; go through the guide together before labeling more",
        ),
        (
            0.4,
            "fair",
            "the labelers share the basics but split on many notes; go through "
            "the disagreements with the guide and agree on the rules",
        ),
        (
            0.6,
            "moderate",
            "the easy notes agree but the hard ones do not; settle the "
            "disagreements and label a second shared batch before scaling up",
        ),
        (
            0.8,
            "substantial",
            "good enough to label at scale; review the remaining "
            "disagreements for a rule that is still read two ways",
        ),
    )
    for upper, name, advice in bands:
        if kappa < upper:
            return f"{name} agreement: {advice}."
    return "almost perfect agreement: the labelers apply the scheme the same way."


def agreement(labels_a: Iterable[Any], labels_b: Iterable[Any]) -> dict[str, Any]:
    """How far two labelers agree on the same notes.

    Parameters
    ----------
    labels_a, labels_b : iterable of str
        The two labelers' labels, one per note, in the same order. Rows
        where either label is empty (``""``, None, NaN) are skipped, so
        two people can label overlapping subsets of one file.

    Returns
    -------
    dict
        ``n`` (notes labeled by both), ``n_skipped``, ``kappa`` (Cohen's
        kappa: agreement beyond chance, 1 is perfect, 0 is chance; NaN when
        undefined), ``raw_agreement`` (share of identical labels),
        ``chance_agreement``, ``per_label`` (for each label, how often one
        labeler's use of it is matched by the other: ``2 * both / (a + b)``),
        ``confusion`` (DataFrame, rows labeler a, columns labeler b),
        ``disagreements`` (positions where they differ) and ``reading``
        (what the kappa means, in plain words).

    Raises
    ------
    ValueError
        On different lengths, labels outside the scheme, or no note
        labeled by both.

    Examples
    --------
    >>> result = agreement(["ownership", "victim", "deflection", "victim"],
    ...                    ["ownership", "victim", "victim", ""])
    >>> result["n"], round(result["raw_agreement"], 2), round(result["kappa"], 2)
    (3, 0.67, 0.5)
    >>> result["disagreements"]
    [2]
    """
    owner = "agreement"
    first = check_text_batch(labels_a, owner=owner)
    second = check_text_batch(labels_b, owner=owner)
    if len(first) != len(second):
        raise ValueError(
            f"agreement got {len(first)} labels from labeler a but {len(second)} from "
            "labeler b; pass one label per note from each, in the same order."
        )
    both = [
        i
        for i, (a, b) in enumerate(zip(first, second, strict=True))
        if not (_missing(a) or _missing(b))
    ]
    if not both:
        raise ValueError(
            f"agreement needs notes labeled by both labelers; none of the {len(first)} rows "
            "has two labels. Have both labelers label the same notes."
        )
    a = np.asarray(check_labels([first[i] for i in both], f"{owner} (labeler a)"), dtype=object)
    b = np.asarray(check_labels([second[i] for i in both], f"{owner} (labeler b)"), dtype=object)
    labels = list(LABELS)
    share_a = np.array([np.mean(a == label) for label in labels])
    share_b = np.array([np.mean(b == label) for label in labels])
    chance = float(share_a @ share_b)
    # Kappa is 0/0 when both labelers used one and the same label; sklearn
    # would warn, and the reading explains the NaN instead.
    kappa = math.nan if math.isclose(chance, 1.0) else float(cohen_kappa_score(a, b, labels=labels))
    per_label = {}
    for label in labels:
        used = int(np.sum(a == label) + np.sum(b == label))
        matched = int(np.sum((a == label) & (b == label)))
        per_label[label] = 2 * matched / used if used else math.nan
    confusion = pd.DataFrame(
        confusion_matrix(a, b, labels=labels),
        index=pd.Index(labels, name="labeler_a"),
        columns=pd.Index(labels, name="labeler_b"),
    )
    return {
        "n": len(both),
        "n_skipped": len(first) - len(both),
        "kappa": kappa,
        "raw_agreement": float(np.mean(a == b)),
        "chance_agreement": chance,
        "per_label": per_label,
        "confusion": confusion,
        "disagreements": [both[i] for i in np.flatnonzero(a != b)],
        "reading": _kappa_reading(kappa),
    }
