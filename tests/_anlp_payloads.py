"""Hostile payloads for the model-loading tests (test_persistence, test_cli_core).

Each payload leaves a marker file when its code runs, so a test can prove
that loading a tampered model folder did *not* run it. Nothing here runs on
import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_marker(path: str) -> None:
    """The "malicious" action: leave a file behind."""
    Path(path).write_text("payload ran", encoding="utf-8")


class SetStatePayload:
    """Writes its marker when an unpickler or skops rebuilds it (``__setstate__``)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, Any]) -> None:
        write_marker(state["marker"])
        self.__dict__.update(state)


class ReducePayload:
    """Writes its marker when unpickled: ``pickle`` calls what ``__reduce__`` names."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return write_marker, (self.marker,)


def tampered_head(marker: str) -> bytes:
    """A skops model head that hides a :class:`SetStatePayload` among learned attributes."""
    import skops.io as sio

    from accountability_nlp.estimator import AccountabilityClassifier

    tampered = AccountabilityClassifier()
    tampered.payload_ = SetStatePayload(marker)  # looks like a learned attribute
    return sio.dumps(tampered)
