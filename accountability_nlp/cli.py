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
        typer.echo(
            f"  {split}: macro-F1 {metrics['macro_f1']:.3f}  accuracy "
            f"{metrics['accuracy']:.3f}  (n={metrics['n']})"
        )


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


_FREQ = {"month": "M", "quarter": "Q"}


@app.command()
def report(
    scored: Annotated[
        Path, typer.Argument(help="Scored notes (.csv, .tsv, .jsonl, .xlsx or .parquet).")
    ],
    by: Annotated[
        list[str],
        typer.Option("--by", help="Column to group by, e.g. 'Opportunity Owner' (repeatable)."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    team: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Team column, e.g. 'Sales Team': adds the mix per team."),
    ] = None,
    period: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Date column for the trend, e.g. 'Close Date'."),
    ] = None,
    freq: Annotated[str, typer.Option(help="Trend by 'month' or 'quarter'.")] = "month",
    min_notes: Annotated[
        int, typer.Option(min=1, help="Scored notes a group needs before shares are shown.")
    ] = 5,
    text_column: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Column with the note text, for examples (default: detected)."),
    ] = None,
    prefix: Annotated[str, typer.Option(help="Prefix of the score columns, if any.")] = "",
    title: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Report title."),
    ] = None,
    summary_json: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Also write counts and shares per group as JSON."),
    ] = None,
    summary_csv: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Also write counts and shares per group as CSV."),
    ] = None,
) -> None:
    """Write a self-contained HTML team report from scored notes."""
    from .report import overview
    from .report_html import write_report

    if freq not in _FREQ:
        _fail(f"--freq must be one of {list(_FREQ)}. Got {freq!r} instead.")
    try:
        data = write_report(
            scored,
            output,
            by=by,
            period=period,
            team=team,
            freq=_FREQ[freq],
            min_notes=min_notes,
            title=title,
            text_column=text_column,
            prefix=prefix,
            summary_json=summary_json,
            summary_csv=summary_csv,
        )
    except (AccountabilityError, ValueError, OSError) as error:
        _fail(str(error))
    typer.echo(f"Report written to {output}")
    for line in overview(data):
        typer.echo(f"  {line}")
    for kind, path in (("JSON", summary_json), ("CSV", summary_csv)):
        if path is not None:
            typer.echo(f"Summary {kind} written to {path}")


def _score_output_name(input: str | None, table: str | None) -> Path:
    """``<input stem>.scored.csv`` in the current folder."""
    if table is not None:
        stem = table
    elif input is None:
        stem = "query"
    elif input == "-":
        stem = "stdin"
    else:
        stem = Path(input).stem
    return Path.cwd() / f"{stem}.scored.csv"


@app.command()
def score(
    text_column: Annotated[
        str, typer.Option(help="Column with the note text, e.g. 'Loss Notes'.", show_default=False)
    ],
    input: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(
            help="CSV, TSV, JSONL, Excel or Parquet file; '-' reads CSV or JSONL from standard "
            "input. Leave out when reading with --sql and --query or --table.",
            metavar="INPUT",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--output",
            "-o",
            help="Output file, .csv, .tsv, .jsonl, .xlsx or .parquet "
            "(default: <input name>.scored.csv in the current folder).",
            show_default=False,
        ),
    ] = None,
    model: ModelOption = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows scored at a time.")] = 2000,
    workers: Annotated[int, typer.Option(min=1, help="Processes scoring in parallel.")] = 1,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run from its last finished chunk.")
    ] = False,
    prefix: Annotated[
        str, typer.Option(help="Put before each score column name, e.g. anlp_.")
    ] = "",
    input_format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--format",
            help="Input format if the extension does not say: csv, tsv, jsonl, xlsx or parquet.",
        ),
    ] = None,
    encoding: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Text encoding of the input, e.g. cp1252 (default: detected)."),
    ] = None,
    delimiter: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="CSV field separator, e.g. ';' or '\\t' (default: detected)."),
    ] = None,
    sheet: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Excel sheet, by name or 0-based position (default: the first)."),
    ] = None,
    sql: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="SQLAlchemy database URL to read from or write to, e.g. sqlite:///crm.db."
        ),
    ] = None,
    query: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="SELECT statement to read from --sql."),
    ] = None,
    table: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Table to read from --sql."),
    ] = None,
    output_table: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Table of --sql to write the scores to (replaced if it exists)."),
    ] = None,
    engine: Annotated[str, typer.Option(help="local, or dask for a Dask cluster.")] = "local",
    scheduler: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Dask scheduler address (default: a local cluster), for --engine dask."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar or progress lines.")] = False,
) -> None:
    """Score every row of a CRM export; all columns are kept, the scores appended."""
    import logging

    if engine not in ("local", "dask"):
        _fail(f"--engine must be one of ['local', 'dask']. Got {engine!r} instead.")
    if delimiter in ("\\t", "tab", "TAB"):
        delimiter = "\t"
    if output is None and output_table is None:
        output = _score_output_name(input, table)
    # Progress and warnings (line numbers of malformed rows, never their text)
    # go to stderr, the summary to stdout.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_logger = logging.getLogger("accountability_nlp")
    level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        if engine == "dask":
            _score_with_dask(
                input,
                output,
                text_column=text_column,
                model=model,
                prefix=prefix,
                scheduler=scheduler,
                local_only={
                    "--resume": resume,
                    "--workers": workers != 1,
                    "--sql": sql,
                    "--query": query,
                    "--table": table,
                    "--output-table": output_table,
                    "--format": input_format,
                    "--encoding": encoding,
                    "--delimiter": delimiter,
                    "--sheet": sheet,
                    "--chunk-size": chunk_size != 2000,
                },
            )
            return
        if scheduler is not None:
            _fail("--scheduler needs --engine dask.")
        from .scoring import score_file

        summary = score_file(
            input,
            output,
            text_column=text_column,
            model=model,
            chunk_size=chunk_size,
            workers=workers,
            resume=resume,
            prefix=prefix,
            input_format=input_format,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            sql=sql,
            query=query,
            table=table,
            output_table=output_table,
            progress=False if quiet else None,
        )
    except (AccountabilityError, ValueError, OSError, ImportError) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        # the library has logged whether the run can be resumed (--resume)
        typer.secho("Interrupted.", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=130) from None
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(level)
    typer.echo(str(summary))


def _score_with_dask(
    input: str | None,
    output: Path | None,
    *,
    text_column: str,
    model: Path | None,
    prefix: str,
    scheduler: str | None,
    local_only: dict[str, object],
) -> None:
    used = [flag for flag, value in local_only.items() if value]
    if used:
        _fail(f"{', '.join(used)} work only with --engine local.")
    if input is None or input == "-" or output is None:
        _fail("--engine dask needs an input file and an output file.")
        return
    try:
        from .dask_engine import score_file_dask
    except ImportError as error:
        _fail(f"--engine dask is not available: {error}.")
    summary = score_file_dask(
        input,
        output,
        text_column=text_column,
        scheduler=scheduler,
        model_path=model,
        prefix=prefix,
    )
    typer.echo(str(summary))


# -- labeling your own notes ------------------------------------------------------------


@app.command("label-guide")
def label_guide_command() -> None:
    """Print the decision procedure for people labeling notes (Markdown)."""
    from .labeling import labeling_guide

    typer.echo(labeling_guide(), nl=False)


@app.command("sample-for-labeling")
def sample_for_labeling_command(
    data: Annotated[
        Path, typer.Argument(help="Unlabeled notes: .csv, .tsv, .jsonl, .xlsx or .parquet.")
    ],
    text_column: Annotated[str, typer.Option(help="Column with the note text.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (.csv, .xlsx, .jsonl...).")
    ],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="How many notes to pick.")] = 50,
    model: ModelOption = None,
    strategy: Annotated[
        str, typer.Option(help="'uncertainty' (default), 'random' or 'stratified'.")
    ] = "uncertainty",
    random_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of random notes with 'uncertainty'.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    blind: Annotated[
        bool,
        typer.Option(
            help="Leave out the model's guess and probabilities, so they do not sway the labelers."
        ),
    ] = False,
) -> None:
    """Pick the notes to label next; write them with an empty 'label' column to fill."""
    from .io import open_writer
    from .labeling import attach_rows, sample_for_labeling
    from .model import load
    from .report import read_scored
    from .scoring import check_text_column

    try:
        frame = read_scored(data)
        check_text_column([str(c) for c in frame.columns], text_column, owner="sample-for-labeling")
        picked = sample_for_labeling(
            frame[text_column].tolist(),
            load(model),
            n=n,
            strategy=strategy,
            random_share=random_share,
            random_state=seed,
        )
        table = attach_rows(picked, frame)
        # The note and the empty label first; the model's view last (or not at all).
        inputs = [c for c in table.columns if c not in picked.columns]
        model_view = [c for c in picked.columns if c not in ("position", "label")]
        table = table[["position", *inputs, "label", *([] if blind else model_view)]]
        writer = open_writer(output)
        writer.write(table)
        writer.commit()
    except (AccountabilityError, ValueError, OSError) as error:
        _fail(str(error))
    reasons = ", ".join(
        f"{count} {reason}" for reason, count in picked["reason"].value_counts().items()
    )
    typer.echo(f"{len(picked)} notes to label written to {output} ({reasons}).")
    typer.echo("Fill in the 'label' column; `accountability-nlp label-guide` explains how.")


@app.command("agreement")
def agreement_command(
    data: Annotated[
        Path, typer.Argument(help="Notes labeled by two people: .csv, .tsv, .jsonl, .xlsx...")
    ],
    a: Annotated[str, typer.Option("--a", help="Column with the first labeler's labels.")],
    b: Annotated[str, typer.Option("--b", help="Column with the second labeler's labels.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Cohen's kappa, raw agreement and the confusion table of two labelers."""
    from .errors import check_one_of
    from .labeling import agreement
    from .report import read_scored

    try:
        frame = read_scored(data)
        columns = [str(c) for c in frame.columns]
        check_one_of(a, columns, param="--a", owner="agreement")
        check_one_of(b, columns, param="--b", owner="agreement")
        result = agreement(frame[a].tolist(), frame[b].tolist())
    except (AccountabilityError, ValueError) as error:
        _fail(str(error))
    if as_json:
        import math

        def _number(value: float) -> float | None:  # NaN is not valid JSON
            return None if math.isnan(value) else value

        confusion = result["confusion"]
        payload = {
            **result,
            "kappa": _number(result["kappa"]),
            "per_label": {k: _number(v) for k, v in result["per_label"].items()},
            "confusion": {"labels": list(confusion.index), "matrix": confusion.to_numpy().tolist()},
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    per_label = ", ".join(f"{label} {value:.2f}" for label, value in result["per_label"].items())
    shown = ", ".join(str(p) for p in result["disagreements"][:20])
    more = len(result["disagreements"]) - 20
    typer.echo(f"Notes labeled by both: {result['n']} ({result['n_skipped']} skipped)")
    typer.echo(f"Cohen's kappa: {result['kappa']:.3f} ({result['reading']})")
    typer.echo(
        f"Raw agreement: {result['raw_agreement']:.1%} "
        f"(chance alone: {result['chance_agreement']:.1%})"
    )
    typer.echo(f"Agreement per label: {per_label}")
    typer.echo(f"\nRows: {a}; columns: {b}")
    typer.echo(result["confusion"].rename_axis(index=a, columns=b).to_string())
    if result["disagreements"]:
        typer.echo(
            f"\nDisagreements at rows (0-based): {shown}"
            + (f" and {more} more" if more > 0 else "")
        )


@app.command("audit-labels")
def audit_labels_command(
    data: Annotated[Path, typer.Argument(help="Labeled notes: .csv or .jsonl.")],
    text_column: Annotated[str, typer.Option(help="Column with the note text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the label.")] = "label",
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="Markdown report with every row of every table."),
    ] = None,
    errors_csv: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="CSV of suspected label errors, most likely first, with their rows."),
    ] = None,
    cv: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed of the folds.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Folds fitted in parallel.")] = 1,
) -> None:
    """Find likely label errors, conflicting duplicates, imbalance and length shortcuts."""
    from .labeling import attach_rows, audit_labels
    from .training import read_labeled

    try:
        frame = read_labeled(data, text_column=text_column, label_column=label_column)
        audit = audit_labels(
            frame["text"].tolist(),
            frame["label"].tolist(),
            cv=cv,
            random_state=seed,
            n_jobs=jobs,
        )
        if output is not None:
            output.write_text(audit.to_markdown(max_rows=None), encoding="utf-8")
        if errors_csv is not None:
            rows = frame.rename(columns={"text": text_column, "label": label_column})
            attach_rows(audit.suspects, rows).to_csv(errors_csv, index=False)
    except (AccountabilityError, ValueError, OSError) as error:
        _fail(str(error))
    typer.echo(audit.to_markdown(max_rows=10), nl=False)
    if output is not None:
        typer.echo(f"\nFull report written to {output}")
    if errors_csv is not None:
        typer.echo(f"{len(audit.suspects)} suspected label errors written to {errors_csv}")
