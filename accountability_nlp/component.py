"""The spaCy component: ``nlp.add_pipe("accountability_classifier")``.

A factory function plus a plain class, as spaCy's own components are built.
The component wraps a :class:`~accountability_nlp.model.Model` and writes one
probability per label to ``doc.cats``; ``doc._.accountability_label`` and
``doc._.accountability_status`` say which label won and whether the note
could be scored at all.

The wrapped model reads ``doc.text``, not the user's tokens: the pipeline the
component is added to may tokenize differently from the one the model was
trained with, and the model brings its own.

The factory is registered when :mod:`accountability_nlp` is imported, and
the ``spacy_factories`` entry point makes spaCy find it by itself once the
package is installed.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy import util
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import SimpleFrozenList, minibatch

from .errors import ModelLoadError
from .labels import LABELS
from .model import Model, load, unscorable_reason

__all__ = ["AccountabilityComponent", "make_accountability_classifier"]

logger = logging.getLogger(__name__)

#: Name the factory is registered under.
FACTORY_NAME = "accountability_classifier"
#: ``doc._`` attribute holding the winning label (or None).
LABEL_ATTR = "accountability_label"
#: ``doc._`` attribute holding ``"scored"`` or ``"unscorable: <reason>"``.
STATUS_ATTR = "accountability_status"


def _register_extensions() -> None:
    # Never force=True: that would silently replace an extension another
    # package (or the user) registered under the same name.
    for attr in (LABEL_ATTR, STATUS_ATTR):
        if not Doc.has_extension(attr):
            Doc.set_extension(attr, default=None)


def _check_threshold(threshold: Any, owner: str) -> float:
    valid = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not valid or not 0.0 <= float(threshold) <= 1.0 or math.isnan(float(threshold)):
        raise ValueError(
            f"The 'threshold' parameter of {owner} must be a number between 0 and 1. "
            f"Got {threshold!r} instead."
        )
    return float(threshold)


class AccountabilityComponent:
    """Label each ``Doc`` ownership, deflection or victim.

    Usually created through the factory, ``nlp.add_pipe("accountability_classifier")``.

    Parameters
    ----------
    name : str, default="accountability_classifier"
        The component's name in the pipeline.
    model : Model, str, Path or None, default=None
        A model, or the folder of a saved model. None uses the model bundled
        with the library. A folder is read on first use, not here, because
        ``spacy.load`` replaces it with the copy saved inside the pipeline
        (see :meth:`from_disk`), which may be on a machine without the
        original folder.
    threshold : float, default=0.5
        ``doc._.accountability_label`` is set only when the top probability
        reaches this; below it the label is None. Also the threshold of
        :meth:`score`.

    Attributes
    ----------
    labels : tuple of str
        The labels written to ``doc.cats``, always all three.

    Examples
    --------
    >>> import spacy
    >>> nlp = spacy.blank("en")
    >>> component = AccountabilityComponent()
    >>> doc = component(nlp("Nothing I could do, legal killed it."))
    >>> sorted(doc.cats), doc._.accountability_label, doc._.accountability_status
    (['deflection', 'ownership', 'victim'], 'victim', 'scored')
    >>> empty = component(nlp(""))
    >>> empty.cats, empty._.accountability_status
    ({}, 'unscorable: empty note')
    """

    def __init__(
        self,
        name: str = FACTORY_NAME,
        *,
        model: Model | str | Path | None = None,
        threshold: float = 0.5,
    ) -> None:
        owner = "AccountabilityComponent"
        if model is not None and not isinstance(model, (Model, str, Path)):
            raise TypeError(
                f"The 'model' parameter of {owner} must be a Model, the path of a model "
                f"folder, or None for the bundled model. Got {type(model).__name__} instead."
            )
        self.name = name
        self.threshold = _check_threshold(threshold, owner)
        self._model: Model | None = None
        self._model_path: Path | None = None
        if isinstance(model, Model):
            self._model = model
        elif model is not None:
            self._model_path = Path(model)
        _register_extensions()

    def __repr__(self) -> str:
        source = "loaded" if self._model is not None else str(self._model_path or "bundled")
        return (
            f"AccountabilityComponent(name={self.name!r}, model={source}, "
            f"threshold={self.threshold})"
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels written to ``doc.cats``, in canonical order."""
        return LABELS

    @property
    def model(self) -> Model:
        """The wrapped model, read on first use.

        Raises AttributeError (caused by the ModelLoadError) if it cannot be
        loaded: spaCy probes every component with ``hasattr(component,
        "model")`` when it assembles a pipeline (a ``typing.Protocol`` check,
        which runs this property on Python < 3.12), and that probe must not
        break ``nlp.add_pipe`` or ``spacy.load``. Processing a ``Doc`` raises
        the ModelLoadError itself.
        """
        try:
            return self._loaded_model()
        except ModelLoadError as error:
            raise AttributeError(f"AccountabilityComponent.model: {error}") from error

    @model.setter
    def model(self, value: Model) -> None:
        if not isinstance(value, Model):
            raise TypeError(
                f"AccountabilityComponent.model must be a Model. Got "
                f"{type(value).__name__} instead; load a folder with accountability_nlp.load."
            )
        self._model, self._model_path = value, None

    def _loaded_model(self) -> Model:
        if self._model is None:
            # Path only: messages and log lines never carry note text.
            logger.info("Loading model from %s", self._model_path or "the bundled default")
            self._model = load(self._model_path)
        return self._model

    # -- prediction ---------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        """Label one ``Doc`` in place and return it."""
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Label a stream of ``Doc`` objects, ``batch_size`` at a time, in order."""
        for batch in minibatch(docs, size=batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch

    def predict(self, docs: Iterable[Doc]) -> np.ndarray:
        """Probabilities for a batch, without modifying the docs.

        Returns
        -------
        ndarray of shape (n_docs, 3)
            Columns follow :attr:`labels`. A label the wrapped model was not
            trained on gets 0. Rows of docs that cannot be scored (see
            :func:`~accountability_nlp.model.unscorable_reason`: empty, a
            placeholder such as "see email", too long) are NaN.
        """
        texts = [doc.text for doc in docs]
        scores = np.full((len(texts), len(LABELS)), np.nan)
        if not any(unscorable_reason(text) is None for text in texts):
            return scores  # nothing to score: no need to load the model
        model = self._loaded_model()
        proba = model.predict_proba(texts)
        scored = ~np.isnan(proba).any(axis=1)
        scores[scored] = 0.0
        for j, label in enumerate(model.classes_):
            scores[scored, LABELS.index(str(label))] = proba[scored, j]
        return scores

    def set_annotations(self, docs: Iterable[Doc], scores: np.ndarray) -> None:
        """Write ``scores`` (from :meth:`predict`) to the docs.

        Scored docs get ``doc.cats[label]`` for every label,
        ``doc._.accountability_status == "scored"`` and the top label in
        ``doc._.accountability_label`` (None below :attr:`threshold`). Docs
        that cannot be scored keep no label of ours in ``doc.cats`` and get
        ``"unscorable: <reason>"`` as status.
        """
        for doc, row in zip(docs, scores, strict=True):
            if np.isnan(row).any():
                for label in LABELS:  # drop stale scores of an earlier run
                    doc.cats.pop(label, None)
                reason = unscorable_reason(doc.text) or "no score"
                doc._.set(STATUS_ATTR, f"unscorable: {reason}")
                doc._.set(LABEL_ATTR, None)
                continue
            for label, probability in zip(LABELS, row, strict=True):
                doc.cats[label] = float(probability)
            top = int(np.argmax(row))
            doc._.set(LABEL_ATTR, LABELS[top] if row[top] >= self.threshold else None)
            doc._.set(STATUS_ATTR, "scored")

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """Score predictions against gold ``cats``, for ``nlp.evaluate``.

        Uses ``spacy.scorer.Scorer.score_cats`` with the three labels as
        mutually exclusive classes.
        """
        kwargs.setdefault("labels", LABELS)
        kwargs.setdefault("threshold", self.threshold)
        return Scorer.score_cats(examples, "cats", multi_label=False, **kwargs)

    # -- serialization --------------------------------------------------------

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        """Save the wrapped model to ``path / "model"`` as a model folder."""

        def write_model(folder: Path) -> None:
            self._loaded_model().save(folder, overwrite=True)

        util.to_disk(util.ensure_path(path), {"model": write_model}, exclude)

    def from_disk(
        self, path: str | Path, *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> AccountabilityComponent:
        """Load the model saved by :meth:`to_disk`; returns ``self``.

        The model's types are checked against the trusted list before
        anything in it is constructed (see :mod:`accountability_nlp.persistence`).
        """
        readers = {"model": lambda p: setattr(self, "model", load(p))}
        util.from_disk(util.ensure_path(path), readers, exclude)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        """The wrapped model as bytes: its folder's files in a msgpack dict.

        The model head inside stays in skops format; nothing is pickled.
        """
        return util.to_bytes({"model": self._model_files}, exclude)

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> AccountabilityComponent:
        """Load a model from :meth:`to_bytes` output; returns ``self``."""
        util.from_bytes(bytes_data, {"model": self._load_model_files}, exclude)
        return self

    def _model_files(self) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = self._loaded_model().save(Path(tmp) / "model")
            files = {f.name: f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file()}
        # msgpack, never pickle: reading it back cannot run code.
        return srsly.msgpack_dumps(files)

    def _load_model_files(self, data: bytes) -> None:
        files = srsly.msgpack_loads(data)
        # The bytes may come from anywhere: accept plain file names only, so
        # a crafted name like "../x" cannot write outside the temporary folder.
        bad = (
            not isinstance(files, dict)
            or not all(isinstance(v, bytes) for v in files.values())
            or any(
                not isinstance(k, str) or k in ("", ".", "..") or Path(k).name != k for k in files
            )
        )
        if bad:
            raise ModelLoadError(
                "AccountabilityComponent.from_bytes expects the output of "
                "AccountabilityComponent.to_bytes: a dict of plain file names to bytes "
                "under 'model'. Got something else; re-serialize the pipeline."
            )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            for file_name, content in files.items():
                (folder / file_name).write_bytes(content)
            self.model = load(folder)


@Language.factory(
    FACTORY_NAME,
    default_config={"model": None, "threshold": 0.5},
    assigns=["doc.cats", f"doc._.{LABEL_ATTR}", f"doc._.{STATUS_ATTR}"],
)
def make_accountability_classifier(
    nlp: Language, name: str, model: str | None = None, threshold: float = 0.5
) -> AccountabilityComponent:
    """Create the component (spaCy calls this for ``nlp.add_pipe``).

    Parameters
    ----------
    nlp : spacy.language.Language
        The pipeline (unused: the model brings its own preprocessing).
    name : str
        The component's name.
    model : str or None, default=None
        Folder of a saved model; None for the bundled model.
    threshold : float, default=0.5
        Minimum top probability for ``doc._.accountability_label``.

    Examples
    --------
    >>> import spacy
    >>> import accountability_nlp  # registers the factory
    >>> nlp = spacy.blank("en")
    >>> _ = nlp.add_pipe("accountability_classifier")
    >>> doc = nlp("I never confirmed budget with the CFO. On me.")
    >>> max(doc.cats, key=doc.cats.get), round(sum(doc.cats.values()), 6)
    ('ownership', 1.0)
    """
    return AccountabilityComponent(name, model=model, threshold=threshold)
