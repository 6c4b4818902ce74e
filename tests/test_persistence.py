"""Tests of model folders (accountability_nlp.persistence, Model.save, load).

Includes the refusal of tampered model files: every payload below leaves a
marker file when its code runs, and each refusal test checks the marker is
absent afterwards, then runs the payload on purpose to prove it was live.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from _anlp_payloads import ReducePayload, tampered_head
from sklearn.linear_model import LogisticRegression

import accountability_nlp as anlp
from accountability_nlp.errors import ModelLoadError, UntrustedModelError
from accountability_nlp.estimator import AccountabilityClassifier
from accountability_nlp.model import Model
from accountability_nlp.persistence import (
    FORMAT_VERSION,
    default_model_path,
    read_model_folder,
    write_model_folder,
)
from accountability_nlp.training import evaluate

NOTES = [
    "I never confirmed budget.",
    "Lost on price. Competitor came in 30% lower.",
    "Nothing I could do. Deals like this always die in legal.",
    "",
]


@pytest.fixture(scope="module")
def saved(
    small_model: Model, corpus: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``small_model`` with dev metrics, saved once for the read-only tests."""
    dev = corpus[corpus["split"] == "dev"].head(60)
    metrics = {"dev": evaluate(small_model, dev["text"], dev["label"])}
    meta = {**small_model.meta, "metrics": metrics}
    model = Model(small_model.estimator, meta, review_threshold=0.65)
    return model.save(tmp_path_factory.mktemp("saved") / "model")


def _folder_with_head(path: Path, head: bytes | Path, meta: dict | None = None) -> Path:
    """A model folder with a valid meta.json and the given head file."""
    path.mkdir(parents=True)
    if meta is None:
        meta = {"format_version": FORMAT_VERSION}
    (path / "meta.json").write_text(json.dumps(meta))
    target = path / "head.skops"
    if isinstance(head, Path):
        os.replace(head, target)
    else:
        target.write_bytes(head)
    return path


# -- round trip -------------------------------------------------------------------


def test_persistence_round_trip_same_predictions(small_model: Model, saved: Path) -> None:
    loaded = anlp.load(saved)
    assert loaded.predict(NOTES) == small_model.predict(NOTES)
    np.testing.assert_allclose(loaded.predict_proba(NOTES), small_model.predict_proba(NOTES))
    assert loaded.classes_.tolist() == small_model.classes_.tolist()
    original = small_model.explain(NOTES[0]).evidence
    assert loaded.explain(NOTES[0]).evidence == original


def test_persistence_folder_layout_and_meta(saved: Path, small_model: Model) -> None:
    assert sorted(p.name for p in saved.iterdir()) == ["README.md", "head.skops", "meta.json"]
    meta = json.loads((saved / "meta.json").read_text(encoding="utf-8"))
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["review_threshold"] == 0.65
    assert meta["training"] == small_model.meta["training"]
    loaded = anlp.load(str(saved))  # a str path works too
    assert loaded.review_threshold == 0.65
    assert loaded.meta["name"] == "small"


def test_persistence_model_card_has_metrics(saved: Path) -> None:
    card = (saved / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# Model card: small")
    assert "## Evaluation" in card
    assert re.search(r"### dev: macro-F1 \d\.\d{3}, accuracy \d\.\d{3} \(n=60\)", card)
    assert "| ownership |" in card
    assert "Predictions whose top probability is below 0.65" in card


def test_persistence_no_staging_folders_left(saved: Path) -> None:
    assert [p.name for p in saved.parent.iterdir()] == ["model"]


def test_persistence_refuses_to_overwrite(small_model: Model, tmp_path: Path) -> None:
    path = small_model.save(tmp_path / "model")
    expected = (
        f"Model folder {str(path)!r} already exists. Pass overwrite=True "
        "(CLI: --overwrite) to replace it, or choose another path."
    )
    with pytest.raises(FileExistsError, match=f"^{re.escape(expected)}$"):
        small_model.save(path)


def test_persistence_overwrite_replaces_atomically(small_model: Model, tmp_path: Path) -> None:
    path = small_model.save(tmp_path / "model")
    (path / "stale.txt").write_text("old")
    relabeled = Model(small_model.estimator, {**small_model.meta, "name": "second"})
    assert relabeled.save(path, overwrite=True) == path
    assert not (path / "stale.txt").exists()
    assert anlp.load(path).meta["name"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_persistence_failed_save_leaves_nothing_behind(
    small_model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_model.save(tmp_path / "model")

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(sio, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        small_model.save(tmp_path / "other")
    with pytest.raises(OSError, match="disk full"):
        small_model.save(path, overwrite=True)
    # The old model is intact and no half-written folder exists.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert anlp.load(path).predict(NOTES[:1]) == small_model.predict(NOTES[:1])


def test_persistence_default_model_path() -> None:
    path = default_model_path()
    assert (path / "meta.json").is_file()
    assert (path / "head.skops").is_file()


# -- folders that cannot be loaded ------------------------------------------------


def test_persistence_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    expected = (
        f"No model folder at {str(missing)!r}. A model folder holds meta.json and head.skops; "
        "create one with `accountability-nlp train` or model.save(path), or call load() "
        "with no argument for the bundled model."
    )
    with pytest.raises(ModelLoadError, match=f"^{re.escape(expected)}$"):
        anlp.load(missing)
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(ModelLoadError, match=r"^No model folder at"):
        anlp.load(tmp_path / "file.txt")


@pytest.mark.parametrize(
    ("present", "missing"),
    [((), "['meta.json', 'head.skops']"), (("meta.json",), "['head.skops']"),
     (("head.skops",), "['meta.json']")],
)
def test_persistence_incomplete_folder(
    tmp_path: Path, present: tuple[str, ...], missing: str
) -> None:
    for name in present:
        (tmp_path / name).write_text("{}")
    expected = (
        f"Model folder {str(tmp_path)!r} is incomplete: missing {missing}. "
        "Re-save the model, or retrain it with `accountability-nlp train`."
    )
    with pytest.raises(ModelLoadError, match=f"^{re.escape(expected)}$"):
        anlp.load(tmp_path)


def test_persistence_bad_json(saved: Path, tmp_path: Path) -> None:
    folder = _folder_with_head(tmp_path / "m", (saved / "head.skops").read_bytes())
    (folder / "meta.json").write_text("{format_version: 1")
    meta_path = str(folder / "meta.json")
    with pytest.raises(ModelLoadError, match=f"^{re.escape(repr(meta_path))} is not valid JSON: "):
        anlp.load(folder)


@pytest.mark.parametrize(
    ("content", "kind"), [("[1]", "array"), ("null", "null"), ('"x"', "string"), ("3", "number")]
)
def test_persistence_meta_json_not_an_object(
    saved: Path, tmp_path: Path, content: str, kind: str
) -> None:
    folder = _folder_with_head(tmp_path / "m", (saved / "head.skops").read_bytes())
    (folder / "meta.json").write_text(content)
    expected = f"{str(folder / 'meta.json')!r} must hold a JSON object; got a JSON {kind}."
    with pytest.raises(ModelLoadError, match=f"^{re.escape(expected)}"):
        anlp.load(folder)


def test_persistence_meta_json_not_utf8(saved: Path, tmp_path: Path) -> None:
    folder = _folder_with_head(tmp_path / "m", (saved / "head.skops").read_bytes())
    (folder / "meta.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelLoadError, match=r"meta\.json' is not valid JSON: 'utf-8' codec"):
        anlp.load(folder)


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_persistence_wrong_format_version(saved: Path, tmp_path: Path, version: object) -> None:
    meta = {} if version is None else {"format_version": version}
    folder = _folder_with_head(tmp_path / "m", (saved / "head.skops").read_bytes(), meta)
    expected = (
        f"Model folder {str(folder)!r} has format_version {version!r}; this version "
        "of accountability_nlp reads format_version 1. Retrain the model or install "
        "the library version that wrote it."
    )
    with pytest.raises(ModelLoadError, match=f"^{re.escape(expected)}$"):
        anlp.load(folder)


@pytest.mark.parametrize(
    "head",
    [b"just some text", b"", b"PK\x03\x04 truncated zip"],
    ids=["text", "empty", "broken-zip"],
)
def test_persistence_not_a_skops_file(tmp_path: Path, head: bytes) -> None:
    folder = _folder_with_head(tmp_path / "m", head)
    expected = f"{str(folder / 'head.skops')!r} is not a skops file ("
    with pytest.raises(UntrustedModelError, match=f"^{re.escape(expected)}"):
        anlp.load(folder)


def test_persistence_zip_without_schema_is_not_a_skops_file(tmp_path: Path) -> None:
    archive = tmp_path / "head.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data.pkl", pickle.dumps({"a": 1}))
    folder = _folder_with_head(tmp_path / "m", archive)
    expected = r"is not a skops file .* never loaded from pickle"
    with pytest.raises(UntrustedModelError, match=expected):
        anlp.load(folder)


def test_persistence_trusted_but_wrong_estimator(tmp_path: Path) -> None:
    folder = _folder_with_head(tmp_path / "m", sio.dumps(LogisticRegression()))
    expected = f"{str(folder / 'head.skops')!r} holds a LogisticRegression, not an "
    with pytest.raises(ModelLoadError, match=f"^{re.escape(expected)}AccountabilityClassifier.$"):
        anlp.load(folder)


# -- tampered files: payloads must not run -----------------------------------------


def test_persistence_refuses_untrusted_type_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran.txt"
    folder = _folder_with_head(tmp_path / "m", tampered_head(str(marker)))
    head = str(folder / "head.skops")
    expected = (
        f"Refusing to load {head!r}: it contains types that are not on the trusted list: "
        "['_anlp_payloads.SetStatePayload']. Only load models from sources you trust"
    )
    with pytest.raises(UntrustedModelError, match=f"^{re.escape(expected)}"):
        anlp.load(folder)
    with pytest.raises(UntrustedModelError):
        read_model_folder(folder)
    assert not marker.exists()
    # Control: the payload is live; trusting it runs it.
    sio.load(head, trusted=sio.get_untrusted_types(file=head))
    assert marker.read_text() == "payload ran"


@pytest.mark.parametrize(
    ("dangerous", "name"),
    [(os.system, f"{os.system.__module__}.system"), (exec, "builtins.exec"),
     (eval, "builtins.eval")],
    ids=["os.system", "exec", "eval"],
)
def test_persistence_refuses_code_running_functions(
    tmp_path: Path, dangerous: object, name: str
) -> None:
    tampered = AccountabilityClassifier()
    tampered.hook_ = dangerous
    folder = _folder_with_head(tmp_path / "m", sio.dumps(tampered))
    with pytest.raises(UntrustedModelError, match=re.escape(f"trusted list: ['{name}']")):
        anlp.load(folder)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_refuses_pickle_renamed_as_skops(tmp_path: Path, dump: str) -> None:
    marker = tmp_path / "payload-ran.txt"
    payload = ReducePayload(str(marker))
    renamed = tmp_path / "model.pkl"
    if dump == "pickle":
        renamed.write_bytes(pickle.dumps(payload))
    else:
        joblib.dump(payload, renamed)
    folder = _folder_with_head(tmp_path / "m", renamed.read_bytes())
    head = str(folder / "head.skops")
    with pytest.raises(
        UntrustedModelError,
        match=f"^{re.escape(repr(head))} is not a skops file .*never loaded from pickle or joblib",
    ):
        anlp.load(folder)
    assert not marker.exists()
    # Control: unpickling the same bytes runs the payload.
    joblib.load(head)
    assert marker.read_text() == "payload ran"


def test_persistence_write_model_folder_direct(small_model: Model, tmp_path: Path) -> None:
    path = write_model_folder(
        small_model.estimator, {"name": "x"}, "# card\n", tmp_path / "a" / "b"
    )
    assert (path / "README.md").read_text() == "# card\n"
    estimator, meta = read_model_folder(path)
    assert meta == {"format_version": FORMAT_VERSION, "name": "x"}
    assert isinstance(estimator, AccountabilityClassifier)


# -- privacy ----------------------------------------------------------------------

_SECRETS = {
    "name": "Whitfield",
    "full name": "Dana Whitfield",
    "email": "dana.whitfield@brightpath-example.com",
    "email local part": "dana.whitfield",
    "email domain": "brightpath",
    "phone": "415-555-0199",
    "phone digits": "4155550199",
    "phone line": "5550199",
    "url": "https://brightpath-example.com/deals/77813",
    "url path": "deals/77813",
    "money": "48,750",
    "money digits": "48750",
    "other name": "Okonkwo",
}

_PII_NOTES = [
    ("Call Dana Whitfield at 415-555-0199 or dana.whitfield@brightpath-example.com. "
     "I never followed up after the demo, my miss.", "ownership"),
    ("Quote of $48,750 went to Ifeoma Okonkwo; I skipped the value case, on me.", "ownership"),
    ("See https://brightpath-example.com/deals/77813 - legal sat on it for weeks.",
     "deflection"),
    ("Dana Whitfield's procurement team picked the cheaper vendor at $48,750.", "deflection"),
    ("Nothing I could do, Whitfield's board always kills deals. 415-555-0199 never answers.",
     "victim"),
    ("Ifeoma Okonkwo ghosted again, it always ends like this. Hopeless.", "victim"),
]


def _secret_hits(data: bytes, where: str) -> list[str]:
    lowered = data.lower()
    return [
        f"{kind} in {where}"
        for kind, secret in _SECRETS.items()
        if secret.lower().encode("utf-8") in lowered
    ]


def test_persistence_saved_model_holds_no_personal_data(
    corpus: pd.DataFrame, tmp_path: Path
) -> None:
    sample = corpus[corpus["split"] == "train"].groupby("label").head(20)
    texts = sample["text"].tolist() + [note for note, _ in _PII_NOTES] * 3
    labels = sample["label"].tolist() + [label for _, label in _PII_NOTES] * 3
    # Control: the search finds each secret as written in the notes.
    in_notes = {hit.split(" in ")[0] for hit in _secret_hits("\n".join(texts).encode(), "notes")}
    assert {"full name", "email", "phone", "url", "money", "other name"} <= in_notes
    model = anlp.train(texts, labels, calibration=None, n_features=2**12, name="pii-check")
    folder = model.save(tmp_path / "model")
    hits = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hits += _secret_hits(path.read_bytes(), path.name)
    with zipfile.ZipFile(folder / "head.skops") as archive:
        members = archive.namelist()
        assert members  # the check below must have something to read
        for member in members:
            hits += _secret_hits(archive.read(member), f"head.skops:{member}")
    assert hits == []


def test_persistence_loading_a_model_does_not_import_spacy() -> None:
    # spaCy loads on the first prediction: load() stays fast for tools that
    # only read a model's metadata or hand it to worker processes.
    code = (
        "import sys, accountability_nlp as anlp\n"
        "model = anlp.load()\n"
        "before = 'spacy' in sys.modules\n"
        "label = model.predict(['I never confirmed budget.'])[0]\n"
        "print(before, 'spacy' in sys.modules, label)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "ownership"]
