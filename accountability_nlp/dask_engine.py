"""Scoring on a Dask cluster: the same rows and scores as local scoring, spread out.

Each partition is scored with :func:`~accountability_nlp.scoring.score_frame`.
The model is never pickled on the client and shipped with the tasks: each
worker process loads it from ``model_path`` the first time it needs it and
keeps it in :data:`_MODELS`, so a cluster of N workers loads it N times
whatever the number of partitions.

Dask is an optional extra (``pip install "accountability-nlp[dask]"``); this
module imports it only inside the functions that need it. On a remote cluster
every worker must have ``accountability_nlp`` installed and be able to read
the input file and ``model_path`` at the same paths as the client. The output
file is written by the client, partition by partition, in input order.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .errors import InputFormatError
from .model import SCORE_COLUMNS, Model, load
from .scoring import ScoreSummary, _Totals, check_text_column, score_frame

if TYPE_CHECKING:
    import dask.dataframe as dd
    import distributed

__all__ = ["score_dask", "score_file_dask"]

logger = logging.getLogger(__name__)

_INSTALL = 'pip install "accountability-nlp[dask]"'
#: Input and output formats, by file suffix.
_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_DEFAULT_KEY = "<bundled default model>"

# The dtype pandas gives a column of Python strings: ``str`` on pandas 3,
# ``object`` before. Model.score returns its text columns with it.
_TEXT_DTYPE = pd.Series(["text"]).dtype
#: Dtype of each score column, as Model.score returns them for a non-empty batch.
#: Partitions are cast to these so that empty and full partitions agree with meta.
_SCORE_DTYPES: dict[str, Any] = {
    column: (
        np.dtype("float64")
        if column.startswith("p_")
        else np.dtype("bool")
        if column == "needs_review"
        else np.dtype("object")
        if column == "label"  # None for unscorable notes
        else _TEXT_DTYPE
    )
    for column in SCORE_COLUMNS
}

# Worker-side cache: one Model per model path per process, with the stamp of
# the folder it was read from. Guarded by a lock because a worker with several
# threads may start several partitions at once.
_MODELS: dict[str, tuple[int, Model]] = {}
_LOADS: Counter[str] = Counter()
_LOCK = threading.Lock()


def _require_dask(owner: str) -> Any:
    """Import and return ``dask.dataframe``, or fail with the install command."""
    try:
        import dask.dataframe
    except ImportError as error:
        raise ImportError(f"{owner} needs Dask. Install it with: {_INSTALL}") from error
    return dask.dataframe


def _require_distributed(owner: str) -> Any:
    """Import and return ``distributed``, or fail with the install command."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(f"{owner} needs Dask. Install it with: {_INSTALL}") from error
    return distributed


def _folder_stamp(model_path: str | None) -> int:
    """When the model folder was last written (0 for the bundled or a missing one).

    Model folders are replaced whole, ``meta.json`` included, so a model
    retrained in place on a long-lived cluster is picked up by its stamp.
    """
    if model_path is None:
        return 0
    try:
        return (Path(model_path) / "meta.json").stat().st_mtime_ns
    except OSError:
        return 0  # load() reports the missing folder with a clear message


def _worker_model(model_path: str | None) -> Model:
    """The model for ``model_path``, loaded once in this process and then reused."""
    key = _DEFAULT_KEY if model_path is None else model_path
    stamp = _folder_stamp(model_path)
    with _LOCK:
        cached = _MODELS.get(key)
        if cached is None or cached[0] != stamp:
            logger.info("Loading model %s in process %d", key, os.getpid())
            cached = (stamp, load(model_path))
            _MODELS[key] = cached
            _LOADS[key] += 1
    return cached[1]


def _load_counts() -> dict[str, int]:
    """How many times this process loaded each model (for tests and diagnostics).

    Run it on every worker with ``client.run(_load_counts)``.
    """
    with _LOCK:
        return dict(_LOADS)


class _MetaScorer:
    """Stands in for a Model when computing the output of an empty frame.

    Running :func:`score_frame` on Dask's empty ``meta`` frame with it gives
    the output columns, their order and the clash check without loading a
    model on the client.
    """

    def score(self, texts: Any) -> pd.DataFrame:
        return pd.DataFrame(
            {column: pd.Series(dtype=dtype) for column, dtype in _SCORE_DTYPES.items()}
        )


def _score_partition(
    part: pd.DataFrame,
    *,
    text_column: str,
    model_path: str | None,
    prefix: str,
) -> pd.DataFrame:
    scored = score_frame(part, _worker_model(model_path), text_column=text_column, prefix=prefix)
    return scored.astype({prefix + c: dtype for c, dtype in _SCORE_DTYPES.items()})


def score_dask(
    ddf: dd.DataFrame,
    *,
    text_column: str,
    model_path: str | os.PathLike[str] | None = None,
    prefix: str = "",
) -> dd.DataFrame:
    """Score a Dask DataFrame partition by partition; lazy like any Dask operation.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The notes with any other columns; all are kept, in order.
    text_column : str
        The column holding the note text.
    model_path : str or Path, optional
        Model folder, read by each worker (it must exist at this path on
        every worker). None loads the bundled default model.
    prefix : str, default=""
        Put before each score column name, as in :func:`score_frame`.

    Returns
    -------
    dask.dataframe.DataFrame
        The input columns followed by the score columns; once computed, the
        same rows, order and values as :func:`score_frame` on the whole table.

    Raises
    ------
    ImportError
        If Dask is not installed.
    TypeError
        If ``ddf`` is not a Dask DataFrame.
    ColumnNotFoundError
        If ``text_column`` is not a column of ``ddf``.
    InputFormatError
        If a score column would overwrite an input column.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from accountability_nlp.dask_engine import score_dask
    >>> notes = pd.DataFrame({"id": ["1", "2"], "note": ["My fault, I never qualified.", ""]})
    >>> scored = score_dask(dd.from_pandas(notes, npartitions=2), text_column="note")
    >>> scored.compute(scheduler="sync")[["id", "label", "status"]]
      id      label                  status
    0  1  ownership                  scored
    1  2       None  unscorable: empty note
    """
    dask_dataframe = _require_dask("score_dask")
    if not isinstance(ddf, dask_dataframe.DataFrame):
        raise TypeError(
            "The 'ddf' parameter of score_dask must be a dask.dataframe.DataFrame. "
            f"Got {type(ddf).__name__} instead. For a pandas DataFrame use "
            "score_frame, or wrap it with dask.dataframe.from_pandas."
        )
    check_text_column([str(c) for c in ddf.columns], text_column, owner="score_dask")
    meta = score_frame(
        ddf._meta, cast(Model, _MetaScorer()), text_column=text_column, prefix=prefix
    )
    return ddf.map_partitions(
        _score_partition,
        text_column=text_column,
        model_path=None if model_path is None else os.fspath(model_path),
        prefix=prefix,
        meta=meta,
    )


# -- reading ---------------------------------------------------------------------


def _format_of(path: Path, *, param: str) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFormatError(
            f"The {param!r} parameter of score_file_dask must be a file ending in one of "
            f"{sorted(_FORMATS)}. Got {path.name!r} instead. Convert the file, or use "
            "the local engine for other formats."
        )
    return fmt


def _record_ends(path: Path, targets: Iterator[int], chunk_size: int = 1 << 24) -> list[int]:
    """Byte offsets just after the first CSV record end at or after each target.

    A record ends at a newline outside double quotes. Quote parity is tracked
    from the start of the file, so notes holding line breaks inside quotes
    (common in CRM exports) are never cut in two; a doubled quote inside a
    quoted field flips parity twice and so changes nothing. ``targets`` must
    increase; it is consumed lazily and may be endless.
    """
    ends: list[int] = []
    target = next(targets, None)
    in_quotes = False
    offset = 0  # file offset of chunk[0]
    with path.open("rb") as handle:
        while target is not None:
            chunk = handle.read(chunk_size)
            if not chunk:
                break
            pos = 0
            while target is not None:
                start = max(pos, target - offset)
                if start >= len(chunk):
                    break
                in_quotes ^= bool(chunk.count(b'"', pos, start) & 1)
                newline = chunk.find(b"\n", start)
                if newline == -1:
                    pos = start
                    break
                in_quotes ^= bool(chunk.count(b'"', start, newline) & 1)
                pos = newline + 1
                if not in_quotes:
                    ends.append(offset + pos)
                    target = next(targets, None)
                    while target is not None and target < offset + pos:
                        target = next(targets, None)
            in_quotes ^= bool(chunk.count(b'"', pos) & 1)
            offset += len(chunk)
    return ends


def _csv_ranges(path: Path, blocksize: int) -> tuple[bytes, list[tuple[int, int]]]:
    """The header bytes, and byte ranges of whole records of about ``blocksize``."""
    size = path.stat().st_size
    header_end = (_record_ends(path, iter([0])) or [size])[0]
    with path.open("rb") as handle:
        header = handle.read(header_end)
    if not header.endswith(b"\n"):
        header += b"\n"
    targets = iter(range(header_end + blocksize, size, blocksize))
    bounds = [header_end, *_record_ends(path, targets)]
    if bounds[-1] < size:
        bounds.append(size)
    ranges = [(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    return header, ranges or [(header_end, header_end)]


def _read_csv_part(byte_range: tuple[int, int], *, path: str, header: bytes) -> pd.DataFrame:
    start, end = byte_range
    with open(path, "rb") as handle:
        handle.seek(start)
        body = handle.read(end - start)
    try:
        return pd.read_csv(
            io.BytesIO(header + body),
            dtype=str,
            keep_default_na=False,  # "NA" or "None" in a note is text, not missing
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as error:
        raise InputFormatError(
            f"The 'input' file of score_file_dask must be UTF-8 text; the bytes between "
            f"offsets {start} and {end} are not ({error.reason}). Convert the file to "
            "UTF-8 first, e.g. with: iconv -f cp1252 -t utf-8 in.csv > out.csv"
        ) from None


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    # The nullable "string" dtype keeps missing values missing (astype(str)
    # on pandas 2 would turn None into the note "None").
    return frame.astype("string")


def _read(path: Path, fmt: str, blocksize: int) -> dd.DataFrame:
    dask_dataframe = _require_dask("score_file_dask")
    if fmt == "csv":
        header, ranges = _csv_ranges(path, blocksize)
        first = ranges[0][0]
        meta = _read_csv_part((first, first), path=str(path), header=header)
        return dask_dataframe.from_map(
            _read_csv_part,
            ranges,
            path=str(path),
            header=header,
            meta=meta,
            label="read-csv-records",
            enforce_metadata=False,
        )
    if fmt == "parquet":
        ddf = dask_dataframe.read_parquet(str(path))
    else:
        ddf = dask_dataframe.read_json(str(path), lines=True, blocksize=blocksize, dtype=False)
    meta = _as_text(ddf._meta)
    return ddf.map_partitions(_as_text, meta=meta)


# -- writing ---------------------------------------------------------------------


class _Writer:
    """Append scored partitions, in order, to one CSV, JSONL or Parquet file."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._handle: Any = None
        self._parquet: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                # Fixed types, not inferred: an all-empty first partition
                # would otherwise give null columns that later ones break.
                schema = pa.schema(
                    [
                        (
                            str(name),
                            pa.float64()
                            if dtype.kind == "f"
                            else pa.bool_()
                            if dtype.kind == "b"
                            else pa.string(),
                        )
                        for name, dtype in frame.dtypes.items()
                    ]
                )
                self._parquet = pq.ParquetWriter(self.path, schema)
            table = pa.Table.from_pandas(frame, schema=self._parquet.schema, preserve_index=False)
            self._parquet.write_table(table)
            return
        first = self._handle is None
        if first:
            self._handle = self.path.open("w", encoding="utf-8", newline="")
        if self.fmt == "csv":
            frame.to_csv(self._handle, index=False, header=first, lineterminator="\n")
        elif len(frame):
            frame.to_json(self._handle, orient="records", lines=True, force_ascii=False)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._handle is not None:
            self._handle.close()


def _parse_blocksize(blocksize: int | str) -> int:
    from dask.utils import parse_bytes

    try:
        nbytes = parse_bytes(blocksize) if isinstance(blocksize, str) else int(blocksize)
    except (ValueError, TypeError):
        nbytes = 0
    if nbytes < 1024:
        raise ValueError(
            "The 'blocksize' parameter of score_file_dask must be a size of at least "
            f"1024 bytes, like 33554432 or '32MiB'. Got {blocksize!r} instead."
        )
    return nbytes


@contextmanager
def _client(scheduler: str | None) -> Iterator[distributed.Client]:
    distributed = _require_distributed("score_file_dask")
    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    # One single-threaded process per core: scoring holds the GIL. ":0" puts
    # the scheduler's HTTP server on a free port: the default 8787 may be taken.
    with (
        distributed.LocalCluster(
            processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def score_file_dask(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    text_column: str,
    scheduler: str | None = None,
    model_path: str | os.PathLike[str] | None = None,
    prefix: str = "",
    blocksize: int | str = "32MiB",
) -> ScoreSummary:
    """Score a CSV, Parquet or JSONL file on a Dask cluster into one output file.

    Parameters
    ----------
    input : str or Path
        ``.csv`` (UTF-8), ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``. All
        columns are read as text. On a remote cluster the workers read it, so
        it must be at this path on every worker.
    output : str or Path
        ``.csv``, ``.parquet``/``.pq`` or ``.jsonl``/``.ndjson``, written by
        this process: rows in input order, input columns then score columns.
        It appears complete or not at all (written to a temporary file, then
        renamed).
    text_column : str
        The column holding the note text.
    scheduler : str, optional
        Address of a Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``. None
        starts a local cluster with one single-threaded worker per core.
    model_path : str or Path, optional
        Model folder, loaded once by each worker. None: the bundled model.
    prefix : str, default=""
        Put before each score column name.
    blocksize : int or str, default="32MiB"
        Bytes of CSV or JSONL per partition, as a number or a string such as
        ``"64MB"`` (Parquet partitions follow its row groups).

    Returns
    -------
    ScoreSummary
        Rows, scored rows, unscorable rows by reason, labels, rows flagged
        for review, wall time (cluster start-up included) and the output
        path: the same summary as :func:`~accountability_nlp.scoring.score_file`.

    Raises
    ------
    ImportError
        If Dask or distributed is not installed.
    FileNotFoundError
        If ``input`` does not exist.
    InputFormatError
        If a suffix is not supported, the output would overwrite the input,
        a CSV is not UTF-8, or a score column would overwrite an input column.
    ColumnNotFoundError
        If ``text_column`` is not a column of the input.
    """
    started = time.perf_counter()
    source, target = Path(input), Path(output)
    in_fmt = _format_of(source, param="input")
    out_fmt = _format_of(target, param="output")
    if not source.is_file():
        raise FileNotFoundError(
            f"The 'input' parameter of score_file_dask must be an existing file. "
            f"Got {str(source)!r}, which does not exist."
        )
    if target.exists() and target.resolve() == source.resolve():
        raise InputFormatError(
            "The 'output' parameter of score_file_dask must differ from 'input'. "
            f"Got {str(target)!r} for both. Write the scores to a new file."
        )
    _require_dask("score_file_dask")
    _require_distributed("score_file_dask")
    nbytes = _parse_blocksize(blocksize)
    totals = _Totals()
    # _Totals reads the unprefixed score column names.
    counted = {prefix + c: c for c in ("label", "needs_review", "status")}
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    writer = _Writer(temporary, out_fmt)
    with _client(scheduler) as client:
        # Absolute paths: workers need not share this process's working folder.
        scored = score_dask(
            _read(source.resolve(), in_fmt, nbytes),
            text_column=text_column,
            model_path=None if model_path is None else Path(model_path).resolve(),
            prefix=prefix,
        )
        parts = scored.to_delayed()
        logger.info("Scoring %d partition(s) on %s", len(parts), client.scheduler.address)
        # Everything is submitted at once (the scheduler favours partitions in
        # order) and each result is released once written: the client holds
        # one partition at a time, and workers keep a result only until the
        # client, which writes faster than they score, has taken it.
        pending = list(client.compute(parts))
        pending.reverse()  # pop() from the end takes them in input order
        try:
            while pending:
                frame = pending.pop().result()
                writer.write(frame)
                totals.add(frame[list(counted)].rename(columns=counted))
            writer.close()
            os.replace(temporary, target)
        except BaseException:
            writer.close()
            temporary.unlink(missing_ok=True)
            client.cancel(pending)
            raise
    seconds = time.perf_counter() - started
    return ScoreSummary(
        rows=totals.rows,
        scored=totals.scored,
        unscorable=dict(totals.unscorable),
        labels=dict(totals.labels),
        needs_review=totals.needs_review,
        seconds=seconds,
        notes_per_second=totals.rows / seconds if seconds > 0 else 0.0,
        output=str(target),
    )
