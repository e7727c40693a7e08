"""Scale: every command a user runs, at 1,000 to 100,000 users, against the cost of reading the file.

    python tests/bench/bench_scale.py [--runs N] [--backends sqlite,postgresql] [USERS ...]
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


def measure(args: list[str], env: dict[str, str], runs: int, setup: object = None) -> Figure:
    times, peaks = [], []
    for index in range(runs):
        if callable(setup):
            setup(index)
        seconds, peak, _ = run(args if not callable(args) else args(index), env)  # type: ignore[operator]
        times.append(seconds)
        peaks.append(peak)
    return Figure(statistics.median(times), max(peaks))


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


def figures_for(fresh: object, path: Path, changed: Path, folder: Path, runs: int) -> dict[str, Figure]:
    env = {**os.environ, "RECONCILER_ACTOR": RESELLER}
    env.pop("RECONCILER_SMTP_URL", None)
    made: dict[str, str] = {}

    def new_store(_: int = 0) -> None:
        made["url"] = fresh()  # type: ignore[operator]
        env["RECONCILER_STORE"] = made["url"]

    figures: dict[str, Figure] = {}
    figures["validate"] = measure(reconciler("validate", str(path)), env, runs)
    new_store()
    figures["plan"] = measure(reconciler("plan", str(path), "--out", str(folder / "plan.json")), env, runs)
    figures["1st apply"] = measure(
        reconciler("apply", str(path), "--auto-approve"), env, runs, setup=new_store
    )
    files = [changed, path]
    figures["1% apply"] = measure(
        lambda i: reconciler("apply", str(files[i % 2]), "--auto-approve"),
        env,
        runs,  # type: ignore[arg-type]
    )
    if runs % 2:
        run(reconciler("apply", str(path), "--auto-approve"), env)  # back to the account itself
    figures["drift"] = measure(reconciler("drift", str(path)), env, runs)
    figures["export"] = measure(reconciler("export"), env, runs)
    return figures


def floor(path: Path, runs: int) -> Figure:
    code = f"import yaml; yaml.load(open({str(path)!r}, 'rb'), Loader=yaml.CSafeLoader)"
    return measure([sys.executable, "-c", code], dict(os.environ), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    options = parser.parse_args()
    chosen = options.backends.split(",")
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
            results: dict[str, dict[str, Figure]] = {}
            with backends(chosen, folder) as found:
                for backend, fresh in found.items():
                    results[backend] = figures_for(fresh, path, changed, folder, options.runs)
            header = f"{'':<10}" + "".join(f"{b:>28}" for b in results) + f"{'target':>9}"
            print(header)
            for row, target in TARGETS.items():
                cells = "".join(
                    f"{r[row].seconds:>9.2f}s {r[row].seconds / base.seconds:>5.2f}x {r[row].peak_mib:>7.0f} MiB"
                    for r in results.values()
                )
                print(f"{row:<10}{cells}{target:>8.1f}x", flush=True)
            for backend, rows in results.items():
                peak = rows["plan"].peak_mib
                verdict = "met" if peak <= PLAN_MEMORY_TARGET_MIB else "MISSED"
                print(
                    f"plan peak memory on {backend}: {peak:.0f} MiB (target {PLAN_MEMORY_TARGET_MIB}): {verdict}"
                )


if __name__ == "__main__":
    main()
