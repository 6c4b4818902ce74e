"""Render a model card (Markdown) from a model's metadata.

The card is written into every saved model folder as ``README.md``: what the
model is for, what it was trained on, how well it does on each evaluation
set, and where it should not be trusted. Every figure comes from ``meta``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_metrics", "render_model_card"]

_INTENDED_USE = """\
Reads the note a sales rep writes when a deal is lost and labels the stance
the writer takes toward the loss: `ownership` (owns a concrete part or says
what they will change), `deflection` (places the cause on others: prospect,
product, price, marketing, timing) or `victim` (helpless: nothing could be
done, it always happens, self-pity). Meant to support coaching conversations
by sales managers and RevOps teams."""

_RESPONSIBLE_USE = """\
- The label describes one note's stance, not a person's worth, skill or
  honesty. Use it to open a coaching conversation, never as an automatic
  judgement, a performance rating or a reason for discipline.
- Look at the evidence and at `needs_review` before acting: low-confidence
  predictions are flagged on purpose.
- Aggregates over fewer than a handful of notes are noise."""

_LIMITATIONS = """\
- English only; trained on hand-written notes that imitate CRM loss notes,
  Slack messages, emails and pipeline reviews. Field notes differ: check the
  model on a labeled sample of your own notes before relying on it, and
  retrain on them (`accountability-nlp train`).
- Bag-of-words with rule-based cues: long notes that change stance midway,
  subtle sarcasm and domain jargon it has not seen can mislead it.
- Probabilities are calibrated on the training distribution only."""


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_metrics(name: str, metrics: dict[str, Any]) -> str:
    """Render one evaluation (from :func:`accountability_nlp.training.evaluate`).

    Examples
    --------
    >>> print(render_metrics("test", {"n": 2, "macro_f1": 1.0, "accuracy": 1.0,
    ...     "per_class": {}, "confusion_matrix": {"labels": [], "matrix": []}}).splitlines()[0])
    ### test: macro-F1 1.000, accuracy 1.000 (n=2)
    """
    lines = [
        f"### {name}: macro-F1 {_fmt(metrics['macro_f1'])}, "
        f"accuracy {_fmt(metrics['accuracy'])} (n={metrics['n']})"
    ]
    if metrics.get("description"):
        lines += ["", str(metrics["description"])]
    per_class = metrics.get("per_class", {})
    if per_class:
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for label, row in per_class.items():
            lines.append(
                f"| {label} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | "
                f"{_fmt(row['f1'])} | {row['support']} |"
            )
    matrix = metrics.get("confusion_matrix", {})
    if matrix.get("labels"):
        labels = matrix["labels"]
        lines += ["", "Confusion matrix (rows: true, columns: predicted)", ""]
        lines += ["| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        for label, row in zip(labels, matrix["matrix"]):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    by_rule = metrics.get("by_rule")
    if by_rule:
        lines += ["", "| rule | passed | cases |", "|---|---|---|"]
        lines += [f"| {rule} | {r['passed']} | {r['cases']} |" for rule, r in by_rule.items()]
    return "\n".join(lines)


def render_model_card(meta: dict[str, Any]) -> str:
    """Return the model card for ``meta`` as Markdown.

    Examples
    --------
    >>> card = render_model_card({"name": "demo", "labels": ["ownership"]})
    >>> card.splitlines()[0]
    '# Model card: demo'
    """
    training = meta.get("training", {})
    versions = meta.get("versions", {})
    parts = [
        f"# Model card: {meta.get('name', 'unnamed model')}",
        "",
        "## Intended use",
        "",
        _INTENDED_USE,
        "",
        f"Labels: {', '.join(f'`{label}`' for label in meta.get('labels', []))}. "
        f"Predictions whose top probability is below {meta.get('review_threshold', 'the')}"
        " are flagged `needs_review`.",
        "",
        "## Training data",
        "",
    ]
    if training:
        counts = training.get("label_counts", {})
        parts += [
            f"- Source: {training.get('source', 'not recorded')}",
            f"- Notes: {training.get('n_notes', '?')} "
            f"({', '.join(f'{k} {v}' for k, v in counts.items())})",
            f"- SHA-256 of the training notes and labels: `{training.get('data_sha256', '?')}`",
            f"- Seed: {training.get('seed', '?')}",
        ]
    else:
        parts.append("Not recorded.")
    params = meta.get("params", {})
    if params:
        parts += [
            "",
            "## Model",
            "",
            "spaCy preprocessing (blank English pipeline, lookup "
            "lemmas, cue matchers) -> hashed TF-IDF n-grams + named cue features -> "
            "logistic regression with calibrated probabilities.",
            "",
            "| parameter | value |",
            "|---|---|",
        ]
        parts += [f"| {k} | {v} |" for k, v in sorted(params.items())]
    metrics = meta.get("metrics", {})
    parts += ["", "## Evaluation", ""]
    if metrics:
        for name, values in metrics.items():
            parts += [render_metrics(name, values), ""]
    else:
        parts.append("No evaluation recorded.")
    parts += [
        "",
        "## Limitations",
        "",
        _LIMITATIONS,
        "",
        "## Responsible use",
        "",
        _RESPONSIBLE_USE,
        "",
    ]
    if versions:
        parts += ["## Versions", ""]
        parts += [f"- {k}: {v}" for k, v in sorted(versions.items())]
        parts.append("")
    return "\n".join(parts)
