"""Command-line interface: ``accountability-nlp`` (or ``python -m accountability_nlp``).

Each command is a thin wrapper: it parses arguments, calls a library function
that returns data, and prints. Errors the user can fix are printed as one
line and exit with status 2; nothing here is needed to use the library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import AccountabilityError

app = typer.Typer(
    name="accountability-nlp",
    help="Label deal-loss notes as ownership, deflection or victim.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--model", "-m", help="Model folder (default: the bundled model)."),
]


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


@app.command()
def predict(
    texts: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(help="Notes to label. Without any, one note per line is read from stdin."),
    ] = None,
    model: ModelOption = None,
    explain: Annotated[bool, typer.Option(help="Show the evidence for each label.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per note.")] = False,
) -> None:
    """Label notes given as arguments or on standard input."""
    from .model import load

    notes = texts if texts else [line.rstrip("\n") for line in sys.stdin]
    try:
        loaded = load(model)
    except AccountabilityError as error:
        _fail(str(error))
    for note in notes:
        result = loaded.explain(note)
        if as_json:
            payload = {
                "label": result.label,
                "probabilities": result.probabilities,
                "needs_review": result.needs_review,
                "status": result.status,
                "evidence": [e.__dict__ for e in result.evidence] if explain else None,
            }
            typer.echo(json.dumps(payload, ensure_ascii=False))
        elif explain:
            typer.echo(str(result))
        else:
            flag = "  [needs review]" if result.needs_review else ""
            top = max(result.probabilities.values()) if result.label else float("nan")
            typer.echo(f"{result.label or result.status}\t{top:.2f}{flag}")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Labeled notes: .csv or .jsonl.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    text_column: Annotated[str, typer.Option(help="Column with the note text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the label.")] = "label",
    eval_file: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option("--eval", help="Extra labeled file to evaluate on (repeatable)."),
    ] = None,
    name: Annotated[str, typer.Option(help="Model name for the model card.")] = "custom",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    test_size: Annotated[
        float, typer.Option(help="Held-out share when the data has no 'split' column.")
    ] = 0.2,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model folder.")] = False,
) -> None:
    """Train a model, evaluate it on held-out notes and save it with a model card."""
    from .training import train_from_file

    try:
        report = train_from_file(
            data,
            output,
            text_column=text_column,
            label_column=label_column,
            eval_files=eval_file or [],
            name=name,
            seed=seed,
            test_size=test_size,
            overwrite=overwrite,
        )
    except (AccountabilityError, ValueError, FileExistsError, FileNotFoundError) as error:
        _fail(str(error))
    typer.echo(f"Trained on {report['n_train']} notes; model saved to {report['path']}")
    for split, metrics in report["metrics"].items():
        typer.echo(f"  {split}: macro-F1 {metrics['macro_f1']:.3f}  accuracy "
                   f"{metrics['accuracy']:.3f}  (n={metrics['n']})")


@app.command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Labeled notes: .csv or .jsonl.")],
    model: ModelOption = None,
    text_column: Annotated[str, typer.Option(help="Column with the note text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the label.")] = "label",
    split: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Only rows whose 'split' column has this value (e.g. test)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Per-class precision, recall and F1, macro-F1 and the confusion matrix."""
    from .model import load
    from .modelcard import render_metrics
    from .training import evaluate_file

    try:
        metrics = evaluate_file(
            load(model), data, text_column=text_column, label_column=label_column, split=split
        )
    except (AccountabilityError, ValueError, FileNotFoundError) as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
    else:
        typer.echo(render_metrics(str(data), metrics))
