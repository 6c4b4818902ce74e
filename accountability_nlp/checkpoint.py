"""Resume state of a file-scoring run: which input, which settings, how far.

A run that writes CSV, TSV or JSONL keeps ``<output>.progress.json`` beside
its partial output (:func:`~accountability_nlp.io.partial_path`). After each
chunk it records the chunks done, the partial file's size at that point and
the running counts. A resumed run cuts the partial file back to that size,
skips the chunks already done and appends the rest, so its output is byte for
byte the output of a run that was never interrupted. It refuses when the input
file's content or a setting that shapes the output has changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputFormatError

__all__ = ["Checkpoint", "file_sha256", "progress_path"]

_FORMAT = 1


def progress_path(output: str | Path) -> Path:
    """The resume state file of ``output``.

    Examples
    --------
    >>> progress_path("out/scored.csv").as_posix()
    'out/scored.csv.progress.json'
    """
    path = Path(output)
    return path.with_name(path.name + ".progress.json")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_bytes(b"id\\n")
    >>> file_sha256(path)[:12]
    '984a644ec3b5'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Checkpoint:
    """What an interrupted run had finished, and on what.

    Attributes
    ----------
    input_sha256 : str
        Hash of the input file.
    settings : dict
        The settings that shape the output (text column, chunk size, model...).
    chunks_done : int
        Chunks written to the partial output.
    partial_bytes : int
        Size of the partial output after those chunks.
    totals : dict
        Running counts (rows, scored, unscorable reasons, labels).
    """

    input_sha256: str
    settings: dict[str, Any]
    chunks_done: int = 0
    partial_bytes: int = 0
    totals: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        """The checkpoint saved at ``path``, or None if there is none."""
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format") != _FORMAT:
                raise ValueError("unknown format")
            return cls(**data)
        except (ValueError, KeyError, TypeError):
            raise InputFormatError(
                f"Cannot resume: the progress file {str(path)!r} is damaged or from another "
                "version. Run without resume to start over."
            ) from None

    def save(self, path: Path) -> None:
        """Write the checkpoint atomically (a kill leaves the old or the new one)."""
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump({"format": _FORMAT, **asdict(self)}, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def check_resumable(
        self, *, input_sha256: str, settings: dict[str, Any], partial: Path
    ) -> None:
        """Raise if this run cannot continue the checkpointed one.

        Raises
        ------
        InputFormatError
            If the input changed, a setting changed, or the partial output is
            missing or shorter than recorded.

        Examples
        --------
        >>> import pathlib
        >>> done = Checkpoint("abc", {"chunk_size": 500}, chunks_done=2)
        >>> done.check_resumable(input_sha256="abc", settings={"chunk_size": 2000},
        ...                      partial=pathlib.Path("x.partial"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        accountability_nlp.errors.InputFormatError: Cannot resume: ... was 500, now 2000. ...
        """
        if input_sha256 != self.input_sha256:
            raise InputFormatError(
                "Cannot resume: the input file changed since the interrupted run (its "
                "content hash differs). Run without resume to start over."
            )
        changed = [
            f"{key} was {self.settings.get(key)!r}, now {settings.get(key)!r}"
            for key in sorted(set(self.settings) | set(settings))
            if self.settings.get(key) != settings.get(key)
        ]
        if changed:
            raise InputFormatError(
                "Cannot resume: the settings changed since the interrupted run: "
                + "; ".join(changed)
                + ". Run with the same settings, or without resume to start over."
            )
        size = partial.stat().st_size if partial.is_file() else -1
        if size < self.partial_bytes:
            raise InputFormatError(
                f"Cannot resume: the partial output {str(partial)!r} is missing or shorter "
                "than recorded. Run without resume to start over."
            )
