"""Batch scoring: a table of notes in, the same rows out with their scores.

Every input row comes out, in order: scored, or marked ``unscorable: <reason>``
in the ``status`` column. Nothing is dropped, duplicates included.

:func:`score_frame` scores a DataFrame in memory. :func:`score_file` streams a
file or SQL table through the model chunk by chunk (memory stays flat), in
one process or several, and can resume a run that was killed.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import logging
import multiprocessing
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .checkpoint import Checkpoint, file_sha256, progress_path
from .errors import AccountabilityError, ColumnNotFoundError, InputFormatError, closest_match
from .io import (
    APPENDABLE_FORMATS,
    MALFORMED_ROWS,
    TableWriter,
    open_writer,
    output_format_of,
    partial_path,
    read_chunks,
)
from .labels import SCORE_COLUMNS
from .persistence import default_model_path, read_model_meta

if TYPE_CHECKING:  # the model (spaCy, scikit-learn) is imported where it is used
    from .model import Model

__all__ = ["ScoreSummary", "check_text_column", "score_file", "score_frame"]

logger = logging.getLogger(__name__)


def check_text_column(columns: list[str], text_column: str, *, owner: str) -> None:
    """Raise a clear error if ``text_column`` is not among ``columns``.

    Examples
    --------
    >>> check_text_column(["Stage", "Loss Notes"], "Loss Note", owner="score_file")
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    accountability_nlp.errors.ColumnNotFoundError: The 'text_column' parameter of score_file must be
    one of ['Stage', 'Loss Notes']. Got 'Loss Note' instead. Did you mean 'Loss Notes'?
    """
    if text_column in columns:
        return
    message = (
        f"The 'text_column' parameter of {owner} must be one of {list(columns)}. "
        f"Got {text_column!r} instead."
    )
    hint = closest_match(text_column, [str(c) for c in columns])
    if hint is not None:
        message += f" Did you mean {hint!r}?"
    raise ColumnNotFoundError(message)


def score_frame(
    frame: pd.DataFrame, model: Model, *, text_column: str, prefix: str = ""
) -> pd.DataFrame:
    """Return ``frame`` with the score columns appended, row for row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The notes with any other columns; all are kept, in order.
    model : Model
        The model to score with.
    text_column : str
        The column holding the note text.
    prefix : str, default=""
        Put before each score column name, e.g. ``"anlp_"``, when the input
        already has columns called ``label``, ``status``...

    Returns
    -------
    pandas.DataFrame
        The input columns followed by ``label``, ``p_ownership``,
        ``p_deflection``, ``p_victim``, ``needs_review``, ``evidence`` and
        ``status`` (each with ``prefix``). Same index and length as ``frame``.

    Raises
    ------
    ColumnNotFoundError
        If ``text_column`` is not a column of ``frame``.
    InputFormatError
        If a score column would overwrite an input column.
    """
    check_text_column(list(frame.columns), text_column, owner="score_frame")
    names = _score_names(frame.columns, prefix)
    return _attach(frame, _score_chunk(model.score, frame, text_column), names)


def _score_names(columns: Iterable[Any], prefix: str) -> list[str]:
    names = [prefix + column for column in SCORE_COLUMNS]
    clash = [name for name in names if name in set(columns)]
    if clash:
        raise InputFormatError(
            f"The input already has columns {clash}, which scoring would overwrite. "
            "Pass prefix='anlp_' (CLI: --prefix anlp_) to name the score columns apart."
        )
    return names


def _score_chunk(
    score: Callable[[list[Any]], pd.DataFrame], frame: pd.DataFrame, text_column: str
) -> pd.DataFrame:
    """Scores of one chunk; rows the reader could not parse are marked, not scored."""
    texts = frame[text_column].tolist()
    malformed: dict[int, str] = frame.attrs.get(MALFORMED_ROWS, {})
    for position in malformed:
        texts[position] = None
    scores = score(texts)
    if malformed:
        status = scores.columns.get_loc("status")
        for position, reason in malformed.items():
            scores.iloc[position, status] = f"unscorable: {reason}"
    return scores


def _attach(frame: pd.DataFrame, scores: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    scores.columns = names
    scores.index = frame.index
    return pd.concat([frame, scores], axis=1)


# -- score_file ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_file` did.

    Attributes
    ----------
    rows : int
        Rows written, equal to the rows read.
    scored : int
        Rows that got a label.
    unscorable : dict of str to int
        Rows without a label, by reason (``"empty note"``, ...).
    labels : dict of str to int
        Scored rows per label.
    needs_review : int
        Scored rows flagged for review (low confidence).
    seconds : float
        Wall time of this run.
    notes_per_second : float
        Rows handled by this run per second.
    output : str
        Where the output is: a path or a table.
    resumed_rows : int
        Rows already done by the interrupted run this one resumed.

    Examples
    --------
    >>> print(ScoreSummary(rows=4, scored=3, unscorable={"empty note": 1},
    ...                    labels={"ownership": 1, "victim": 2}, needs_review=1,
    ...                    seconds=2.0, notes_per_second=2.0, output="scored.csv"))
    4 rows in 2.0 s (2 notes/s): 3 scored, 1 unscorable (1 empty note)
    Labels: ownership 1 (33.3%), victim 2 (66.7%); 1 flagged for review
    Output: scored.csv
    """

    rows: int
    scored: int
    unscorable: dict[str, int]
    labels: dict[str, int]
    needs_review: int
    seconds: float
    notes_per_second: float
    output: str
    resumed_rows: int = 0

    def __str__(self) -> str:
        missing = sum(self.unscorable.values())
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in self.unscorable.items())
        first = (
            f"{self.rows:,} rows in {self.seconds:.1f} s ({self.notes_per_second:,.0f} notes/s): "
            f"{self.scored:,} scored, {missing:,} unscorable" + (f" ({reasons})" if reasons else "")
        )
        if self.resumed_rows:
            first += f"; resumed after {self.resumed_rows:,} rows"
        mix = ", ".join(
            f"{label} {n:,} ({n / self.scored:.1%})" for label, n in self.labels.items()
        )
        lines = [first]
        if mix:
            lines.append(f"Labels: {mix}; {self.needs_review:,} flagged for review")
        return "\n".join([*lines, f"Output: {self.output}"])


@dataclass
class _Totals:
    rows: int = 0
    scored: int = 0
    unscorable: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    needs_review: int = 0

    def add(self, scores: pd.DataFrame) -> None:
        self.rows += len(scores)
        for status, n in scores["status"].value_counts(sort=False).items():
            if status == "scored":
                self.scored += int(n)
            else:
                self.unscorable[str(status).removeprefix("unscorable: ")] += int(n)
        self.labels.update({str(k): int(n) for k, n in scores["label"].value_counts().items()})
        self.needs_review += int(scores["needs_review"].sum())

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "scored": self.scored,
            "unscorable": dict(self.unscorable),
            "labels": dict(self.labels),
            "needs_review": self.needs_review,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Totals:
        return cls(
            rows=data.get("rows", 0),
            scored=data.get("scored", 0),
            unscorable=Counter(data.get("unscorable", {})),
            labels=Counter(data.get("labels", {})),
            needs_review=data.get("needs_review", 0),
        )


def score_file(
    input: str | Path | None,
    output: str | Path | None = None,
    *,
    text_column: str,
    model: Model | str | Path | None = None,
    chunk_size: int = 2000,
    workers: int = 1,
    resume: bool = False,
    prefix: str = "",
    input_format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    sql: str | None = None,
    query: str | None = None,
    table: str | None = None,
    output_table: str | None = None,
    progress: bool | None = None,
) -> ScoreSummary:
    """Score every row of a file or SQL table into an output file or table.

    Rows stream through chunk by chunk, so memory does not grow with the
    input. The output has every input column in order, then the score columns
    of :meth:`Model.score <accountability_nlp.Model.score>`, and exactly one
    row per input row in input order, duplicates included. It appears under
    its name only when complete.

    Parameters
    ----------
    input : str, Path or None
        ``.csv``, ``.tsv``, ``.jsonl``, ``.xlsx`` or ``.parquet`` file, ``"-"``
        for standard input, or None with ``sql`` and ``query`` or ``table``.
    output : str or Path, optional
        ``.csv``, ``.tsv``, ``.jsonl``, ``.xlsx`` or ``.parquet`` file; or
        None with ``sql`` and ``output_table``.
    text_column : str
        The column holding the notes.
    model : Model, str or Path, optional
        A model or a model folder; the bundled model by default.
    chunk_size : int, default=2000
        Rows per chunk.
    workers : int, default=1
        Processes scoring chunks in parallel; each loads the model once.
        The output is the same, byte for byte, whatever the number.
    resume : bool, default=False
        Continue an interrupted run with the same input and settings from
        its last completed chunk; the output is then byte-identical to that
        of an uninterrupted run. Needs an input file and a ``.csv``, ``.tsv``
        or ``.jsonl`` output. Without a previous run it starts afresh.
    prefix : str, default=""
        Put before each score column name, e.g. ``"anlp_"``.
    input_format, encoding, delimiter, sheet
        How to read the input; see :func:`accountability_nlp.io.read_chunks`.
    sql : str, optional
        SQLAlchemy URL of the database that ``query``/``table`` read from and
        ``output_table`` is written to.
    query, table : str, optional
        What to read from ``sql`` instead of a file.
    output_table : str, optional
        Table of ``sql`` to write instead of a file; replaced if it exists.
    progress : bool, optional
        True: a progress bar on stderr; False: nothing; None: a bar when
        stderr is a terminal, otherwise a log line per chunk (at most one
        every few seconds).

    Returns
    -------
    ScoreSummary

    Raises
    ------
    ColumnNotFoundError
        If ``text_column`` is not in the input (the message lists the columns).
    InputFormatError
        If the input cannot be read, a score column would overwrite an input
        column, or a resume is impossible.
    ValueError
        If arguments contradict each other.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "crm.csv").write_text("id,note\\n1,Lost on price.\\n2,\\n")
    >>> summary = score_file(folder / "crm.csv", folder / "scored.csv", text_column="note",
    ...                      progress=False)
    >>> summary.rows, summary.scored, summary.unscorable
    (2, 1, {'empty note': 1})
    >>> (folder / "scored.csv").read_text().splitlines()[0]
    'id,note,label,p_ownership,p_deflection,p_victim,needs_review,evidence,status'
    """
    started = time.perf_counter()
    for param, value in (("chunk_size", chunk_size), ("workers", workers)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"The {param!r} parameter of score_file must be a positive int. "
                f"Got {value!r} instead."
            )
    reads_sql = query is not None or table is not None
    _check_destination(
        input, output, sql=sql, table=table, output_table=output_table, reads_sql=reads_sql
    )
    chunks = read_chunks(
        None if reads_sql else input,
        input_format=input_format,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        sql=sql if reads_sql else None,
        query=query,
        table=table,
        chunk_size=chunk_size,
    )
    out_format = "sql" if output is None else output_format_of(output)
    # A run that could be resumed always keeps its resume state, so that a run
    # killed without resume=True can still be continued.
    resumable = (
        input is not None
        and str(input) != "-"
        and not reads_sql
        and out_format in APPENDABLE_FORMATS
    )
    if resume and not resumable:
        raise ValueError(
            "resume=True needs an input file (not standard input or SQL) and a .csv, .tsv "
            f"or .jsonl output (they are appended to); the output is {out_format}. "
            "Run without resume."
        )
    first = next(chunks)
    check_text_column(list(first.columns), text_column, owner="score_file")
    names = _score_names(first.columns, prefix)
    # With workers, only they load the model: this process reads and writes.
    if isinstance(model, (str, Path)) or model is None:
        model_path = default_model_path() if model is None else Path(model)
        meta = read_model_meta(model_path)  # a bad folder fails here, before any work
        loaded: Model | Path = model_path if workers > 1 else _load(model_path)
    else:
        meta, loaded = model.meta, model
    checkpoint = None
    if resumable and output is not None and input is not None:
        settings = {
            "text_column": text_column,
            "chunk_size": chunk_size,
            "prefix": prefix,
            "input_format": input_format,
            "encoding": encoding,
            "delimiter": delimiter,
            "sheet": sheet,
            "output_format": out_format,
            "model": _model_fingerprint(meta),
            "library": _library_version(),
        }
        checkpoint = _start_checkpoint(Path(output), Path(input), settings, resume)
    skip = checkpoint.chunks_done if checkpoint else 0
    totals = _Totals.from_json(checkpoint.totals if checkpoint else {})
    resumed_rows = totals.rows
    if skip:
        logger.info("Resuming after %d chunks (%d rows).", skip, resumed_rows)
    writer = (
        open_writer(sql=sql, table=output_table)
        if output_table is not None
        else open_writer(
            output, resume_offset=checkpoint.partial_bytes if checkpoint and skip else None
        )
    )
    scored = _scored_chunks(
        itertools.islice(itertools.chain([first], chunks), skip, None),  # skip: already written
        loaded,
        text_column,
        workers,
    )
    _write_all(scored, writer, names, totals, checkpoint, output, progress)
    seconds = time.perf_counter() - started
    return ScoreSummary(
        rows=totals.rows,
        scored=totals.scored,
        unscorable=dict(totals.unscorable),
        labels=dict(sorted(totals.labels.items())),
        needs_review=totals.needs_review,
        seconds=seconds,
        notes_per_second=(totals.rows - resumed_rows) / seconds if seconds > 0 else 0.0,
        output=writer.location,
        resumed_rows=resumed_rows,
    )


def _write_all(
    scored: Generator[tuple[pd.DataFrame, pd.DataFrame], None, None],
    writer: TableWriter,
    names: list[str],
    totals: _Totals,
    checkpoint: Checkpoint | None,
    output: str | Path | None,
    progress: bool | None,
) -> None:
    """Write every scored chunk, checkpointing after each, and commit."""
    state_path = progress_path(output) if checkpoint is not None and output else None
    done = checkpoint.chunks_done if checkpoint else 0
    meter = _Progress(progress, initial=totals.rows)
    try:
        for frame, scores in scored:
            totals.add(scores)
            writer.write(_attach(frame, scores, names))
            done += 1
            if checkpoint is not None and state_path is not None:
                checkpoint.partial_bytes = writer.sync() or 0
                checkpoint.chunks_done = done
                checkpoint.totals = totals.as_json()
                checkpoint.save(state_path)
            meter.update(done, totals.rows)
    except BaseException:
        scored.close()  # stops the worker processes, if any
        meter.close()
        keep = state_path is not None and done > 0
        writer.abort(keep_partial=keep)
        if keep:
            logger.warning(
                "Stopped after %d chunks; the partial output is kept. Run again with "
                "resume=True (CLI: --resume) to continue.",
                done,
            )
        elif state_path is not None:
            state_path.unlink(missing_ok=True)
        raise
    meter.close()
    if state_path is not None:
        # Removed before the rename: a kill in between leaves a partial file
        # without state, which the next run simply starts over.
        state_path.unlink(missing_ok=True)
    writer.commit()


def _check_destination(
    input: str | Path | None,
    output: str | Path | None,
    *,
    sql: str | None,
    table: str | None,
    output_table: str | None,
    reads_sql: bool,
) -> None:
    if reads_sql and input is not None:
        raise ValueError(
            "score_file reads either a file (input) or a database (sql= with query= or "
            f"table=), not both. Got input={str(input)!r} as well; pass input=None."
        )
    if output_table is not None:
        if sql is None or output is not None:
            raise ValueError(
                "The 'output_table' parameter of score_file needs sql= (the database URL) "
                "and no output file."
            )
        if output_table == table:
            raise ValueError(
                "The 'output_table' parameter of score_file must differ from 'table'. "
                f"Got {table!r} for both. Write the scores to a new table."
            )
    elif output is None:
        raise ValueError("score_file needs an output file, or sql= with output_table=.")
    elif (
        input is not None and str(input) != "-" and Path(output).resolve() == Path(input).resolve()
    ):
        raise ValueError(
            "The 'output' parameter of score_file must differ from 'input'. "
            f"Got {str(output)!r} for both. Write the scores to a new file."
        )


def _model_fingerprint(meta: dict[str, Any]) -> str:
    text = json.dumps(meta, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _load(path: Path) -> Model:
    from .model import load

    return load(path)


def _library_version() -> str:
    try:
        return version("accountability-nlp")
    except PackageNotFoundError:  # a source tree without install
        return "0+unknown"


def _start_checkpoint(
    output: Path, input: Path, settings: dict[str, Any], resume: bool
) -> Checkpoint:
    digest = file_sha256(input)
    state_path = progress_path(output)
    previous = Checkpoint.load(state_path) if resume else None
    if previous is not None:
        previous.check_resumable(
            input_sha256=digest, settings=settings, partial=partial_path(output)
        )
        return previous
    if resume:
        logger.info("Nothing to resume for this output; starting from the first row.")
    checkpoint = Checkpoint(digest, settings)
    checkpoint.save(state_path)
    return checkpoint


# -- parallel scoring ---------------------------------------------------------------

# The model of a worker process, set once by _init_worker.
_WORKER_MODEL: Model | None = None
# Why the model could not be loaded (an untrusted file...), raised with the
# first chunk so the caller sees the same error as with one process.
_WORKER_ERROR: AccountabilityError | None = None
# New objects between two garbage collections in a worker (Python's default: 700).
_GC_THRESHOLD = 20_000


def _init_worker(model: Model | Path) -> None:
    global _WORKER_MODEL, _WORKER_ERROR
    try:
        _WORKER_MODEL = _load(model) if isinstance(model, Path) else model
    except AccountabilityError as error:
        _WORKER_ERROR = error
    # This process is ours and its model lives until it exits: moving what is
    # loaded out of the garbage collector's view saves it rescanning a few
    # hundred thousand objects every full collection.
    gc.freeze()
    # Scoring makes no reference cycles (a run of 40,000 notes: 1,475
    # collections, 0 objects collected), yet the default threshold starts a
    # collection every 700 new objects: ~2% of a worker's time.
    gc.set_threshold(_GC_THRESHOLD, *gc.get_threshold()[1:])


def _score_in_worker(texts: list[Any]) -> pd.DataFrame:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    if _WORKER_MODEL is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker started without a model")
    return _WORKER_MODEL.score(texts)


def _scored_chunks(
    chunks: Iterator[pd.DataFrame], model: Model | Path, text_column: str, workers: int
) -> Generator[tuple[pd.DataFrame, pd.DataFrame], None, None]:
    """Each chunk with its scores, in input order (``model``: a Model, or a folder
    for the workers to load)."""
    if workers == 1:
        assert not isinstance(model, Path)
        for frame in chunks:
            yield frame, _score_chunk(model.score, frame, text_column)
        return
    # "spawn": forking a process that has threads (tqdm's monitor, BLAS pools)
    # can deadlock. Each worker loads (or unpickles) the model once, in the
    # initializer.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model,),
    )
    # At most two chunks per worker in flight: memory stays flat and results
    # are taken in submission order, which is input order.
    pending: deque[tuple[pd.DataFrame, Future[pd.DataFrame]]] = deque()
    try:
        for frame in chunks:
            # only the notes travel to the worker (with the malformed-row marks)
            notes = frame[[text_column]]
            pending.append((frame, pool.submit(_score_chunk, _score_in_worker, notes, text_column)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- progress -----------------------------------------------------------------------

_LOG_EVERY_SECONDS = 5.0


class _Progress:
    """A tqdm bar on a terminal, log lines elsewhere, or nothing."""

    def __init__(self, enabled: bool | None, *, initial: int) -> None:
        self._bar: Any = None
        self._log = enabled is None and not sys.stderr.isatty()
        self._started = self._logged = time.monotonic()
        self._initial = initial
        if enabled or (enabled is None and not self._log):
            from tqdm import tqdm

            self._bar = tqdm(initial=initial, unit=" notes", file=sys.stderr, dynamic_ncols=True)

    def update(self, chunk: int, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(rows - self._bar.n)
            return
        now = time.monotonic()
        if self._log and (chunk == 1 or now - self._logged >= _LOG_EVERY_SECONDS):
            rate = (rows - self._initial) / max(now - self._started, 1e-9)
            logger.info("chunk %d: %d rows so far, %.0f notes/s", chunk, rows, rate)
            self._logged = now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
