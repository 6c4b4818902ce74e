"""Tests of the spaCy component (accountability_nlp.component)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spacy
import srsly
from spacy.language import Language
from spacy.training import Example
from spacy.ty import ListenedToComponent

import accountability_nlp as anlp
from accountability_nlp.component import AccountabilityComponent, make_accountability_classifier
from accountability_nlp.errors import ModelLoadError

NOTES = [
    "Nothing I could do, legal killed it.",
    "I never confirmed budget with the CFO. On me.",
    "Lost on price. Competitor came in 30% lower.",
    "this territory is rigged, every deal dies in procurement no matter what",
    "we skipped discovery and demoed the wrong module. my call, won't happen again",
]

# A handful of notes a tiny model can fit exactly (spaCy's "overfit" idea).
TRAIN = [
    ("I never sent the recap after the demo, that one is on me.", "ownership"),
    ("My fault: I skipped discovery and guessed their requirements.", "ownership"),
    ("I should have booked the CFO meeting myself instead of waiting.", "ownership"),
    ("I let the pilot drift without success criteria. Fixing that next time.", "ownership"),
    ("Their procurement team stalled for months and then picked the incumbent.", "deflection"),
    ("Product is missing SSO. Not a sales issue.", "deflection"),
    ("Marketing passed us a lead with no budget at all.", "deflection"),
    ("Competitor undercut our price by 30 percent.", "deflection"),
    ("Nothing anyone could do. These deals always die.", "victim"),
    ("This territory is impossible, it never works out for me.", "victim"),
    ("Another one gone. The whole quarter is rigged against me.", "victim"),
    ("No point trying, it always ends the same way here.", "victim"),
]


def _component(nlp: Language, *, add: bool = False) -> AccountabilityComponent:
    name = "accountability_classifier"
    component = nlp.add_pipe(name) if add else nlp.get_pipe(name)
    assert isinstance(component, AccountabilityComponent)
    return component


def _top(cats: dict[str, float]) -> str:
    return max(cats, key=lambda label: cats[label])


@pytest.fixture(scope="module")
def nlp_default() -> Language:
    """A blank English pipeline with the component and the bundled model."""
    nlp = spacy.blank("en")
    nlp.add_pipe("accountability_classifier")
    return nlp


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted on the handful of notes in TRAIN, saved to a folder."""
    texts = [text for text, _ in TRAIN]
    labels = [label for _, label in TRAIN]
    model = anlp.train(texts, labels, calibration=None, name="tiny")
    return model.save(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def nlp_tiny(tiny_model_path: Path) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("accountability_classifier", config={"model": str(tiny_model_path)})
    return nlp


def test_component_add_pipe_writes_all_labels(nlp_default: Language) -> None:
    for doc in map(nlp_default, NOTES):
        assert sorted(doc.cats) == sorted(anlp.LABELS)
        assert sum(doc.cats.values()) == pytest.approx(1.0)
        assert doc._.accountability_status == "scored"
        assert doc._.accountability_label == _top(doc.cats)


def test_component_labels_follow_model(nlp_default: Language, default_model: anlp.Model) -> None:
    cats = [nlp_default(note).cats for note in NOTES]
    assert [_top(c) for c in cats] == default_model.predict(NOTES)
    proba = default_model.predict_proba(NOTES)
    for row, c in zip(proba, cats, strict=True):
        expected = dict(zip(map(str, default_model.classes_), row, strict=True))
        assert c == pytest.approx(expected)


def test_component_pipe_matches_call(nlp_default: Language) -> None:
    one_by_one = [nlp_default(note).cats for note in NOTES]
    batched = [doc.cats for doc in nlp_default.pipe(NOTES, batch_size=2)]
    assert batched == one_by_one


def test_component_empty_doc_is_unscorable(nlp_default: Language) -> None:
    for text in ("", "   \n"):
        doc = nlp_default(text)
        assert doc.cats == {}
        assert doc._.accountability_status == "unscorable: empty note"
        assert doc._.accountability_label is None
    docs = list(nlp_default.pipe(["", NOTES[0], " "]))
    assert [bool(d.cats) for d in docs] == [False, True, False]


def test_component_placeholder_note_is_unscorable(nlp_default: Language) -> None:
    # Same rule as Model.score: a CRM placeholder is not a note.
    doc = nlp_default("See email.")
    assert doc.cats == {}
    assert doc._.accountability_status.startswith("unscorable: placeholder")


def test_component_predict_has_no_side_effects(nlp_default: Language) -> None:
    component = _component(nlp_default)
    docs = [nlp_default.make_doc(note) for note in [*NOTES, ""]]
    scores = component.predict(docs)
    assert scores.shape == (len(docs), 3)
    assert np.isnan(scores[-1]).all()
    assert np.allclose(scores[:-1].sum(axis=1), 1.0)
    assert all(doc.cats == {} and doc._.accountability_status is None for doc in docs)


def test_component_reads_text_not_user_tokens(default_model: anlp.Model) -> None:
    # A pipeline that tokenizes differently (no English rules) gets the same cats.
    nlp = spacy.blank("xx")
    _component(nlp, add=True).model = default_model
    english = spacy.blank("en")
    _component(english, add=True).model = default_model
    assert [nlp(n).cats for n in NOTES] == [english(n).cats for n in NOTES]


def test_component_threshold_controls_label(default_model: anlp.Model) -> None:
    component = AccountabilityComponent(model=default_model, threshold=1.0)
    doc = component(spacy.blank("en")(NOTES[0]))
    assert doc._.accountability_label is None
    assert doc._.accountability_status == "scored"
    assert len(doc.cats) == 3


@pytest.mark.parametrize("threshold", [1.5, -0.1, "high", True, float("nan")])
def test_component_rejects_bad_threshold(threshold: object) -> None:
    with pytest.raises(ValueError, match="The 'threshold' parameter of AccountabilityComponent"):
        AccountabilityComponent(threshold=threshold)  # type: ignore[arg-type]


def test_component_factory_validates_config() -> None:
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="threshold"):
        nlp.add_pipe("accountability_classifier", config={"threshold": "high"})


def test_component_rejects_bad_model_type() -> None:
    with pytest.raises(TypeError, match="The 'model' parameter of AccountabilityComponent"):
        AccountabilityComponent(model=42)  # type: ignore[arg-type]
    component = AccountabilityComponent()
    with pytest.raises(TypeError, match=r"AccountabilityComponent\.model must be a Model"):
        component.model = "models/default"  # type: ignore[assignment]


def test_component_missing_model_folder_fails_on_first_use(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("accountability_classifier", config={"model": str(tmp_path / "nope")})
    with pytest.raises(ModelLoadError, match="No model folder at"):
        nlp(NOTES[0])


def test_component_survives_spacys_protocol_probe_of_a_missing_model(tmp_path: Path) -> None:
    # spaCy checks each component against typing.Protocol classes when a
    # pipeline is assembled; on Python < 3.12 that calls hasattr(component,
    # "model"), which must not raise (it did, depending on hash order).
    component = AccountabilityComponent(model=tmp_path / "nope")
    assert not hasattr(component, "model")
    assert not isinstance(component, ListenedToComponent)
    with pytest.raises(AttributeError, match=r"AccountabilityComponent\.model: No model folder at"):
        component.model  # noqa: B018 - the property access is the test
    with pytest.raises(ModelLoadError, match="No model folder at"):
        component(spacy.blank("en")(NOTES[0]))


def test_component_model_with_two_labels_scores_third_as_zero() -> None:
    pairs = [(t, lab) for t, lab in TRAIN if lab != "victim"]
    model = anlp.train([t for t, _ in pairs], [lab for _, lab in pairs], calibration=None)
    doc = AccountabilityComponent(model=model)(spacy.blank("en")(NOTES[2]))
    assert doc.cats["victim"] == 0.0
    assert sum(doc.cats.values()) == pytest.approx(1.0)


def test_component_score_reports_cats_metrics(nlp_tiny: Language) -> None:
    examples = [
        Example.from_dict(
            nlp_tiny.make_doc(text), {"cats": {lab: float(lab == label) for lab in anlp.LABELS}}
        )
        for text, label in TRAIN
    ]
    scores = nlp_tiny.evaluate(examples)
    assert scores["cats_macro_f"] == pytest.approx(1.0)


def test_component_overfitting_io(nlp_tiny: Language, tmp_path: Path) -> None:
    texts = [text for text, _ in TRAIN]
    # The tiny model has learned its training notes...
    docs = list(nlp_tiny.pipe(texts))
    assert [d._.accountability_label for d in docs] == [label for _, label in TRAIN]
    # ...and a saved and reloaded pipeline gives the same predictions.
    nlp_tiny.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "accountability_classifier" / "model" / "meta.json").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["accountability_classifier"]
    assert _component(loaded).model.meta["name"] == "tiny"
    assert [loaded(t).cats for t in texts] == [d.cats for d in docs]


def test_component_bytes_round_trip(nlp_tiny: Language) -> None:
    texts = [text for text, _ in TRAIN]
    expected = [doc.cats for doc in nlp_tiny.pipe(texts)]
    # Another pipeline, starting from the bundled model, takes the tiny one over.
    other = spacy.blank("en")
    other.add_pipe("accountability_classifier")
    other.from_bytes(nlp_tiny.to_bytes())
    assert _component(other).model.meta["name"] == "tiny"
    assert [doc.cats for doc in other.pipe(texts)] == expected


def test_component_exclude_model_skips_it(nlp_tiny: Language, tmp_path: Path) -> None:
    component = _component(nlp_tiny)
    component.to_disk(tmp_path / "c", exclude=["model"])
    assert not (tmp_path / "c" / "model").exists()
    assert srsly.msgpack_loads(component.to_bytes(exclude=["model"])) == {}


def test_component_from_bytes_refuses_unsafe_file_names() -> None:
    component = AccountabilityComponent()
    crafted = srsly.msgpack_dumps({"model": srsly.msgpack_dumps({"../meta.json": b"{}"})})
    with pytest.raises(ModelLoadError, match="a dict of plain file names to bytes"):
        component.from_bytes(crafted)
    with pytest.raises(ModelLoadError, match="from_bytes expects"):
        component.from_bytes(srsly.msgpack_dumps({"model": srsly.msgpack_dumps([1, 2])}))


def test_component_extensions_registered_once() -> None:
    AccountabilityComponent()
    AccountabilityComponent()  # a second component must not re-register (or raise)
    doc = spacy.blank("en")("no annotations yet")
    assert doc._.accountability_status is None
    assert doc._.accountability_label is None


def test_component_entry_point_names_the_factory(root: Path) -> None:
    # After `pip install`, spaCy finds the factory through this entry point.
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    target = project["project"]["entry-points"]["spacy_factories"]["accountability_classifier"]
    module, _, attr = target.partition(":")
    imported = __import__(module, fromlist=[attr])
    assert getattr(imported, attr) is make_accountability_classifier
    assert Language.get_factory_meta("accountability_classifier").factory == (
        "accountability_classifier"
    )
