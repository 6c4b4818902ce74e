"""The walkthrough notebook runs top to bottom against the current library."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


@pytest.mark.slow
def test_notebooks_walkthrough_runs(root: Path) -> None:
    notebook = json.loads((root / "notebooks" / "walkthrough.ipynb").read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert cells, "the walkthrough has no code cells"
    namespace: dict[str, object] = {}
    cwd = Path.cwd()
    os.chdir(root)
    try:
        for number, source in enumerate(cells, 1):
            try:
                exec(compile(source, f"<walkthrough cell {number}>", "exec"), namespace)
            except Exception as error:  # pragma: no cover - the message is the point
                pytest.fail(f"walkthrough code cell {number} failed: {error!r}")
    finally:
        os.chdir(cwd)
    assert namespace["model"].predict(["I never sent the recap."]) == ["ownership"]
    assert namespace["metrics"]["macro_f1"] > 0.6
