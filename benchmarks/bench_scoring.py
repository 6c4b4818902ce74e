"""End-to-end file scoring: ``accountability-nlp score`` against a TF-IDF yardstick.

Run from the repository root::

    python3 benchmarks/bench_scoring.py                 # 1,000,000 rows, writes RESULTS.md
    python3 benchmarks/bench_scoring.py --rows 20000    # a quick run while developing

It generates (or reuses) ``benchmarks/_work/crm_<rows>.csv``: corpus notes
sampled with replacement, with random CRM metadata (id, owner, team, close
date, amount). Then, each in its own subprocess, CSV in and CSV out, it
measures wall time (notes/s) and the peak summed RSS of the process tree:

* ``accountability-nlp score --workers 1``
* ``accountability-nlp score --workers 2``
* the yardstick: scikit-learn TF-IDF + LogisticRegression, fitted on the
  corpus train split, over the same rows (pandas chunks, ``predict_proba``,
  CSV out).
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, SUBPROCESS_ENV, WORK, RunStats, machine_table, run_measured, tfidf_logreg

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TEXT = "Loss Notes"
SEED = 0
CHUNK_ROWS = 50_000

OWNERS = [f"{first} {last}" for first in ("Avery", "Bryce", "Dana", "Ines", "Kofi", "Mara",
                                           "Noor", "Priya", "Tobias", "Wen")
          for last in ("Aldridge", "Brennan", "Castillo", "Fairweather")]
TEAMS = ["SMB West", "SMB East", "Mid-Market", "Enterprise", "Public Sector"]


def generate(path: Path, rows: int) -> None:
    """Write ``rows`` CRM rows with corpus notes to ``path``, in chunks (atomically)."""
    corpus = pd.read_csv(ROOT / "data" / "notes.csv", dtype=str, keep_default_na=False)
    notes = corpus["text"].to_numpy()
    rng = np.random.default_rng(SEED)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    days = pd.date_range("2024-01-01", "2026-12-31").strftime("%Y-%m-%d").to_numpy()
    partial = path.with_suffix(".csv.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            ids = ["006" + "".join(chars) for chars in rng.choice(alphabet, size=(n, 15))]
            chunk = pd.DataFrame({
                "Opportunity ID": ids,
                "Opportunity Owner": rng.choice(OWNERS, size=n),
                "Sales Team": rng.choice(TEAMS, size=n),
                "Close Date": rng.choice(days, size=n),
                "Amount": np.round(rng.lognormal(10.5, 1.0, size=n), 2),
                TEXT: rng.choice(notes, size=n),
            })
            chunk.to_csv(handle, index=False, header=start == 0, lineterminator="\n")
    partial.replace(path)


def fit_yardstick(path: Path) -> None:
    """Fit TF-IDF + LogisticRegression on the corpus train split; pickle it to ``path``."""
    corpus = pd.read_csv(ROOT / "data" / "notes.csv", dtype=str, keep_default_na=False)
    train = corpus[corpus["split"] == "train"]
    pipeline = tfidf_logreg(SEED)
    pipeline.fit(train["text"].tolist(), train["label"].tolist())
    # Pickle is fine here: the file is made by this script, in a gitignored folder.
    path.write_bytes(pickle.dumps(pipeline))


def run_yardstick(source: Path, target: Path, model_file: Path) -> None:
    """The yardstick's scoring loop (run in its own process by the benchmark)."""
    pipeline = pickle.loads(model_file.read_bytes())
    classes = pipeline.classes_
    with target.open("w", encoding="utf-8", newline="") as handle:
        chunks = pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS)
        for index, chunk in enumerate(chunks):
            proba = pipeline.predict_proba(chunk[TEXT].tolist())
            chunk["label"] = classes[proba.argmax(axis=1)]
            for j, label in enumerate(classes):
                chunk[f"p_{label}"] = proba[:, j]
            chunk.to_csv(handle, index=False, header=index == 0, lineterminator="\n")


def count_rows(path: Path) -> int:
    """Rows of a CSV (notes may hold line breaks, so lines are not rows)."""
    return sum(len(chunk) for chunk in pd.read_csv(path, usecols=[0], dtype=str,
                                                   chunksize=200_000))


def wait_for_score_command(timeout: float) -> None:
    """Poll until the ``score`` command exists (it may still be being written)."""
    deadline = time.monotonic() + timeout
    while True:
        probe = subprocess.run([sys.executable, "-m", "accountability_nlp", "score", "--help"],
                               cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
        if probe.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit("The 'score' command of accountability-nlp is not available.")
        print("    waiting for the 'score' command ...", flush=True)
        time.sleep(30)


def measure(name: str, command: list[str], output: Path, rows: int) -> dict[str, object]:
    print(f"{name} ...", flush=True)
    output.unlink(missing_ok=True)
    stats: RunStats = run_measured(command)
    if stats.returncode != 0:
        raise SystemExit(f"{name} failed (exit {stats.returncode}):\n{stats.stderr_tail}")
    written = count_rows(output)
    output.unlink()  # hundreds of MB at full size; only its row count matters
    if written != rows:
        raise SystemExit(f"{name} wrote {written} rows, expected {rows}.")
    rate = rows / stats.seconds
    print(f"    {stats.seconds:.1f} s, {rate:,.0f} notes/s, {stats.cpu_seconds:.0f} CPU-s "
          f"({rows / stats.cpu_seconds:,.0f} notes per CPU-s), peak RSS "
          f"{stats.peak_rss_mb:,.0f} MB, load average {os.getloadavg()[0]:.1f}", flush=True)
    return {"name": name, "seconds": stats.seconds, "rate": rate, "peak": stats.peak_rss_mb,
            "cpu": stats.cpu_seconds, "per_cpu": rows / stats.cpu_seconds,
            "load": os.getloadavg()[0]}


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["yardstick"]:  # the subprocess the benchmark measures
        run_yardstick(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Rows to score.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results file.")
    parser.add_argument("--wait", type=float, default=3600,
                        help="Seconds to wait for the 'score' command to exist.")
    args = parser.parse_args(argv)

    WORK.mkdir(exist_ok=True)
    source = WORK / f"crm_{args.rows}.csv"
    if source.is_file():
        print(f"Reusing {source}")
    else:
        print(f"Generating {source} ({args.rows:,} rows) ...", flush=True)
        generate(source, args.rows)
    size_mb = source.stat().st_size / 2**20
    model_file = WORK / "yardstick.pkl"
    fit_yardstick(model_file)
    machine = machine_table(["accountability-nlp", "spacy", "scikit-learn", "numpy", "pandas",
                             "psutil"])

    results = [measure(
        "Yardstick: TF-IDF + LogisticRegression (1 process)",
        [sys.executable, str(Path(__file__).resolve()), "yardstick", str(source),
         str(WORK / "yardstick_out.csv"), str(model_file)],
        WORK / "yardstick_out.csv", args.rows,
    )]
    wait_for_score_command(args.wait)
    # 2 workers first: the ratio to the yardstick is the headline figure.
    for workers in (2, 1):
        output = WORK / f"scored_w{workers}.csv"
        results.append(measure(
            f"`accountability-nlp score --workers {workers}`",
            [sys.executable, "-m", "accountability_nlp", "score", str(source),
             "--output", str(output), "--text-column", TEXT, "--workers", str(workers),
             "--quiet"],
            output, args.rows,
        ))
    yardstick, two, one = results
    ratio = float(two["rate"]) / float(yardstick["rate"])  # type: ignore[arg-type]
    speedup = float(two["rate"]) / float(one["rate"])  # type: ignore[arg-type]
    cpu_ratio = float(two["per_cpu"]) / float(yardstick["per_cpu"])  # type: ignore[arg-type]
    print(f"2-worker throughput / yardstick throughput: {ratio:.3f}; 2 vs 1 worker: "
          f"{speedup:.2f}x")

    table = "\n".join([
        "| Run | Seconds | Notes/s | CPU seconds | Notes per CPU second | "
        "Peak RSS of the process tree (MB) | Load average (1 min) at the end |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(f"| {r['name']} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['cpu']:,.0f} | "
          f"{r['per_cpu']:,.0f} | {r['peak']:,.0f} | {r['load']:.1f} |"
          for r in (one, two, yardstick)),
    ])
    report = f"""# File-scoring benchmark

Written by `python3 benchmarks/bench_scoring.py --rows {args.rows}`; rerun it to
refresh these figures.

Input: `benchmarks/_work/crm_{args.rows}.csv`, {args.rows:,} rows ({size_mb:,.0f} MB):
corpus notes sampled with replacement (seed {SEED}) with random CRM metadata.
Each run is one subprocess, CSV in and CSV out, timed from start to exit
(interpreter start, model load, reading and writing included); peak memory is
the summed RSS of the process and its children, sampled every 50 ms with psutil.
CPU seconds are user + system time of the process and its children
(`getrusage`): unlike wall time, they do not grow when other programs compete
for the cores.

{table}

**Ratio, 2-worker throughput / yardstick throughput: {ratio:.3f}**
(2 workers vs 1 worker: {speedup:.2f}x; per CPU second, 2 workers / yardstick:
{cpu_ratio:.3f}).

The yardstick is the plain baseline a user could write in a few lines:
TF-IDF (word 1-2 grams) + LogisticRegression fitted on the corpus train split,
pandas chunks of {CHUNK_ROWS:,} rows, `predict_proba`, CSV out. It gives labels
and probabilities only: no parsing, no cue features, no evidence, no review
flag, no handling of unscorable rows. The machine is shared, so other
processes may have competed for the two cores: see the load average below.

## Machine

{machine}
"""
    args.output.write_text(report, encoding="utf-8")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
