"""Training and evaluation: labeled notes in, a model and honest figures out.

:func:`train` fits a :class:`~accountability_nlp.model.Model` and records what
it was trained on (size, label counts, a hash of the data, parameters,
library versions). :func:`evaluate` measures a model on held-out notes.
:func:`read_labeled` reads a labeled CSV or JSONL file and checks it.
"""

from __future__ import annotations

import hashlib
import platform
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from .errors import InputFormatError, check_text_batch, closest_match
from .estimator import AccountabilityClassifier
from .labels import LABELS, check_labels
from .model import Model, unscorable_reason

__all__ = [
    "data_fingerprint",
    "evaluate",
    "evaluate_file",
    "read_labeled",
    "train",
    "train_from_file",
]


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in (
        "accountability-nlp",
        "spacy",
        "spacy-lookups-data",
        "scikit-learn",
        "skops",
        "numpy",
        "scipy",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def data_fingerprint(texts: Sequence[str], labels: Sequence[str]) -> str:
    """SHA-256 of the notes and labels, order included (identifies a training set).

    Examples
    --------
    >>> data_fingerprint(["a"], ["victim"])[:12]
    '571b6593b49e'
    """
    digest = hashlib.sha256()
    for text, label in zip(texts, labels):
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(str(label).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def train(
    texts: Iterable[str],
    labels: Iterable[str],
    *,
    name: str = "custom",
    source: str = "passed in memory",
    random_state: int = 0,
    **params: Any,
) -> Model:
    """Train a model on labeled notes.

    Parameters
    ----------
    texts : iterable of str
        The notes. Empty notes are not allowed in training data.
    labels : iterable of str
        One of ``"ownership"``, ``"deflection"``, ``"victim"`` per note.
    name : str, default="custom"
        Name recorded in the model card.
    source : str, default="passed in memory"
        Where the notes came from, recorded in the model card.
    random_state : int, default=0
        Seed; the same data and seed give the same model.
    **params
        Parameters of :class:`~accountability_nlp.estimator.AccountabilityClassifier`
        (``C``, ``calibration``, ``ngram_range``...).

    Returns
    -------
    Model
        The fitted model; ``model.meta["training"]`` describes the data.

    Raises
    ------
    ValueError
        On a label outside the scheme, an empty note, mismatched lengths,
        or fewer than two labels.

    Examples
    --------
    >>> import accountability_nlp as anlp
    >>> notes = ["I never sent the recap.", "Their legal team stalled.",
    ...          "Nothing ever closes here."] * 4
    >>> model = anlp.train(notes, ["ownership", "deflection", "victim"] * 4,
    ...                    calibration=None)
    >>> model.predict(["I never sent the quote."])
    ['ownership']
    """
    notes = check_text_batch(texts, owner="train")
    targets = check_labels(check_text_batch(labels, owner="train"), "train")
    if len(notes) != len(targets):
        raise ValueError(f"train got {len(notes)} notes but {len(targets)} labels.")
    empty = [i for i, note in enumerate(notes) if unscorable_reason(note) is not None]
    if empty:
        raise ValueError(
            f"train got {len(empty)} notes that are empty or not text (first at position "
            f"{empty[0]}). Remove them from the training data."
        )
    counts = Counter(targets)
    if len(counts) < 2:
        raise ValueError(f"train needs notes of at least two labels; got only {list(counts)}.")
    estimator = AccountabilityClassifier(random_state=random_state, **params)
    estimator.fit(notes, targets)
    meta = {
        "name": name,
        "created": date.today().isoformat(),
        "labels": list(LABELS),
        "classes": [str(c) for c in estimator.classes_],
        "params": {k: _jsonable(v) for k, v in estimator.get_params().items()},
        "training": {
            "source": source,
            "n_notes": len(notes),
            "label_counts": {label: counts.get(label, 0) for label in LABELS},
            "data_sha256": data_fingerprint(notes, targets),
            "seed": random_state,
        },
        "versions": _versions(),
        "metrics": {},
    }
    return Model(estimator, meta)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def evaluate(
    model: Model,
    texts: Iterable[str],
    labels: Iterable[str],
    *,
    rules: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Measure a model on labeled notes.

    Parameters
    ----------
    model : Model
    texts, labels : iterable of str
        Held-out notes and their true labels.
    rules : iterable of str, optional
        A rule name per note (rubric cases): adds pass counts per rule and
        the failing cases' positions.

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_f1``, ``per_class`` (precision, recall,
        F1, support per label), ``confusion_matrix`` (``labels`` and
        ``matrix``, rows true, columns predicted) and, with ``rules``,
        ``by_rule`` and ``failures``.
    """
    notes = check_text_batch(texts, owner="evaluate")
    truth = check_labels(check_text_batch(labels, owner="evaluate"), "evaluate")
    rule_list = (
        None if rules is None else [str(r) for r in check_text_batch(rules, owner="evaluate")]
    )
    for name, values in (("labels", truth), ("rules", rule_list)):
        if values is not None and len(values) != len(notes):
            raise ValueError(
                f"evaluate got {len(notes)} notes but {len(values)} {name}; pass one per note."
            )
    predicted = [p if p is not None else "unscorable" for p in model.predict(notes)]
    classes = list(LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    result: dict[str, Any] = {
        "n": len(truth),
        "accuracy": float(np.mean(np.asarray(truth) == np.asarray(predicted))),
        "macro_f1": float(
            f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)
        ),
        "per_class": {
            label: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
        "confusion_matrix": {
            "labels": classes,
            "matrix": confusion_matrix(truth, predicted, labels=classes).tolist(),
        },
    }
    if rule_list is not None:
        by_rule: dict[str, dict[str, int]] = {}
        failures = []
        for i, (rule, t, p) in enumerate(zip(rule_list, truth, predicted)):
            entry = by_rule.setdefault(rule, {"passed": 0, "cases": 0})
            entry["cases"] += 1
            entry["passed"] += int(t == p)
            if t != p:
                failures.append({"index": i, "rule": rule, "expected": t, "predicted": p})
        result["by_rule"] = dict(sorted(by_rule.items()))
        result["failures"] = failures
    return result


def read_labeled(
    path: str | Path, *, text_column: str = "text", label_column: str = "label"
) -> pd.DataFrame:
    """Read labeled notes from a CSV or JSONL file and check them.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.jsonl`` file with a text and a label column (and
        optionally ``split`` with values train/dev/test).
    text_column, label_column : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        With columns ``text`` and ``label`` (renamed) and any others.

    Raises
    ------
    InputFormatError
        If the file type is unknown or a column is missing.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        raise InputFormatError(
            f"Cannot read labeled notes from {str(path)!r}: expected a .csv or .jsonl file, "
            f"got {suffix or 'no extension'!r}."
        )
    for param, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in frame.columns:
            hint = closest_match(column, [str(c) for c in frame.columns])
            raise InputFormatError(
                f"The {param!r} parameter of read_labeled must be one of "
                f"{list(frame.columns)}. Got {column!r} instead."
                + (f" Did you mean {hint!r}?" if hint else "")
            )
    return frame.rename(columns={text_column: "text", label_column: "label"})


def _split_or_hold_out(
    frame: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Training rows and named held-out sets: the file's own split, or a fresh one."""
    if "split" in frame.columns and set(frame["split"]) & {"train"}:
        held_out = {
            name: frame[frame["split"] == name]
            for name in ("test", "dev")
            if (frame["split"] == name).any()
        }
        return frame[frame["split"] == "train"], held_out
    from sklearn.model_selection import train_test_split

    fit_rows, test_rows = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame["label"]
    )
    return fit_rows, {"test": test_rows}


def train_from_file(
    data: str | Path,
    output: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    eval_files: Sequence[str | Path] = (),
    name: str = "custom",
    seed: int = 0,
    test_size: float = 0.2,
    overwrite: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """Train on a labeled file, evaluate on held-out notes, save the model.

    If the file has a ``split`` column, rows marked ``train`` are fitted and
    rows marked ``test`` and ``dev`` are evaluated; otherwise a stratified
    ``test_size`` share is held out. Each of ``eval_files`` is evaluated too
    (a ``rule`` column adds per-rule pass counts). All metrics go into the
    model card.

    Returns
    -------
    dict
        ``path`` (the model folder), ``n_train`` and ``metrics`` per set.
    """
    frame = read_labeled(data, text_column=text_column, label_column=label_column)
    fit_rows, held_out = _split_or_hold_out(frame, test_size, seed)
    model = train(
        fit_rows["text"].tolist(),
        fit_rows["label"].tolist(),
        name=name,
        source=f"{Path(data).name} ({len(fit_rows)} training rows)",
        random_state=seed,
        **params,
    )
    metrics = {
        split: evaluate(model, rows["text"].tolist(), rows["label"].tolist())
        for split, rows in held_out.items()
    }
    for extra in eval_files:
        metrics[Path(extra).stem] = evaluate_file(model, extra)
    model.meta["metrics"] = metrics
    path = model.save(output, overwrite=overwrite)
    return {"path": path, "n_train": len(fit_rows), "metrics": metrics}


def evaluate_file(
    model: Model,
    data: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    split: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on a labeled file (optionally one ``split`` of it)."""
    frame = read_labeled(data, text_column=text_column, label_column=label_column)
    if split is not None:
        if "split" not in frame.columns:
            raise InputFormatError(f"{str(data)!r} has no 'split' column to select {split!r} from.")
        frame = frame[frame["split"] == split]
        if frame.empty:
            raise InputFormatError(f"{str(data)!r} has no rows with split {split!r}.")
    rules = frame["rule"].tolist() if "rule" in frame.columns else None
    return evaluate(model, frame["text"].tolist(), frame["label"].tolist(), rules=rules)
