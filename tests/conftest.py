"""Shared fixtures: built once per session, used across test modules."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# In CI, property tests use a fixed sequence of examples: a red build then
# always means a change broke something, not that a new random case was drawn.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

import accountability_nlp as anlp

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def default_model() -> anlp.Model:
    """The bundled default model, loaded once."""
    return anlp.load()


@pytest.fixture(scope="session")
def corpus() -> pd.DataFrame:
    """The labeled corpus, ``data/notes.csv``."""
    return pd.read_csv(DATA / "notes.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def small_model(corpus: pd.DataFrame) -> anlp.Model:
    """A model trained in seconds on 300 corpus notes, for tests of mechanics."""
    sample = corpus[corpus["split"] == "train"].groupby("label").head(100)
    return anlp.train(
        sample["text"].tolist(), sample["label"].tolist(), calibration=None, name="small"
    )


@pytest.fixture(scope="session")
def sample_export() -> Path:
    """The bundled sample CRM export."""
    return DATA / "sample" / "crm_export.csv"
