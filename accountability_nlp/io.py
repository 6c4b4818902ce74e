"""Read tables of notes in chunks; write scored tables atomically.

Readers yield :class:`pandas.DataFrame` chunks of at most ``chunk_size``
rows, so memory stays flat however large the input. They keep values as the
source holds them: CSV and TSV cells are read as text (``"N/A"`` stays
``"N/A"``, an empty cell is ``""``, ``007`` keeps its zeros), while JSONL,
Excel, Parquet and SQL keep the types the source gives (a JSON number stays
a number, and a note that is a number is later marked unscorable).

Every input row comes out. A CSV row that cannot be parsed as the header says
(wrong number of fields, a quote that never closes, as in a truncated file)
is still yielded, its cells filled as far as they go, and its position is
listed in ``frame.attrs[MALFORMED_ROWS]`` with the reason, so the scorer marks
it ``unscorable: <reason>`` instead of guessing. JSONL lines that are not a
JSON object are handled the same way. The line numbers go to the log.

CSV is parsed with the standard library's C ``csv`` module rather than
``pandas.read_csv``: pandas either raises on a bad row or drops it, can only
hand bad rows to Python in its slow engine, and cannot recover from a quote
that never closes. The ``csv`` module costs about the same per row here and
lets each broken record be re-read on its own.

Writers append chunk after chunk to a file beside the output and move it onto
the output name only when the run completes (``os.replace``), so an
interrupted run never leaves a half-written file under the output name.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import decimal
import io
import itertools
import json
import logging
import math
import os
import secrets
import shutil
import sys
import tempfile
import unicodedata
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import pandas as pd

from .errors import InputFormatError, check_one_of, closest_match

__all__ = [
    "APPENDABLE_FORMATS",
    "INPUT_FORMATS",
    "MALFORMED_ROWS",
    "OUTPUT_FORMATS",
    "TableWriter",
    "detect_encoding",
    "input_format_of",
    "open_writer",
    "output_format_of",
    "partial_path",
    "read_chunks",
]

logger = logging.getLogger(__name__)

#: Key of ``DataFrame.attrs`` mapping row positions to why the row is malformed.
MALFORMED_ROWS = "malformed_rows"
INPUT_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl", "xlsx", "parquet")
OUTPUT_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl", "xlsx", "parquet")
#: Output formats a killed run can be resumed in: plain appends.
APPENDABLE_FORMATS = frozenset({"csv", "tsv", "jsonl"})

_INPUT_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_OUTPUT_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
}
_TEXT_FORMATS = ("csv", "tsv", "jsonl")
_SAMPLE_BYTES = 64 * 1024
_SCAN_BYTES = 1024 * 1024
# A quoted CSV field longer than this is taken for a quote that never closes.
_MAX_FIELD_CHARS = 16 * 1024 * 1024
_MAX_LOGGED_PROBLEMS = 10
_EXCEL_MAX_ROWS = 1_048_576

_TOO_FEW = "malformed row (too few fields)"
_TOO_MANY = "malformed row (too many fields)"
_UNCLOSED = "malformed row (unclosed quote)"
_BAD_JSON = "malformed JSON line"
_BEYOND_HEADER = "malformed row (cells beyond the header)"


# -- formats --------------------------------------------------------------------------


def input_format_of(source: str | Path, given: str | None = None) -> str:
    """The input format: ``given`` if set, else from the file extension.

    Examples
    --------
    >>> input_format_of("crm.TSV"), input_format_of("export.txt", "csv")
    ('tsv', 'csv')
    """
    if given is not None:
        check_one_of(given, INPUT_FORMATS, param="input_format", owner="read_chunks")
        return given
    suffix = Path(source).suffix.lower()
    if suffix in _INPUT_SUFFIXES:
        return _INPUT_SUFFIXES[suffix]
    raise InputFormatError(
        f"Cannot tell the format of {str(source)!r} from its extension "
        f"{suffix or '(none)'!r}: expected one of {sorted(_INPUT_SUFFIXES)}. "
        "If the file is one of these, pass input_format='csv' (CLI: --format csv); "
        "an old .xls workbook has to be saved as .xlsx or .csv first."
    )


def output_format_of(output: str | Path) -> str:
    """The output format, from the output file's extension.

    Examples
    --------
    >>> output_format_of("scored.parquet")
    'parquet'
    >>> output_format_of("scored.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    accountability_nlp.errors.InputFormatError: Cannot tell ... Got '.txt'.
    """
    suffix = Path(output).suffix.lower()
    if suffix in _OUTPUT_SUFFIXES:
        return _OUTPUT_SUFFIXES[suffix]
    options = sorted(_OUTPUT_SUFFIXES)
    hint = closest_match(suffix, options) if suffix else None
    raise InputFormatError(
        f"Cannot tell which format to write {str(output)!r} in: its extension must be "
        f"one of {options}. Got {suffix or '(none)'!r}."
        + (f" Did you mean {hint!r}?" if hint else "")
    )


# -- encodings and delimiters -------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(handle: BinaryIO, *, name: str = "the input") -> str:
    """Guess the text encoding of a seekable binary file.

    A byte-order mark decides first. A file that is valid UTF-8 throughout
    is UTF-8. Otherwise charset-normalizer looks at the bytes around the first
    one that is not UTF-8. Single-byte Western code pages cannot be told apart
    reliably from a sample (``ñ`` in cp1252 is ``ń`` in cp1250), so when the
    guess is a Latin-script code page and the bytes are valid cp1252, the
    Windows default for Western exports, cp1252 is taken. The read position
    is restored.

    Raises
    ------
    InputFormatError
        If no encoding fits.

    Examples
    --------
    >>> import io
    >>> detect_encoding(io.BytesIO("Zoë, José Ibáñez\\n".encode("cp1252")))
    'cp1252'
    >>> detect_encoding(io.BytesIO("Zoë".encode("utf-8-sig")))
    'utf-8-sig'
    """
    start = handle.tell()
    try:
        head = handle.read(_SAMPLE_BYTES)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return encoding
        # UTF-16 or UTF-32 without a byte-order mark: NUL bytes everywhere (the
        # high bytes of ASCII delimiters and newlines). A stray NUL in a note
        # is valid UTF-8 and must not make the whole file UTF-16.
        if head.count(b"\x00") * 10 >= len(head) > 0:
            return _guess_encoding(head, name)
        decoder = codecs.getincrementaldecoder("utf-8")()
        block, offset = head, 0
        while True:
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                handle.seek(start + max(0, offset + error.start - _SAMPLE_BYTES // 2))
                return _guess_encoding(handle.read(_SAMPLE_BYTES), name)
            if not block:
                return "utf-8"
            offset += len(block)
            block = handle.read(_SCAN_BYTES)
    finally:
        handle.seek(start)


def _guess_encoding(sample: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = None if best is None else str(best.encoding)
    if b"\x00" not in sample and (
        guess is None
        # UTF-16 and UTF-32 text always has NUL bytes: the ASCII of delimiters and newlines
        or guess.startswith(("utf_16", "utf_32"))
        or (_is_single_byte(guess) and _is_latin_script(sample, guess))
    ):
        with contextlib.suppress(UnicodeDecodeError):
            sample.decode("cp1252")
            return "cp1252"
    if guess is None:
        raise InputFormatError(
            f"Cannot tell the text encoding of {name}. Pass encoding= with the right one, "
            "e.g. encoding='cp1252', 'latin-1' or 'utf-16' (CLI: --encoding cp1252)."
        )
    return guess


def _is_single_byte(encoding: str) -> bool:
    return len(bytes(range(256)).decode(encoding, errors="replace")) == 256


def _is_latin_script(sample: bytes, encoding: str) -> bool:
    letters = [c for c in sample.decode(encoding, errors="ignore") if ord(c) > 127 and c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return latin * 2 >= len(letters)


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(
            "The 'encoding' parameter of read_chunks must be a codec Python knows, "
            f"such as 'utf-8', 'cp1252' or 'utf-16'. Got {encoding!r} instead."
        ) from None


def _sniff_delimiter(sample: str) -> str:
    """The candidate that splits the header row into the most fields."""
    best, most = ",", 1
    for candidate in (",", "\t", ";", "|"):
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=candidate)
        try:
            fields = len(next(reader, []))
        except csv.Error:
            continue
        if fields > most:
            best, most = candidate, fields
    return best


def _decoded_sample(handle: BinaryIO, encoding: str) -> str:
    start = handle.tell()
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        return str(decoder.decode(handle.read(_SAMPLE_BYTES), final=False))
    finally:
        handle.seek(start)


# -- reading ------------------------------------------------------------------------

#: Opens the input afresh; closing the result closes it, if it is ours to close.
Opener = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


def read_chunks(
    source: str | Path | None,
    *,
    input_format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    sql: str | None = None,
    query: str | None = None,
    table: str | None = None,
    chunk_size: int = 2000,
) -> Iterator[pd.DataFrame]:
    """Read a table in chunks of at most ``chunk_size`` rows.

    Parameters
    ----------
    source : str, Path or None
        A ``.csv``, ``.tsv``, ``.jsonl``, ``.xlsx`` or ``.parquet`` file, or
        ``"-"`` for standard input (its format detected from its first bytes
        unless ``input_format`` says). None when reading from SQL.
    input_format : {"csv", "tsv", "jsonl", "xlsx", "parquet"}, optional
        Overrides the format implied by the extension.
    encoding : str, optional
        Text encoding of CSV, TSV or JSONL; detected when not given (see
        :func:`detect_encoding`).
    delimiter : str, optional
        One character separating CSV fields. By default a tab for TSV and,
        for CSV, whichever of ``,``, tab, ``;`` and ``|`` splits the header
        row into the most fields.
    sheet : str or int, optional
        Worksheet of an Excel file, by name or 0-based position; the first
        by default.
    sql : str, optional
        SQLAlchemy database URL, e.g. ``"sqlite:///crm.db"`` or
        ``"postgresql+psycopg://user@host/db"``. Needs ``query`` or ``table``.
    query : str, optional
        SELECT statement to read; add an ORDER BY if row order matters.
    table : str, optional
        Table to read, optionally ``"schema.table"``.
    chunk_size : int, default=2000
        Rows per chunk.

    Yields
    ------
    pandas.DataFrame
        At least one chunk (an empty one for a table with only a header),
        each with all columns of the source in order. ``frame.attrs
        [MALFORMED_ROWS]`` maps positions of rows that could not be parsed to
        the reason.

    Raises
    ------
    InputFormatError
        If the source is missing, of an unknown format, undecodable or not
        readable as that format. Problems found inside the file are raised
        when the chunks are read.
    ValueError
        If the arguments contradict each other.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.csv"
    >>> _ = path.write_text("id,note\\n1,N/A\\n2,\\n3,Lost on price.\\n")
    >>> [len(chunk) for chunk in read_chunks(path, chunk_size=2)]
    [2, 1]
    >>> next(read_chunks(path))["note"].tolist()
    ['N/A', '', 'Lost on price.']
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(
            "The 'chunk_size' parameter of read_chunks must be a positive int. "
            f"Got {chunk_size!r} instead."
        )
    if encoding is not None:
        _check_encoding(encoding)
    if sql is not None or query is not None or table is not None:
        if source is not None:
            raise ValueError(
                "read_chunks reads either a file (source) or a database (sql= with "
                f"query= or table=), not both. Got source={str(source)!r} as well."
            )
        return _read_sql(sql, query=query, table=table, chunk_size=chunk_size)
    if source is None:
        raise ValueError(
            "read_chunks needs a source: a file path, '-' for standard input, "
            "or sql= with query= or table=."
        )
    if str(source) == "-":
        return _read_stdin(input_format, encoding, delimiter, sheet, chunk_size)
    path = Path(source)
    fmt = input_format_of(path, input_format)
    _check_applies(fmt, encoding=encoding, delimiter=delimiter, sheet=sheet)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no file"
        raise InputFormatError(f"The input {str(path)!r} is {what}. Check the path.")
    return _read_format(
        fmt, lambda: path.open("rb"), repr(str(path)), encoding, delimiter, sheet, chunk_size
    )


def _read_format(
    fmt: str,
    opener: Opener,
    name: str,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | int | None,
    chunk_size: int,
) -> Iterator[pd.DataFrame]:
    if fmt in ("csv", "tsv"):
        sep = delimiter if delimiter is not None else ("\t" if fmt == "tsv" else None)
        return _read_delimited(opener, name, encoding, sep, chunk_size)
    if fmt == "jsonl":
        return _read_jsonl(opener, name, encoding, chunk_size)
    if fmt == "xlsx":
        return _read_excel(opener, name, sheet, chunk_size)
    return _read_parquet(opener, name, chunk_size)


def _check_applies(
    fmt: str, *, encoding: str | None, delimiter: str | None, sheet: str | int | None
) -> None:
    if encoding is not None and fmt not in _TEXT_FORMATS:
        raise ValueError(
            "The 'encoding' parameter of read_chunks applies to CSV, TSV and JSONL input; "
            f"this input is {fmt}. Leave encoding unset."
        )
    if delimiter is not None:
        if fmt not in ("csv", "tsv"):
            raise ValueError(
                "The 'delimiter' parameter of read_chunks applies to CSV and TSV input; "
                f"this input is {fmt}. Leave delimiter unset."
            )
        if len(delimiter) != 1:
            raise ValueError(
                "The 'delimiter' parameter of read_chunks must be one character, "
                f"e.g. ',', ';', '|' or a tab. Got {delimiter!r} instead."
            )
    if sheet is not None and fmt != "xlsx":
        raise ValueError(
            "The 'sheet' parameter of read_chunks applies to Excel input; this input is "
            f"{fmt}. Leave sheet unset."
        )


def _read_stdin(
    given: str | None,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | int | None,
    chunk_size: int,
) -> Iterator[pd.DataFrame]:
    # Copied to a temporary file, so that encoding and format detection can
    # look at the start and rewind, and memory stays flat.
    with tempfile.TemporaryFile() as spool:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            shutil.copyfileobj(stream, spool)
        else:  # sys.stdin replaced by a text stream, as in notebooks and tests
            for text in iter(lambda: sys.stdin.read(_SCAN_BYTES), ""):
                spool.write(text.encode("utf-8"))
        spool.seek(0)
        fmt = given if given is not None else _sniff_stdin_format(spool)
        check_one_of(fmt, INPUT_FORMATS, param="input_format", owner="read_chunks")
        _check_applies(fmt, encoding=encoding, delimiter=delimiter, sheet=sheet)
        opener: Opener = lambda: contextlib.nullcontext(spool)  # noqa: E731
        yield from _read_format(
            fmt, opener, "standard input", encoding, delimiter, sheet, chunk_size
        )


def _sniff_stdin_format(handle: IO[bytes]) -> str:
    head = handle.read(_SAMPLE_BYTES)
    handle.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            head = head.decode(encoding, errors="ignore").encode("utf-8")
            break
    return "jsonl" if head.lstrip().startswith(b"{") else "csv"


def _unique_names(names: list[Any]) -> list[str]:
    """Column names as pandas makes them: blanks named, duplicates numbered.

    Examples
    --------
    >>> _unique_names(["id", "", "id", None])
    ['id', 'Unnamed: 1', 'id.1', 'Unnamed: 3']
    """
    seen: set[str] = set()
    result = []
    for i, raw in enumerate(names):
        name = f"Unnamed: {i}" if raw is None or str(raw) == "" else str(raw)
        unique, k = name, 0
        while unique in seen:
            k += 1
            unique = f"{name}.{k}"
        seen.add(unique)
        result.append(unique)
    return result


#: A parsed row: its values, why it is malformed (None if it is not), its line.
Record = tuple[list[Any], "str | None", int]


def _frame(rows: list[Any], columns: list[str], malformed: dict[int, str]) -> pd.DataFrame:
    # object dtype: no per-chunk type inference, so a column cannot change type
    # from one chunk to the next and every value stays as the reader made it
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame.attrs[MALFORMED_ROWS] = malformed
    return frame


def _chunks(
    records: Iterator[Record], columns: list[str], chunk_size: int, name: str
) -> Iterator[pd.DataFrame]:
    """Records in frames of ``chunk_size`` rows; at least one frame, maybe empty.

    Where malformed rows are is logged, never their text, for the first few.
    """
    problems = 0
    first = True
    while True:
        rows: list[list[Any]] = []
        malformed: dict[int, str] = {}
        for values, reason, line in itertools.islice(records, chunk_size):
            if reason is not None:
                malformed[len(rows)] = reason
                problems += 1
                if problems <= _MAX_LOGGED_PROBLEMS:
                    logger.warning(
                        "%s, line %d: %s; the row is kept and marked unscorable.",
                        name,
                        line,
                        reason,
                    )
                elif problems == _MAX_LOGGED_PROBLEMS + 1:
                    logger.warning("%s has more malformed rows; not logging each one.", name)
            rows.append(values)
        if rows or first:
            yield _frame(rows, columns, malformed)
        first = False
        if len(rows) < chunk_size:
            return


@contextlib.contextmanager
def _text(handle: BinaryIO, encoding: str) -> Iterator[IO[str]]:
    """The handle decoded; detached after, as the handle belongs to its opener."""
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        yield text
    finally:
        text.detach()


def _decode_error(name: str, encoding: str, line: int) -> InputFormatError:
    return InputFormatError(
        f"{name} is not valid {encoding} near line {line}. Pass the file's encoding, "
        "e.g. encoding='cp1252' (CLI: --encoding cp1252)."
    )


class _Lines:
    """Numbered lines of a text stream, keeping those of the current CSV record.

    The ``csv`` reader pulls lines one at a time; keeping the lines of the
    record being parsed lets a broken record be re-read, and ``refeed`` puts
    lines back in front to be parsed again.
    """

    def __init__(self, text: IO[str], name: str, encoding: str) -> None:
        self._text = text
        self._name = name
        self._encoding = encoding
        self._pending: deque[str] = deque()
        self.record: list[str] = []
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._pending:
            line = self._pending.popleft()
        else:
            try:
                line = next(self._text)
            except UnicodeDecodeError:
                raise _decode_error(self._name, self._encoding, self.number + 1) from None
        self.number += 1
        self.record.append(line)
        return line

    def refeed(self, lines: list[str]) -> None:
        self._pending.extendleft(reversed(lines))
        self.number -= len(lines)


def _csv_records(lines: _Lines, delimiter: str) -> Iterator[tuple[list[str], str | None, int]]:
    """Each record's fields, why it is broken (or None) and its first line number."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        lines.record = []
        start = lines.number + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            broken = lines.record
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            if len(broken) > 1 or "unexpected end of data" in str(error):
                # A quote that never closes (or is closed by the next row's
                # opening quote) swallowed the lines after it. Keep its first
                # line as the broken row and parse the others again: a file cut
                # off mid-note loses no row, nor does a stray quote.
                lines.refeed(broken[1:])
                first = broken[0].rstrip("\r\n")
                fields = next(csv.reader([first], delimiter=delimiter, strict=False), [])
                yield fields, _UNCLOSED, start
                continue
            # text after a closing quote on one line ("6"7): read leniently, as pandas does
            fields = next(csv.reader(broken, delimiter=delimiter, strict=False), [])
        if fields:  # a blank line is no record
            yield fields, None, start


def _read_delimited(
    opener: Opener, name: str, encoding: str | None, delimiter: str | None, chunk_size: int
) -> Iterator[pd.DataFrame]:
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(opener())
        if encoding is None:
            encoding = detect_encoding(handle, name=name)
        if delimiter is None:
            delimiter = _sniff_delimiter(_decoded_sample(handle, encoding))
        logger.info("Reading %s as %s with delimiter %r.", name, encoding, delimiter)
        if csv.field_size_limit() < _MAX_FIELD_CHARS:
            # the default, 128 KiB, is shorter than the longest note the scorer carries
            csv.field_size_limit(_MAX_FIELD_CHARS)
        text = stack.enter_context(_text(handle, encoding))
        records = _csv_records(_Lines(text, name, encoding), delimiter)
        header = next(records, None)
        if header is None:
            raise InputFormatError(f"{name} is empty: it has no header row.")
        columns = _unique_names(header[0])
        yield from _chunks(_fitted(records, len(columns), delimiter), columns, chunk_size, name)


def _fitted(records: Iterator[Record], width: int, delimiter: str) -> Iterator[Record]:
    """Records cut to ``width`` fields: a short row padded, a long one's surplus
    folded into its last cell; both marked malformed."""
    for fields, reason, line in records:
        if reason is None and len(fields) == width:
            yield fields, None, line
            continue
        if reason is None:
            reason = _TOO_FEW if len(fields) < width else _TOO_MANY
        if len(fields) < width:
            fields = fields + [""] * (width - len(fields))
        else:
            fields = [*fields[: width - 1], delimiter.join(fields[width - 1 :])]
        yield fields, reason, line


def _numbered_lines(text: IO[str], name: str, encoding: str) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        try:
            line = text.readline()
        except UnicodeDecodeError:
            raise _decode_error(name, encoding, number + 1) from None
        if not line:
            return
        number += 1
        yield number, line


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _read_jsonl(
    opener: Opener, name: str, encoding: str | None, chunk_size: int
) -> Iterator[pd.DataFrame]:
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(opener())
        if encoding is None:
            encoding = detect_encoding(handle, name=name)
        logger.info("Reading %s as JSON lines in %s.", name, encoding)
        text = stack.enter_context(_text(handle, encoding))
        # A first pass collects every key, in order of first appearance: the
        # output needs all columns before its first row, and a key may first
        # turn up on the last line.
        keys: dict[str, None] = {}
        blank = True
        for _, line in _numbered_lines(text, name, encoding):
            if line.strip():
                blank = False
                keys.update(dict.fromkeys(_json_object(line) or ()))
        if blank:
            raise InputFormatError(f"{name} is empty: it has no JSON lines.")
        columns = list(keys)
        text.seek(0)
        records = (
            ([record.get(c) for c in columns], None, number)
            if (record := _json_object(line)) is not None
            else ([None] * len(columns), _BAD_JSON, number)
            for number, line in _numbered_lines(text, name, encoding)
            if line.strip()
        )
        yield from _chunks(records, columns, chunk_size, name)


def _read_excel(
    opener: Opener, name: str, sheet: str | int | None, chunk_size: int
) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    with opener() as handle:
        try:
            with warnings.catch_warnings():
                # harmless, and common in files written by other tools
                warnings.filterwarnings(
                    "ignore", message="Workbook contains no default style", category=UserWarning
                )
                workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl fails in many ways on a file that isn't xlsx
            raise InputFormatError(
                f"{name} is not a readable .xlsx workbook ({type(error).__name__}). Open it in "
                "Excel and save it as .xlsx again, or export it as .csv."
            ) from None
        try:
            rows = enumerate(_pick_sheet(workbook, sheet).iter_rows(values_only=True), 1)
            header = next(((n, r) for n, r in rows if any(v is not None for v in r)), None)
            if header is None:
                raise InputFormatError(f"{name} is empty: its sheet has no header row.")
            names = list(header[1])
            while names and names[-1] is None:
                names.pop()
            columns = _unique_names(names)
            width = len(columns)
            records = (
                (
                    [*values[:width], *[None] * (width - len(values))],
                    _BEYOND_HEADER if any(v is not None for v in values[width:]) else None,
                    number,
                )
                for number, values in rows
                if any(v is not None for v in values)  # a blank row is no record
            )
            yield from _chunks(records, columns, chunk_size, name)
        finally:
            workbook.close()


def _pick_sheet(workbook: Any, sheet: str | int | None) -> Any:
    names = list(workbook.sheetnames)
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, str) and sheet in names:
        return workbook[sheet]
    text = str(sheet)
    if text.isdigit() and int(text) < len(names):
        return workbook.worksheets[int(text)]
    hint = closest_match(text, names)
    raise InputFormatError(
        f"The 'sheet' parameter of read_chunks must be one of {names} or a position from 0 "
        f"to {len(names) - 1}. Got {sheet!r} instead."
        + (f" Did you mean {hint!r}?" if hint else "")
    )


def _read_parquet(opener: Opener, name: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def as_frame(batch: Any) -> pd.DataFrame:
        # Arrow-backed columns keep the file's types exactly (an int column
        # with nulls stays int); the pandas metadata is ignored so that a
        # stored index comes out as the column it is in the file
        frame = batch.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)
        frame.attrs[MALFORMED_ROWS] = {}
        return frame

    with opener() as handle:
        try:
            parquet = pq.ParquetFile(handle)
            logger.info("Reading %s: Parquet, %d rows.", name, parquet.metadata.num_rows)
            empty = True
            for batch in parquet.iter_batches(batch_size=chunk_size):
                empty = False
                yield as_frame(batch)
            if empty:
                yield as_frame(parquet.schema_arrow.empty_table())
        except (pa.ArrowException, OSError) as error:
            raise InputFormatError(
                f"{name} is not a readable Parquet file ({error}). Check that the file is "
                "complete, or export it again."
            ) from None


def _safe_url(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def _engine(url: str, *, param: str, owner: str, must_exist: bool) -> Any:
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        # not echoed: a malformed URL may still hold a password
        raise ValueError(
            f"The {param!r} parameter of {owner} must be a SQLAlchemy database URL such as "
            "'sqlite:///crm.db' or 'postgresql+psycopg://user@host/crm'."
        ) from None
    database = parsed.database
    if (
        must_exist
        and parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
        and not Path(database).is_file()
    ):
        raise InputFormatError(
            f"No SQLite database at {database!r}. Check the path in the URL: "
            "sqlite:///relative/path.db or sqlite:////absolute/path.db."
        )
    try:
        return sa.create_engine(parsed)
    except (ImportError, sa.exc.NoSuchModuleError) as error:
        raise InputFormatError(
            f"Cannot open {_safe_url(parsed)}: {error}. Install the database driver, "
            "e.g. pip install 'psycopg[binary]' for PostgreSQL."
        ) from None


def _database_error(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _read_sql(
    url: str | None, *, query: str | None, table: str | None, chunk_size: int
) -> Iterator[pd.DataFrame]:
    if url is None:
        raise ValueError(
            "query= and table= read from a database: pass sql= with its SQLAlchemy URL, "
            "e.g. sql='sqlite:///crm.db' (CLI: --sql sqlite:///crm.db)."
        )
    if (query is None) == (table is None):
        raise ValueError(
            "read_chunks needs exactly one of query= and table= with sql=. "
            f"Got {'both' if query is not None else 'neither'}."
        )
    return _sql_chunks(
        _engine(url, param="sql", owner="read_chunks", must_exist=True), query, table, chunk_size
    )


def _sql_chunks(
    engine: Any, query: str | None, table: str | None, chunk_size: int
) -> Iterator[pd.DataFrame]:
    import sqlalchemy as sa

    where = _safe_url(engine.url)
    try:
        # the connection is never committed, so a query that writes is rolled back
        with engine.connect() as connection:
            if table is not None:
                statement: Any = sa.select(_reflect(connection, table))
            else:
                statement = sa.text(str(query))
            logger.info("Reading %s from %s.", f"table {table!r}" if table else "a query", where)
            result = connection.execution_options(
                stream_results=True, yield_per=chunk_size
            ).execute(statement)
            columns = _unique_names(list(result.keys()))
            first = True
            for part in result.partitions(chunk_size):
                first = False
                yield _frame([tuple(row) for row in part], columns, {})
            if first:
                yield _frame([], columns, {})
    except sa.exc.SQLAlchemyError as error:
        raise InputFormatError(f"Cannot read from {where}: {_database_error(error)}.") from None
    finally:
        engine.dispose()


def _reflect(connection: Any, table: str) -> Any:
    import sqlalchemy as sa

    schema, _, name = table.rpartition(".")
    try:
        return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
    except sa.exc.NoSuchTableError:
        names = sa.inspect(connection).get_table_names(schema=schema or None)
        hint = closest_match(name, names)
        raise InputFormatError(
            f"The 'table' parameter of read_chunks must be one of {names}. "
            f"Got {table!r} instead." + (f" Did you mean {hint!r}?" if hint else "")
        ) from None


# -- writing ------------------------------------------------------------------------


def partial_path(output: str | Path) -> Path:
    """Where a CSV, TSV or JSONL output grows until the run completes.

    Examples
    --------
    >>> partial_path("out/scored.csv").as_posix()
    'out/scored.csv.partial'
    """
    path = Path(output)
    return path.with_name(path.name + ".partial")


class TableWriter:
    """Destination of scored chunks: :meth:`write` each, then :meth:`commit`.

    Nothing appears under the output name before :meth:`commit`;
    :meth:`abort` drops what was written. Get one from :func:`open_writer`.
    """

    #: Where the output goes, for messages: a path or a table description.
    location: str = ""

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk; the first one fixes the columns."""
        raise NotImplementedError

    def sync(self) -> int | None:
        """Make the written chunks durable; the partial file's size if resumable."""
        return None

    def commit(self) -> None:
        """Finish and move the output into place, atomically."""
        raise NotImplementedError

    def abort(self, *, keep_partial: bool = False) -> None:
        """Give up; keep the partial file only if asked and the format allows resuming."""
        raise NotImplementedError


def open_writer(
    output: str | Path | None = None,
    *,
    sql: str | None = None,
    table: str | None = None,
    resume_offset: int | None = None,
) -> TableWriter:
    """Open a writer for a file (format from its extension) or a SQL table.

    Parameters
    ----------
    output : str or Path, optional
        A ``.csv``, ``.tsv``, ``.jsonl``, ``.xlsx`` or ``.parquet`` path.
        CSV, TSV and JSONL grow in :func:`partial_path` (so a killed run can
        be resumed); Excel and Parquet in a hidden temporary file beside the
        output. Text is written as UTF-8.
    sql : str, optional
        SQLAlchemy URL of the database to write ``table`` in.
    table : str, optional
        Table to write; the rows go to ``<table>__partial`` and it is renamed
        when the run completes, replacing any table of that name.
    resume_offset : int, optional
        Continue an existing partial CSV, TSV or JSONL file, cut back to
        this many bytes.

    Returns
    -------
    TableWriter

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scored.jsonl"
    >>> writer = open_writer(path)
    >>> writer.write(pd.DataFrame({"id": [1], "label": ["ownership"]}))
    >>> path.exists()
    False
    >>> writer.commit()
    >>> path.read_text()
    '{"id": 1, "label": "ownership"}\\n'
    """
    if table is not None:
        if sql is None or output is not None:
            raise ValueError(
                "A table output needs sql= (the database URL) and no output file. "
                f"Got sql={'set' if sql else None} and output={output!r}."
            )
        if resume_offset is not None:
            raise ValueError(_NOT_RESUMABLE.format(what=f"a table ({table!r})"))
        return _SqlWriter(sql, table)
    if output is None:
        raise ValueError("open_writer needs an output path, or sql= and table=.")
    path = Path(output)
    fmt = output_format_of(path)
    if not path.parent.is_dir():
        raise InputFormatError(
            f"The folder of the output {str(path)!r} does not exist. Create it first."
        )
    if fmt in APPENDABLE_FORMATS:
        return _AppendWriter(path, fmt, resume_offset)
    if resume_offset is not None:
        raise ValueError(_NOT_RESUMABLE.format(what=f"a .{fmt} file"))
    return _ParquetWriter(path) if fmt == "parquet" else _ExcelWriter(path)


_NOT_RESUMABLE = (
    "Only .csv, .tsv and .jsonl outputs can be resumed (they are appended to); the output is "
    "{what}. Score to a .csv with resume, then convert it, or run without resume."
)


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _text_or_none(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _objects_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding anything but text (JSON, Excel, SQL values) as text.

    Typed columns are left alone. Binary formats and SQL need one type per
    column for the whole run, and an object column's values may differ in
    type from chunk to chunk.
    """
    mixed = [
        name
        for name, dtype in frame.dtypes.items()
        if pd.api.types.is_object_dtype(dtype)
        and pd.api.types.infer_dtype(frame[name]) not in ("string", "empty")
    ]
    if not mixed:
        return frame
    frame = frame.copy()
    for name in mixed:
        frame[name] = pd.Series(
            [_text_or_none(v) for v in frame[name]], index=frame.index, dtype=object
        )
    return frame


def _python_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain Python values in object columns, None where a value is missing."""
    return frame.astype(object).where(frame.notna(), None)


class _AppendWriter(TableWriter):
    """CSV, TSV or JSONL, appended to ``<output>.partial`` and renamed at the end."""

    def __init__(self, path: Path, fmt: str, resume_offset: int | None) -> None:
        self.path = path
        self.location = str(path)
        self.partial = partial_path(path)
        self._fmt = fmt
        self._handle: IO[bytes]
        if resume_offset is None:
            self._handle = self.partial.open("wb")
        else:
            self._handle = self.partial.open("r+b")
            self._handle.truncate(resume_offset)
            self._handle.seek(resume_offset)
        self._header = not resume_offset

    def write(self, frame: pd.DataFrame) -> None:
        if self._fmt == "jsonl":
            text = _json_lines(frame)
        else:
            # Rows end in CRLF (RFC 4180): the csv writer quotes a field holding
            # any character of the line terminator, so only then does a note
            # with a lone carriage return read back as one field.
            text = frame.to_csv(
                sep="\t" if self._fmt == "tsv" else ",",
                index=False,
                header=self._header,
                lineterminator="\r\n",
            )
        self._header = False
        # a lone surrogate (from a JSON escape) cannot be UTF-8: written escaped
        self._handle.write(text.encode("utf-8", errors="backslashreplace"))

    def sync(self) -> int:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def commit(self) -> None:
        self.sync()
        self._handle.close()
        os.replace(self.partial, self.path)

    def abort(self, *, keep_partial: bool = False) -> None:
        self._handle.close()
        if not keep_partial:
            self.partial.unlink(missing_ok=True)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _json_lines(frame: pd.DataFrame) -> str:
    records = _python_values(frame).to_dict(orient="records")
    return "".join(
        json.dumps(record, ensure_ascii=False, default=_json_default) + "\n" for record in records
    )


class _ParquetWriter(TableWriter):
    """One row group per chunk, in a temporary file renamed at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.temp = _temp_path(path)
        self._writer: Any = None
        self._schema: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Object columns (text, or the mixed values of JSON and Excel input)
        # are written as text, so that every chunk fits the first one's schema.
        table = pa.Table.from_pandas(_objects_as_text(frame), preserve_index=False)
        if self._writer is None:
            fields = [
                field.with_type(pa.string()) if pa.types.is_null(field.type) else field
                for field in table.schema
            ]
            self._schema = pa.schema(fields, metadata=table.schema.metadata)
            self._writer = pq.ParquetWriter(self.temp, self._schema)
        self._writer.write_table(table.cast(self._schema))

    def commit(self) -> None:
        if self._writer is None:
            raise InputFormatError("Nothing was written: a Parquet file needs one chunk.")
        self._writer.close()
        os.replace(self.temp, self.path)

    def abort(self, *, keep_partial: bool = False) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):  # closing may fail for the same reason
                self._writer.close()
        self.temp.unlink(missing_ok=True)


def _excel_value(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        # control characters cannot be stored in a worksheet: they are dropped
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime.datetime, datetime.time)) and value.tzinfo is not None:
        return value.isoformat()  # worksheets have no time zones
    if isinstance(value, (datetime.date, datetime.time, decimal.Decimal)):
        return value
    return _excel_value(_text_or_none(value))


class _ExcelWriter(TableWriter):
    """A write-only workbook streamed to a temporary file, renamed at the end."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook

        self.path = path
        self.location = str(path)
        self.temp = _temp_path(path)
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("scores")
        self._rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self._rows == 0:
            self._sheet.append([str(column) for column in frame.columns])
            self._rows = 1
        if self._rows + len(frame) > _EXCEL_MAX_ROWS:
            raise InputFormatError(
                f"An .xlsx sheet holds at most {_EXCEL_MAX_ROWS:,} rows and this output has "
                "more. Write .csv or .parquet instead."
            )
        for row in _python_values(frame).itertuples(index=False, name=None):
            self._sheet.append([_excel_value(value) for value in row])
        self._rows += len(frame)

    def commit(self) -> None:
        self._book.save(self.temp)
        os.replace(self.temp, self.path)

    def abort(self, *, keep_partial: bool = False) -> None:
        # Finishing the sheet ends openpyxl's row writer, which would otherwise
        # fail when collected; openpyxl deletes its own temporary file at exit.
        with contextlib.suppress(Exception):
            self._sheet.close()
        self.temp.unlink(missing_ok=True)


def _sql_type(dtype: Any) -> Any:
    import sqlalchemy as sa

    types = pd.api.types
    if types.is_bool_dtype(dtype):
        return sa.Boolean()
    if types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if types.is_float_dtype(dtype):
        return sa.Double()
    if types.is_datetime64_any_dtype(dtype):
        return sa.DateTime()
    return sa.Text()


class _SqlWriter(TableWriter):
    """Rows inserted chunk by chunk into ``<table>__partial``, renamed at the end.

    The swap (drop the old table, rename the new one) is one transaction on
    databases with transactional DDL such as PostgreSQL; SQLite's driver runs
    the two statements one after the other.
    """

    def __init__(self, url: str, table: str) -> None:
        import sqlalchemy as sa

        self._engine = _engine(url, param="sql", owner="open_writer", must_exist=False)
        self.target = table
        self.location = f"table {table!r} in {_safe_url(self._engine.url)}"
        self._staging = sa.Table(f"{table}__partial", sa.MetaData())
        self._created = False
        self._drop_staging()  # left over from a run that was killed

    def _drop_staging(self) -> None:
        with self._engine.begin() as connection:
            self._staging.drop(connection, checkfirst=True)

    def write(self, frame: pd.DataFrame) -> None:
        import sqlalchemy as sa

        frame = _objects_as_text(frame)
        if not self._created:
            self._staging = sa.Table(
                self._staging.name,
                sa.MetaData(),
                *(sa.Column(str(name), _sql_type(dtype)) for name, dtype in frame.dtypes.items()),
            )
            with self._engine.begin() as connection:
                self._staging.create(connection)
            self._created = True
        records = _python_values(frame).to_dict(orient="records")
        if records:
            with self._engine.begin() as connection:
                connection.execute(self._staging.insert(), records)

    def commit(self) -> None:
        import sqlalchemy as sa

        quote = self._engine.dialect.identifier_preparer.quote
        with self._engine.begin() as connection:
            sa.Table(self.target, sa.MetaData()).drop(connection, checkfirst=True)
            connection.execute(
                sa.text(f"ALTER TABLE {quote(self._staging.name)} RENAME TO {quote(self.target)}")
            )
        self._engine.dispose()

    def abort(self, *, keep_partial: bool = False) -> None:
        with contextlib.suppress(Exception):  # the database may be what failed
            self._drop_staging()
        self._engine.dispose()
