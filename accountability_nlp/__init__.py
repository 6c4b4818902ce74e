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

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import (
    AccountabilityError,
    ColumnNotFoundError,
    InputFormatError,
    ModelLoadError,
    UntrustedModelError,
)
from .labels import LABELS, Label

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .component import AccountabilityComponent
    from .dask_engine import score_dask
    from .estimator import AccountabilityClassifier, NoteVectorizer
    from .explain import Evidence
    from .model import Explanation, Model, load
    from .scoring import score_file, score_frame
    from .training import evaluate, train

try:
    __version__ = version("accountability-nlp")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

# Public name -> module that defines it. Imported on first use, so that
# `import accountability_nlp` stays cheap (spaCy, scikit-learn, skops and
# pandas load only when a model is), and Dask, an optional extra, only when
# score_dask is asked for.
_LAZY = {
    "AccountabilityClassifier": "estimator",
    "AccountabilityComponent": "component",
    "Evidence": "explain",
    "Explanation": "model",
    "Model": "model",
    "NoteVectorizer": "estimator",
    "evaluate": "training",
    "load": "model",
    "score_dask": "dask_engine",
    "score_file": "scoring",
    "score_frame": "scoring",
    "train": "training",
}

__all__ = [
    "LABELS",
    "AccountabilityClassifier",
    "AccountabilityComponent",
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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accountability_nlp' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
