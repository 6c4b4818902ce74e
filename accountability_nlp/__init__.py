"""accountability_nlp: read the stance a sales rep takes toward a lost deal.

Labels each note ``ownership``, ``deflection`` or ``victim`` with calibrated
probabilities and the words that drove the label.

Examples
--------
>>> import accountability_nlp as anlp
>>> model = anlp.load()
>>> model.predict(["Lost on price. Competitor came in 30% lower."])
['deflection']
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .errors import (
    AccountabilityError,
    ColumnNotFoundError,
    InputFormatError,
    ModelLoadError,
    UntrustedModelError,
)
from .estimator import AccountabilityClassifier, NoteVectorizer
from .explain import Evidence
from .labels import LABELS, Label
from .model import Explanation, Model, load
from .scoring import score_frame
from .training import evaluate, train

try:
    __version__ = version("accountability-nlp")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "LABELS",
    "AccountabilityClassifier",
    "AccountabilityError",
    "ColumnNotFoundError",
    "Evidence",
    "Explanation",
    "InputFormatError",
    "Label",
    "Model",
    "ModelLoadError",
    "NoteVectorizer",
    "UntrustedModelError",
    "__version__",
    "evaluate",
    "load",
    "score_dask",
    "score_file",
    "score_frame",
    "train",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: file scoring pulls in readers for every format,
    # and Dask is an optional extra.
    if name == "score_file":
        from .scoring import score_file

        return score_file
    if name == "score_dask":
        from .dask_engine import score_dask

        return score_dask
    raise AttributeError(f"module 'accountability_nlp' has no attribute {name!r}")
