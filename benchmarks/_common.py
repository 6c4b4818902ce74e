"""Helpers shared by the benchmark scripts: machine facts, timing, process trees."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / "_work"

# The scripts run from a source checkout: make the package importable there
# and in every subprocess they start.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)}


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or platform's guess elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    """Commit of the checkout, marked ``+dirty`` when the tree has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty.strip() else "")


def machine_table(packages: Sequence[str]) -> str:
    """A Markdown table of the machine and library versions."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    rows = [
        ("Date", dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", cpu_model()),
        ("Cores (logical)", str(os.cpu_count())),
        ("Load average at start (1, 5, 15 min)", load),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("accountability_nlp checkout", git_revision()),
        *((name, package_version(name)) for name in packages),
    ]
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def tfidf_logreg(seed: int) -> Any:
    """The plain baseline: TF-IDF on word 1-2 grams of the raw strings + LogisticRegression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(max_iter=2000, random_state=seed),
    )


def median_time(run: Callable[[], object], repeats: int) -> tuple[float, float, list[float]]:
    """Median wall time and median CPU time of ``repeats`` calls of ``run``, and the wall times.

    CPU time (this process, all threads) does not grow when other programs
    compete for the cores; wall time does.
    """
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), times


@dataclass
class RunStats:
    """Wall time and peak memory of one command and all its child processes."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    stderr_tail: str


def run_measured(command: Sequence[str], *, interval: float = 0.05) -> RunStats:
    """Run ``command``, sampling the summed RSS of its process tree.

    The sum over the tree is what the machine must hold at once (a parent and
    its worker processes); ``getrusage(RUSAGE_CHILDREN)`` would only give the
    largest single process, and only over all children ever waited for.
    Sampling every ``interval`` seconds can miss a peak shorter than that.

    ``cpu_seconds`` (user + system, the command and every descendant waited
    for) does not depend on what else the machine runs, unlike wall time.
    """
    import resource

    import psutil

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    cpu_before = children_cpu()

    peak = 0
    stop = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=SUBPROCESS_ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(process.pid)

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for proc in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += proc.memory_info().rss
            peak = max(peak, total)
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    cpu = children_cpu() - cpu_before
    return RunStats(seconds, cpu, peak / 2**20, process.returncode, stderr[-2000:])
