"""Scale: every command a user runs, at 1,000 to 100,000 users, against the cost of reading the file.

    python tests/bench/bench_scale.py [--runs N] [--backends sqlite,postgresql] [--compare DIR] [USERS ...]
    (default: 3 runs, both backends, 1000 10000 100000)

Each figure is the median wall time of N runs of the real command line
(`python -m reconciler …`, a process of its own, as a user or CI runs it) and
the peak memory (max RSS) of the slowest-memory run, beside the floor: PyYAML's
C loader reading the same file in a process of its own. The account has about
three grants per user, 50 contracts and 20 serials per contract
(tests/bench/generate.py). Rows:

- validate:   `validate FILE`
- plan:       `plan FILE --out plan.json`, against an empty store
- 1st apply:  `apply FILE --auto-approve` into an empty store (plan, then every write and
              an invitation per user queued in the outbox, in one transaction)
- 1% apply:   `apply` of the account with a hundredth of the users renamed, on the full store
              (runs alternate between the renamed and the original file, so each is a 1 % change)
- drift:      `drift FILE` against the full store
- export:     `export` of the full store

With `--compare DIR`, every figure is also taken of the reconciler in DIR (a
checkout, say a worktree of main before a change), run by the same Python;
the two alternate run by run (this one first on even runs, DIR first on odd
ones), so that a machine that slows down midway slows both alike, and a last
column gives this checkout's time as a change from DIR's.

Targets of the scale issue at 100,000 users: validate 1.2x the floor; plan and
drift 1.5x; first apply 3x; a 1 % apply 1.5x; export 2x; plan's peak memory 1 GiB.
PostgreSQL is the server at RECONCILER_BENCH_POSTGRES (default
postgresql://127.0.0.1:5432/postgres); without one, its columns are left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import postgres_problem, postgres_stores, sqlite_stores
from bench_plan import renamed_one_percent
from common import account_file

RESELLER = "orders@cadpartners.example"
TARGETS = {"validate": 1.2, "plan": 1.5, "1st apply": 3.0, "1% apply": 1.5, "drift": 1.5, "export": 2.0}
PLAN_MEMORY_TARGET_MIB = 1024


@dataclass(frozen=True)
class Figure:
    seconds: float
    peak_mib: float


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 2):
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}): {process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def new_sqlite(folder: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`base` as the environment of a new, empty SQLite store in `folder` (replacing one left there),
    the reseller acting, with no mail server and no job summary."""
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("s.db*"):
        leftover.unlink()
    env = {**base, "RECONCILER_ACTOR": RESELLER, "RECONCILER_STORE": f"sqlite:///{folder / 's.db'}"}
    env.pop("RECONCILER_SMTP_URL", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    run(reconciler("init", "--reseller", RESELLER), env)
    return env


def applied_sqlite(folder: Path, account: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a new SQLite store in `folder` with `account` applied by the reseller, for
    benches of what reads a stored account."""
    env = new_sqlite(folder, base)
    run(reconciler("apply", str(account), "--auto-approve"), env)
    return env


def print_against_parse(parse: Figure, figures: dict[str, Figure], target: float, targeted: set[str]) -> None:
    """Each figure beside the parse floor, as a ratio; those in `targeted` judged against `target`."""
    width = max(len(label) for label in ("bare PyYAML C parse", *figures)) + 2
    print(f"  {'bare PyYAML C parse':{width}} {parse.seconds:6.2f} s  {parse.peak_mib:6.0f} MiB peak")
    for label, figure in figures.items():
        ratio = figure.seconds / parse.seconds
        line = f"  {label:{width}} {figure.seconds:6.2f} s  {figure.peak_mib:6.0f} MiB peak  {ratio:4.2f}x the parse"
        if label in targeted:
            line += f" (target {target}x)  " + ("ok" if ratio <= target else "OVER TARGET")
        print(line)


#: A column of the table: a name, and what its commands' environment adds (PYTHONPATH: which checkout).
Column = tuple[str, dict[str, str]]


def measure(args: list[str], env: dict[str, str], runs: int, setup: object = None) -> Figure:
    times, peaks = [], []
    for index in range(runs):
        if callable(setup):
            setup(index)
        seconds, peak, _ = run(args if not callable(args) else args(index), env)  # type: ignore[operator]
        times.append(seconds)
        peaks.append(peak)
    return Figure(statistics.median(times), max(peaks))


def measure_columns(
    args: object, env: dict[str, str], runs: int, columns: list[Column], setup: object = None
) -> dict[str, Figure]:
    """Each column's median wall time and peak memory over `runs` runs of `args`, the columns taking
    turns run by run. `args` may be a callable of the run's count across all columns; `setup`, called
    before each run, of the column's name."""
    times: dict[str, list[float]] = {name: [] for name, _ in columns}
    peaks: dict[str, list[float]] = {name: [] for name, _ in columns}
    count = 0
    for index in range(runs):
        for name, extra in columns if index % 2 == 0 else columns[::-1]:
            if callable(setup):
                setup(name)
            seconds, peak, _ = run(args(count) if callable(args) else args, {**env, **extra})  # type: ignore[arg-type]
            times[name].append(seconds)
            peaks[name].append(peak)
            count += 1
    return {name: Figure(statistics.median(times[name]), max(peaks[name])) for name, _ in columns}


def reconciler(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


@contextmanager
def backends(chosen: list[str], folder: Path) -> Iterator[dict[str, object]]:
    found: dict[str, object] = {}
    with sqlite_stores(folder) as fresh_sqlite:
        if "sqlite" in chosen:
            found["sqlite"] = fresh_sqlite
        if "postgresql" in chosen:
            problem = postgres_problem()
            if problem:
                print(f"(no PostgreSQL: {problem})")
                yield found
                return
            with postgres_stores() as fresh_pg:
                found["postgresql"] = fresh_pg
                yield found
                return
        yield found


def figures_for(
    fresh: object, path: Path, changed: Path, folder: Path, runs: int, columns: list[Column]
) -> dict[str, dict[str, Figure]]:
    """Each column's figure of each row, by column, then row. Each column has a store of its own, made
    by its own reconciler (two checkouts may not share a schema version)."""
    env = {**os.environ, "RECONCILER_ACTOR": RESELLER}
    env.pop("RECONCILER_SMTP_URL", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    own = [(name, dict(extra)) for name, extra in columns]
    environment = dict(own)

    def new_store(name: str) -> None:
        def init(url: str) -> None:
            run(
                reconciler("init", "--reseller", RESELLER),
                {**env, **environment[name], "RECONCILER_STORE": url},
            )

        environment[name]["RECONCILER_STORE"] = fresh(name, init)  # type: ignore[operator]

    rows: dict[str, dict[str, Figure]] = {}
    rows["validate"] = measure_columns(reconciler("validate", str(path)), env, runs, own)
    for name, _ in own:
        new_store(name)
    rows["plan"] = measure_columns(
        reconciler("plan", str(path), "--out", str(folder / "plan.json")), env, runs, own
    )
    rows["1st apply"] = measure_columns(
        reconciler("apply", str(path), "--auto-approve"), env, runs, own, setup=new_store
    )
    # Each column's store alternates between the renamed account and the account: each a 1 % change.
    files = [changed, path]
    rows["1% apply"] = measure_columns(
        lambda i: reconciler("apply", str(files[(i // len(own)) % 2]), "--auto-approve"), env, runs, own
    )
    if runs % 2:
        for _, extra in own:  # back to the account itself
            run(reconciler("apply", str(path), "--auto-approve"), {**env, **extra})
    rows["drift"] = measure_columns(reconciler("drift", str(path)), env, runs, own)
    rows["export"] = measure_columns(reconciler("export"), env, runs, own)
    return {name: {row: figures[name] for row, figures in rows.items()} for name, _ in own}


def columns_of(compare: str | None) -> list[Column]:
    """This checkout, and with `compare` the one in that folder: each first on the path, ahead of the
    working directory that `python -m` would put there (PYTHONSAFEPATH)."""
    here = Path(__file__).resolve().parents[2]
    found = [("this", {"PYTHONPATH": str(here), "PYTHONSAFEPATH": "1"})]
    if compare:
        found.append(
            (Path(compare).name, {"PYTHONPATH": str(Path(compare).resolve()), "PYTHONSAFEPATH": "1"})
        )
    return found


def floor(path: Path, runs: int) -> Figure:
    code = f"import yaml; yaml.load(open({str(path)!r}, 'rb'), Loader=yaml.CSafeLoader)"
    return measure([sys.executable, "-c", code], dict(os.environ), runs)


def print_table(results: dict[str, dict[str, dict[str, Figure]]], base: Figure) -> None:
    """One table per backend: each row's figure in each column, against the floor and, with a second
    column, this checkout's time as a change from it."""
    for backend, by_column in results.items():
        names = list(by_column)
        header = f"{backend:<10}" + "".join(f"{name:>28}" for name in names)
        if len(names) > 1:
            header += f"{'change':>9}"
        print(header + f"{'target':>9}")
        for row, target in TARGETS.items():
            figures = [by_column[name][row] for name in names]
            cells = "".join(
                f"{f.seconds:>9.2f}s {f.seconds / base.seconds:>5.2f}x {f.peak_mib:>7.0f} MiB"
                for f in figures
            )
            if len(figures) > 1:
                cells += f"{figures[0].seconds / figures[1].seconds - 1:>+8.1%} "
            print(f"{row:<10}{cells}{target:>8.1f}x", flush=True)
        for name in names:
            peak = by_column[name]["plan"].peak_mib
            verdict = "met" if peak <= PLAN_MEMORY_TARGET_MIB else "MISSED"
            print(
                f"plan peak memory on {backend}, {name}: {peak:.0f} MiB (target {PLAN_MEMORY_TARGET_MIB}): {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--compare", metavar="DIR", help="also time the reconciler in DIR (a checkout)")
    options = parser.parse_args()
    chosen = options.backends.split(",")
    columns = columns_of(options.compare)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for users in options.users:
            path = account_file(folder, users)
            changed = renamed_one_percent(path, users)
            base = floor(path, options.runs)
            print(
                f"\n{users:,} users ({path.stat().st_size / 1e6:.1f} MB): parse floor {base.seconds:.2f}s, "
                f"{base.peak_mib:.0f} MiB; median of {options.runs}",
                flush=True,
            )
            results: dict[str, dict[str, dict[str, Figure]]] = {}
            with backends(chosen, folder) as found:
                for backend, fresh in found.items():
                    results[backend] = figures_for(fresh, path, changed, folder, options.runs, columns)
            print_table(results, base)


if __name__ == "__main__":
    main()
