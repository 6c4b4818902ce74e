"""Start-up time, prediction throughput and accuracy against the two obvious peers.

Run from the repository root::

    python3 benchmarks/bench_predict.py            # writes benchmarks/RESULTS_predict.md

Measures, in one run:

a. ``import accountability_nlp`` plus ``anlp.load()`` in a fresh interpreter
   (median of several repeats);
b. ``model.predict`` throughput of the bundled model in one process on notes
   of about 40 words (corpus notes of 30-50 words, repeated to ~20,000);
c. the peers a user would otherwise pick, trained on the corpus train split:
   a spaCy ``TextCatBOW`` text classifier on ``spacy.blank("en")`` and a plain
   scikit-learn TF-IDF + LogisticRegression; for each and for the bundled
   model, macro-F1 on the test split and throughput on the same inputs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from _common import ROOT, SUBPROCESS_ENV, machine_table, median_time, tfidf_logreg
from sklearn.metrics import f1_score

RESULTS = Path(__file__).resolve().parent / "RESULTS_predict.md"
SEED = 0

# The first predict is timed apart: parts of the pipeline may load lazily.
IMPORT_AND_LOAD = (
    "import time; t = time.perf_counter(); import accountability_nlp as anlp; "
    "i = time.perf_counter(); m = anlp.load(); e = time.perf_counter(); "
    "m.predict(['Lost on price, my fault for not qualifying budget.']); "
    "f = time.perf_counter(); print(i - t, e - i, e - t, f - e)"
)


def measure_startup(repeats: int) -> dict[str, float]:
    """Median seconds of import, load, both and the first predict in fresh interpreters."""
    imports, loads, totals, firsts, walls = [], [], [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", IMPORT_AND_LOAD], cwd=ROOT,
                             env=SUBPROCESS_ENV, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
        imp, load, total, first = (float(x) for x in out.stdout.split())
        imports.append(imp)
        loads.append(load)
        totals.append(total)
        firsts.append(first)
    return {
        "import": statistics.median(imports),
        "load": statistics.median(loads),
        "total": statistics.median(totals),
        "first": statistics.median(firsts),
        "process": statistics.median(walls),
    }


def forty_word_notes(corpus: pd.DataFrame, n: int) -> list[str]:
    """Corpus notes of 30-50 words, repeated in a shuffled order to ``n`` notes."""
    words = corpus["text"].str.split().str.len()
    pool = corpus.loc[words.between(30, 50), "text"].tolist()
    rng = random.Random(SEED)
    notes: list[str] = []
    while len(notes) < n:
        rng.shuffle(pool)
        notes.extend(pool)
    return notes[:n]


def train_spacy_bow(texts: Sequence[str], labels: Sequence[str], epochs: int) -> Callable:
    """spaCy's bag-of-words text classifier (TextCatBOW.v3, uni+bigrams), exclusive classes."""
    import spacy
    from spacy.training import Example
    from spacy.util import minibatch

    spacy.util.fix_random_seed(SEED)
    nlp = spacy.blank("en")
    textcat: Any = nlp.add_pipe("textcat", config={"model": {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "ngram_size": 2,
        "no_output_layer": False,
        "length": 262144,
    }})
    classes = sorted(set(labels))
    for label in classes:
        textcat.add_label(label)
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {c: float(c == y) for c in classes}})
        for text, y in zip(texts, labels, strict=True)
    ]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(SEED)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            nlp.update(batch, sgd=optimizer, losses={})

    def predict(notes: Sequence[str]) -> list[str]:
        return [max(doc.cats, key=doc.cats.__getitem__)
                for doc in nlp.pipe(notes, batch_size=1000)]

    return predict


def train_tfidf_logreg(texts: Sequence[str], labels: Sequence[str]) -> Callable:
    """TF-IDF on word uni+bigrams of the raw strings, then LogisticRegression."""
    pipeline = tfidf_logreg(SEED)
    pipeline.fit(list(texts), list(labels))
    return lambda notes: list(pipeline.predict(list(notes)))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=20_000, help="Notes per throughput run.")
    parser.add_argument("--repeats", type=int, default=3, help="Throughput runs (median).")
    parser.add_argument("--startup-repeats", type=int, default=5, help="Fresh interpreters.")
    parser.add_argument("--epochs", type=int, default=10, help="spaCy training epochs.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import accountability_nlp as anlp

    machine = machine_table(["accountability-nlp", "spacy", "scikit-learn", "numpy", "pandas"])
    corpus = pd.read_csv(ROOT / "data" / "notes.csv", dtype=str, keep_default_na=False)
    train = corpus[corpus["split"] == "train"]
    test = corpus[corpus["split"] == "test"]
    notes = forty_word_notes(corpus, args.notes)
    mean_words = statistics.mean(len(n.split()) for n in notes)

    print(f"(a) import + load, {args.startup_repeats} fresh interpreters ...", flush=True)
    startup = measure_startup(args.startup_repeats)
    print(f"    import {startup['import']:.2f} s, load {startup['load']:.2f} s, "
          f"total {startup['total']:.2f} s, first predict {startup['first']:.2f} s "
          f"(process wall {startup['process']:.2f} s)")

    model = anlp.load()
    print("(c) training peers on the train split ...", flush=True)
    start = time.perf_counter()
    spacy_predict = train_spacy_bow(train["text"].tolist(), train["label"].tolist(), args.epochs)
    spacy_train = time.perf_counter() - start
    start = time.perf_counter()
    sklearn_predict = train_tfidf_logreg(train["text"].tolist(), train["label"].tolist())
    sklearn_train = time.perf_counter() - start

    systems: list[tuple[str, Callable, str]] = [
        ("accountability_nlp (bundled model)", model.predict, "-"),
        (f"spaCy TextCatBOW.v3, blank('en'), {args.epochs} epochs", spacy_predict,
         f"{spacy_train:.1f} s"),
        ("scikit-learn TF-IDF (1-2 grams) + LogisticRegression", sklearn_predict,
         f"{sklearn_train:.1f} s"),
    ]
    rows = []
    for name, predict, train_time in systems:
        predict(notes[:200])  # warm-up: lazy initialisation is start-up, not throughput
        f1 = f1_score(test["label"].tolist(), predict(test["text"].tolist()), average="macro")
        median, median_cpu, times = median_time(partial(predict, notes), args.repeats)
        rate, per_cpu = len(notes) / median, len(notes) / median_cpu
        rows.append((name, f1, rate, per_cpu, train_time))
        print(f"(b/c) {name}: macro-F1 {f1:.3f}, {rate:,.0f} notes/s, "
              f"{per_cpu:,.0f} notes per CPU-s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)} s)", flush=True)

    card_f1 = model.meta.get("metrics", {}).get("test", {}).get("macro_f1")
    card_f1 = "unknown" if card_f1 is None else f"{card_f1:.3f}"
    table = "\n".join(
        ["| System | Test macro-F1 | Predict notes/s (1 process) | Notes per CPU second "
         "| Training time |",
         "|---|---:|---:|---:|---:|",
         *(f"| {name} | {f1:.3f} | {rate:,.0f} | {per_cpu:,.0f} | {train_time} |"
           for name, f1, rate, per_cpu, train_time in rows)]
    )
    report = f"""# Prediction benchmark

Written by `python3 benchmarks/bench_predict.py`; rerun it to refresh these figures.

## Start-up: `import accountability_nlp` + `anlp.load()`

Fresh interpreter each time, median of {args.startup_repeats}:

| Step | Seconds |
|---|---:|
| `import accountability_nlp` | {startup['import']:.2f} |
| `anlp.load()` (bundled model) | {startup['load']:.2f} |
| Both | {startup['total']:.2f} |
| Then the first `predict` of one note | {startup['first']:.2f} |
| Whole `python -c` process, interpreter start and exit included | {startup['process']:.2f} |

## Accuracy and throughput against the peers

Peers trained on the train split of `data/notes.csv` ({len(train)} notes, seed {SEED});
macro-F1 on its test split ({len(test)} notes). Throughput: `predict` on
{len(notes):,} notes of 30-50 words (mean {mean_words:.1f}), corpus notes repeated
in shuffled order, one process, median of {args.repeats} runs after a warm-up.
Notes per CPU second divide by the process's CPU time instead of wall time:
they hold when other programs compete for the cores, wall time does not
(load average at the start is in the machine table).

{table}

The bundled model's figures are for `models/default` with the code of the
checkout below. Its model card records a test macro-F1 of {card_f1}: a
different figure here means the corpus split, the code or the saved model
changed since it was trained. It does more per note than the peers (spaCy
parsing, cue features, calibration), and `Model.score` adds evidence on top
of `predict`.

## Machine

{machine}
"""
    args.output.write_text(report, encoding="utf-8")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
