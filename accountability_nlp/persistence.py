"""Model folders: write and read them without ever running foreign code.

A model is a folder::

    meta.json     label set, library versions, training-data hash, metrics
    head.skops    the fitted scikit-learn head, in skops format (no pickle)
    README.md     the model card

Loading a pickle or joblib file can execute arbitrary code, so the head is
stored with skops, and before it is loaded every type named inside it is
checked against :data:`TRUSTED_TYPES` (plus the scikit-learn, NumPy and
SciPy types skops trusts by default). A file naming anything else is refused
with :class:`~accountability_nlp.errors.UntrustedModelError` before any of it
is constructed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError, UntrustedModelError

if TYPE_CHECKING:  # skops and the estimator (scikit-learn, spaCy) load on first use
    from .estimator import AccountabilityClassifier

__all__ = [
    "FORMAT_VERSION",
    "TRUSTED_TYPES",
    "default_model_path",
    "read_model_folder",
    "read_model_meta",
    "write_model_folder",
]

#: Version of the folder layout; bumped when it changes incompatibly.
FORMAT_VERSION = 1

#: Types beyond skops' defaults that a model head may contain.
TRUSTED_TYPES: tuple[str, ...] = (
    "accountability_nlp.estimator.AccountabilityClassifier",
    "accountability_nlp.estimator.NoteVectorizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.model_selection._split.StratifiedKFold",
)

META_FILE = "meta.json"
# JSON names of the values json.loads returns, for error messages.
_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
HEAD_FILE = "head.skops"
CARD_FILE = "README.md"


def default_model_path() -> Path:
    """Folder of the bundled default model.

    Wheels carry it inside the package; a source checkout or editable
    install reads it from the repository's ``models/default``.
    """
    bundled = Path(str(resources.files("accountability_nlp"))) / "_default_model"
    if (bundled / META_FILE).is_file():
        return bundled
    return Path(__file__).resolve().parent.parent / "models" / "default"


def write_model_folder(
    estimator: AccountabilityClassifier,
    meta: dict[str, Any],
    card: str,
    path: str | Path,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a model folder atomically.

    The folder is assembled under a temporary name beside ``path`` and
    renamed into place, so an interrupted save never leaves a half-written
    model under the final name.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    import skops.io as sio

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"Model folder {str(path)!r} already exists. Pass overwrite=True "
            "(CLI: --overwrite) to replace it, or choose another path."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model folder is not
    try:
        sio.dump(estimator, staging / HEAD_FILE)
        full_meta = {"format_version": FORMAT_VERSION, **meta}
        (staging / META_FILE).write_text(
            json.dumps(full_meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        (staging / CARD_FILE).write_text(card, encoding="utf-8")
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(path, backup)
            os.replace(staging, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _check_trusted(head: Path) -> None:
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=head)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError) as error:
        raise UntrustedModelError(
            f"{str(head)!r} is not a skops file ({error}). Model heads are never "
            "loaded from pickle or joblib files, which can run code; re-save the "
            "model with this library."
        ) from None
    untrusted = sorted(set(found) - set(TRUSTED_TYPES))
    if untrusted:
        raise UntrustedModelError(
            f"Refusing to load {str(head)!r}: it contains types that are not on the "
            f"trusted list: {untrusted}. Only load models from sources you trust; "
            "if you made this model with a newer version of accountability_nlp, "
            "upgrade the library."
        )


def read_model_meta(path: str | Path) -> dict[str, Any]:
    """Check a model folder's layout and return its metadata, without loading the head.

    Cheap: nothing beyond the standard library is imported, so a process that
    only coordinates (e.g. the parent of scoring workers) can check a model
    and fingerprint it without paying for scikit-learn and spaCy.

    Raises
    ------
    ModelLoadError
        If the folder or one of its files is missing or of another format.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(
            f"No model folder at {str(path)!r}. A model folder holds {META_FILE} and "
            f"{HEAD_FILE}; create one with `accountability-nlp train` or "
            "model.save(path), or call load() with no argument for the bundled model."
        )
    missing = [name for name in (META_FILE, HEAD_FILE) if not (path / name).is_file()]
    if missing:
        raise ModelLoadError(
            f"Model folder {str(path)!r} is incomplete: missing {missing}. "
            "Re-save the model, or retrain it with `accountability-nlp train`."
        )
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{str(path / META_FILE)!r} is not valid JSON: {error}.") from None
    if not isinstance(meta, dict):
        # Valid JSON, but not the object write_model_folder writes.
        kind = _JSON_KINDS.get(type(meta), type(meta).__name__)
        raise ModelLoadError(
            f"{str(path / META_FILE)!r} must hold a JSON object; got a JSON {kind}. "
            "Re-save the model, or retrain it with `accountability-nlp train`."
        )
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelLoadError(
            f"Model folder {str(path)!r} has format_version {version!r}; this version "
            f"of accountability_nlp reads format_version {FORMAT_VERSION}. Retrain the "
            "model or install the library version that wrote it."
        )
    return meta


def read_model_folder(path: str | Path) -> tuple[AccountabilityClassifier, dict[str, Any]]:
    """Read a model folder written by :func:`write_model_folder`.

    Returns
    -------
    estimator : AccountabilityClassifier
    meta : dict

    Raises
    ------
    ModelLoadError
        If the folder or one of its files is missing or of another format.
    UntrustedModelError
        If the head names a type outside the trusted list; nothing in it is
        constructed.
    """
    import skops.io as sio

    from .estimator import AccountabilityClassifier

    meta = read_model_meta(path)
    head = Path(path) / HEAD_FILE
    _check_trusted(head)
    estimator = sio.load(head, trusted=list(TRUSTED_TYPES))
    if not isinstance(estimator, AccountabilityClassifier):
        raise ModelLoadError(
            f"{str(head)!r} holds a {type(estimator).__name__}, not an AccountabilityClassifier."
        )
    return estimator, meta
