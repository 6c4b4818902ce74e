"""Assign the train/dev/test split of ``data/notes.csv``, stratified.

Every (label, style, hard) cell is shuffled with a fixed seed and cut 70/15/15,
so each split has the same mix of labels, voices and hard cases. The result
depends only on the notes' ids and the seed: re-running it is a no-op.

Usage::

    python scripts/split_corpus.py [data/notes.csv] [--seed 13]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

SHARES = (("train", 0.70), ("dev", 0.15), ("test", 0.15))
COLUMNS = ["id", "text", "label", "split", "hard", "style"]


def assign_splits(frame: pd.DataFrame, seed: int) -> pd.Series:
    """Return the split of each row, stratified by label, style and hard."""
    rng = np.random.default_rng(seed)
    split = pd.Series("", index=frame.index, dtype=object)
    for _, cell in frame.sort_values("id").groupby(["label", "style", "hard"], sort=True):
        order = rng.permutation(cell.index.to_numpy())
        n_dev = round(len(order) * SHARES[1][1])
        n_test = round(len(order) * SHARES[2][1])
        split[order[:n_dev]] = "dev"
        split[order[n_dev : n_dev + n_test]] = "test"
        split[order[n_dev + n_test :]] = "train"
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="data/notes.csv", type=Path)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    frame = pd.read_csv(args.path, dtype=str, keep_default_na=False)
    frame["split"] = assign_splits(frame, args.seed)
    frame = frame[COLUMNS]
    # Atomic write: a crash never leaves a half-written corpus.
    fd, tmp = tempfile.mkstemp(dir=args.path.parent, suffix=".csv.tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False)
    os.replace(tmp, args.path)
    print(frame.groupby(["split", "label"]).size().unstack().to_string())


if __name__ == "__main__":
    main()
