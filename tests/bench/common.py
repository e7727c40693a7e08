"""What the benchmarks share: timing, the parse floor, a generated account."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from generate import write_account

RUNS = 3


def median_seconds(work: Callable[[], object], setup: Callable[[], object] = lambda: None) -> float:
    """The median wall time of RUNS calls of `work`, each after an untimed `setup`."""
    times = []
    for _ in range(RUNS):
        setup()
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bare_parse(path: Path) -> object:
    """The floor: PyYAML's C loader on the file, nothing else."""
    with path.open("rb") as stream:
        return yaml.load(stream, Loader=yaml.CSafeLoader)


def account_file(folder: Path, users: int, teams: int = 0) -> Path:
    """A generated account of `users` users; with `teams`, their access comes from that many teams."""
    path = folder / (f"account-{users}-teams-{teams}.yaml" if teams else f"account-{users}.yaml")
    with path.open("w") as out:
        write_account(out, users, teams=teams)
    return path
