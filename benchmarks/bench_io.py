"""Readers and writers of ``accountability_nlp.io``: rows/s per format, memory, share of scoring.

Run from the repository root::

    python3 benchmarks/bench_io.py                 # 200,000 rows, writes RESULTS_io.md
    python3 benchmarks/bench_io.py --rows 20000    # a quick run

It takes the CRM-shaped CSV of ``bench_scoring.py`` (``benchmarks/_work/
crm_<rows>.csv``, generated if missing) and measures, in this process:

* ``read_chunks`` (2,000-row chunks) on CSV, TSV, JSONL and Parquet copies of
  it, and on an Excel copy of its first 20,000 rows; ``pandas.read_csv`` with
  the same chunks as the baseline for CSV;
* ``open_writer`` on each output format, fed the same chunks;
* ``Model.score`` of the bundled model on 2,000 of the notes, to put the io
  cost per row beside the scoring cost per row.

Then, in subprocesses, the peak RSS of reading the CSV in full and of reading
a quarter of it: equal peaks mean memory does not grow with the input.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from _common import WORK, machine_table, run_measured
from bench_scoring import TEXT, generate

from accountability_nlp.io import open_writer, read_chunks

RESULTS = Path(__file__).resolve().parent / "RESULTS_io.md"
CHUNK = 2000
EXCEL_ROWS = 20_000


def rate(rows: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return rows / (time.perf_counter() - started)


def count(path: Path, **kwargs: object) -> int:
    return sum(len(chunk) for chunk in read_chunks(path, chunk_size=CHUNK, **kwargs))  # type: ignore[arg-type]


def write_all(path: Path, chunks: list[pd.DataFrame]) -> None:
    writer = open_writer(path)
    for chunk in chunks:
        writer.write(chunk)
    writer.commit()


def peak_rss_of_reading(path: Path) -> float:
    code = (
        "from accountability_nlp.io import read_chunks\n"
        f"n = sum(len(c) for c in read_chunks({str(path)!r}, chunk_size={CHUNK}))\n"
    )
    stats = run_measured([sys.executable, "-c", code])
    if stats.returncode != 0:
        raise SystemExit(stats.stderr_tail)
    return stats.peak_rss_mb


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="Rows to read and write.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results file.")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    source = WORK / f"crm_{args.rows}.csv"
    if not source.is_file():
        print(f"Generating {source} ...", flush=True)
        generate(source, args.rows)
    chunks = list(read_chunks(source, chunk_size=CHUNK))
    rows = sum(len(c) for c in chunks)
    copies = {fmt: WORK / f"io_{args.rows}.{fmt}" for fmt in ("tsv", "jsonl", "parquet")}
    for path in copies.values():
        write_all(path, chunks)
    excel = WORK / f"io_{EXCEL_ROWS}.xlsx"
    excel_chunks = chunks[: EXCEL_ROWS // CHUNK]
    write_all(excel, excel_chunks)

    reading = [
        ("CSV, `pandas.read_csv` (baseline)", rows, lambda: sum(
            len(c) for c in pd.read_csv(source, dtype=str, keep_default_na=False,
                                        chunksize=CHUNK))),
        ("CSV, `read_chunks`", rows, lambda: count(source)),
        *((f"{fmt.upper()}, `read_chunks`", rows, lambda p=path: count(p))
          for fmt, path in copies.items()),
        ("XLSX, `read_chunks`", EXCEL_ROWS, lambda: count(excel)),
    ]
    read_rates = []
    for name, n, run in reading:
        read_rates.append((name, rate(n, run)))
        print(f"read  {name}: {read_rates[-1][1]:,.0f} rows/s", flush=True)
    write_rates = []
    for fmt in ("csv", "tsv", "jsonl", "parquet", "xlsx"):
        data = excel_chunks if fmt == "xlsx" else chunks
        target = WORK / f"io_out.{fmt}"
        write_rates.append((fmt, rate(sum(len(c) for c in data),
                                      lambda t=target, d=data: write_all(t, d))))
        target.unlink()
        print(f"write {fmt}: {write_rates[-1][1]:,.0f} rows/s", flush=True)

    import accountability_nlp as anlp

    model = anlp.load()
    notes = chunks[0][TEXT].tolist()
    model.score(notes[:20])  # loads the spaCy pipeline
    score_rate = rate(len(notes), lambda: model.score(notes))
    io_rate = 1 / (1 / dict(read_rates)["CSV, `read_chunks`"] + 1 / dict(write_rates)["csv"])
    share = score_rate / io_rate
    print(f"Model.score: {score_rate:,.0f} notes/s; CSV in + out is {share:.1%} of scoring")

    quarter = WORK / f"io_quarter_{args.rows}.csv"
    write_all(quarter, chunks[: max(1, len(chunks) // 4)])
    peak_full, peak_quarter = peak_rss_of_reading(source), peak_rss_of_reading(quarter)
    print(f"peak RSS reading all rows {peak_full:,.0f} MB, a quarter {peak_quarter:,.0f} MB")

    table_read = "\n".join(f"| {name} | {r:,.0f} |" for name, r in read_rates)
    table_write = "\n".join(f"| {fmt} | {r:,.0f} |" for fmt, r in write_rates)
    args.output.write_text(f"""# Reader and writer benchmark

Written by `python3 benchmarks/bench_io.py --rows {args.rows}`; rerun it to refresh.
Input: `benchmarks/_work/crm_{args.rows}.csv` ({rows:,} rows,
{source.stat().st_size / 2**20:,.0f} MB) and copies of it in each format (Excel:
its first {EXCEL_ROWS:,} rows). Chunks of {CHUNK:,} rows. One run each, in one
process, so the figures move with the machine's load.

## Reading (`read_chunks`)

| Input | Rows/s |
|---|---:|
{table_read}

## Writing (`open_writer`, commit included)

| Output | Rows/s |
|---|---:|
{table_write}

## Against scoring

`Model.score` of the bundled model: {score_rate:,.0f} notes/s on {len(notes):,} of these
notes. Reading and writing CSV together cost {share:.1%} of the time scoring takes.

## Memory

Peak RSS of a fresh interpreter reading the CSV chunk by chunk: {peak_full:,.0f} MB
for all {rows:,} rows, {peak_quarter:,.0f} MB for a quarter of them.

## Machine

{machine_table(["accountability-nlp", "pandas", "pyarrow", "openpyxl", "psutil"])}
""")
    for path in (*copies.values(), excel, quarter):
        path.unlink()
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
