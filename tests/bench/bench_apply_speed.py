"""Applying at the speed of the disk: the applies that write, before and after, on both stores.

    python tests/bench/bench_apply_speed.py [--runs N] [--before REF|DIR] [--backends sqlite,postgresql]
        [--strict] [USERS ...]
    (default: 3 runs, before eea21ba, both backends, 10000 100000; about 20 minutes)

Each figure is the median wall time of N runs of the real command line (a
process of its own, as a user or CI runs it) and the peak memory (max RSS)
of its largest run, beside the floor: PyYAML's C loader reading the same
file in a process of its own. Rows, each against a store of its own column:

- 1st apply:       `apply plan.json --auto-approve` of a saved plan into an empty store (about
                   four actions a user, an invitation per user queued in the outbox); the plan is
                   saved, untimed, by the column's own reconciler against that store just before
- 1st apply YAML:  `apply FILE --auto-approve` into an empty store: read, planned and applied in
                   one command
- 1% apply:        `apply plan.json` of a saved plan that renames a hundredth of the users, on
                   the full store (runs alternate between the renamed account and the original:
                   each a 1 % change)
- 1% apply YAML:   the same change as `apply FILE`
- adoption:        `apply FILE --adopt --auto-approve` into an empty store: the YAML read and
                   planned, every record written as already there, no mail

Two columns take turns run by run (one first on even runs, the other on odd
ones), so that a machine that slows down midway slows both alike: `before`,
the reconciler of REF (a git revision of this repository, extracted to a
temporary folder; by default eea21ba, main when issue 29 began) or of DIR (a
checkout), and `after`, this checkout, both on this Python. With the `fast`
extra installed both read YAML by it; `--strict` runs them without it
(RECONCILER_FAST=0: the strict loader, as where the extra is missing).

Targets of issue 29 (with the fast extra): at 100,000 users on SQLite, the
first apply 0.35x the parse and a 1 % apply 0.2x; on PostgreSQL the first
apply 0.5x; at 10,000 users the first apply 0.6x.

PostgreSQL is the server at RECONCILER_BENCH_POSTGRES (default
postgresql://127.0.0.1:5432/postgres); without one, its rows are left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import renamed_one_percent
from bench_scale import RESELLER, Figure, backends, floor, run
from common import account_file

HERE = Path(__file__).resolve().parents[2]
#: main when issue 29 began: the `before` column unless --before says otherwise.
BEFORE = "eea21ba"
ROWS = ("1st apply", "1st apply YAML", "1% apply", "1% apply YAML", "adoption")
#: (users, backend, row) -> the most the `after` column may take, as a multiple of the parse.
TARGETS = {
    (100_000, "sqlite", "1st apply"): 0.35,
    (100_000, "sqlite", "1% apply"): 0.2,
    (100_000, "postgresql", "1st apply"): 0.5,
    (10_000, "sqlite", "1st apply"): 0.6,
    (10_000, "postgresql", "1st apply"): 0.6,
}


@dataclass(frozen=True)
class Column:
    """A reconciler to time: its name and the checkout its commands import."""

    name: str
    checkout: Path
    strict: bool = False

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", *args]

    def environment(self, store: str) -> dict[str, str]:
        env = {**os.environ, "RECONCILER_ACTOR": RESELLER, "RECONCILER_STORE": store}
        env.update(PYTHONPATH=str(self.checkout), PYTHONSAFEPATH="1")
        if self.strict:
            env["RECONCILER_FAST"] = "0"
        for unwanted in ("RECONCILER_SMTP_URL", "GITHUB_STEP_SUMMARY", "RECONCILER_PLAN_KEY"):
            env.pop(unwanted, None)
        return env


@contextmanager
def before_checkout(before: str) -> Iterator[Path]:
    """The folder of the `before` reconciler: DIR as it is, or REF extracted from this repository."""
    if Path(before).is_dir():
        yield Path(before).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="reconciler-before-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(HERE), "archive", before], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


class Bench:
    """The runs of one account size on one backend: each column with a store of its own."""

    def __init__(self, fresh: Callable[..., str], folder: Path, columns: list[Column]) -> None:
        self.fresh, self.folder, self.columns = fresh, folder, columns
        self.stores: dict[str, str] = {}

    def run(self, column: Column, *args: str) -> tuple[float, float, int]:
        return run(column.command(*args), column.environment(self.stores[column.name]))

    def new_store(self, column: Column) -> None:
        """An empty store for `column`, made by its own `init` (two checkouts may differ in schema)."""

        def init(url: str) -> None:
            run(column.command("init", "--reseller", RESELLER), column.environment(url))

        self.stores[column.name] = self.fresh(column.name, init)

    def figures(self, runs: int, setup: Callable[[Column, int], list[str]]) -> dict[str, Figure]:
        """Each column's median and peak over `runs` timed commands, the columns taking turns; `setup`,
        untimed, prepares a column's run and gives its command's arguments."""
        seconds: dict[str, list[float]] = {column.name: [] for column in self.columns}
        peaks: dict[str, list[float]] = {column.name: [] for column in self.columns}
        for index in range(runs):
            for column in self.columns if index % 2 == 0 else self.columns[::-1]:
                args = setup(column, index)
                took, peak, _ = self.run(column, *args)
                seconds[column.name].append(took)
                peaks[column.name].append(peak)
        return {name: Figure(statistics.median(seconds[name]), max(peaks[name])) for name in seconds}


def measure(bench: Bench, account: Path, changed: Path, runs: int) -> dict[str, dict[str, Figure]]:
    """Each row's figure of each column, by row, then column."""
    plan = bench.folder / "plan.json"

    def first_apply(column: Column, _: int) -> list[str]:
        bench.new_store(column)
        bench.run(column, "plan", str(account), "--out", str(plan))
        return ["apply", str(plan), "--auto-approve"]

    def one_percent(column: Column, index: int) -> list[str]:
        bench.run(column, "plan", str((changed, account)[index % 2]), "--out", str(plan))
        return ["apply", str(plan), "--auto-approve"]

    def first_apply_yaml(column: Column, _: int) -> list[str]:
        bench.new_store(column)
        return ["apply", str(account), "--auto-approve"]

    def one_percent_yaml(column: Column, index: int) -> list[str]:
        return ["apply", str((changed, account)[index % 2]), "--auto-approve"]

    def adoption(column: Column, _: int) -> list[str]:
        bench.new_store(column)
        return ["apply", str(account), "--adopt", "--auto-approve"]

    rows = {
        "1st apply": bench.figures(runs, first_apply),
        "1st apply YAML": bench.figures(runs, first_apply_yaml),
    }
    # Each column's store holds the full account now: each run of a 1 % apply changes it back and forth.
    rows["1% apply"] = bench.figures(runs, one_percent)
    for column in bench.columns:  # the account again, after an odd number of changes
        bench.run(column, "apply", str(account), "--auto-approve")
    rows["1% apply YAML"] = bench.figures(runs, one_percent_yaml)
    rows["adoption"] = bench.figures(runs, adoption)
    return rows


def print_table(
    users: int, backend: str, parse: Figure, rows: dict[str, dict[str, Figure]], judged: bool
) -> None:
    """A backend's rows, each column beside the parse; with `judged` (the targets are for the fast
    path), the last column against the issue's target."""
    names = list(next(iter(rows.values())))
    print(f"  {backend:<15}" + "".join(f"{name:>31}" for name in names) + "   change   target")
    for row, by_column in rows.items():
        cells = "".join(
            f"{f.seconds:>9.2f} s {f.seconds / parse.seconds:>5.2f}x {f.peak_mib:>7.0f} MiB"
            for f in by_column.values()
        )
        first, last = by_column[names[0]].seconds, by_column[names[-1]].seconds
        change = f"{last / first - 1:>+8.0%}" if len(names) > 1 else " " * 8
        target = TARGETS.get((users, backend, row)) if judged else None
        verdict = ""
        if target is not None:
            met = last / parse.seconds <= target
            verdict = f"   {target:.2f}x {'met' if met else 'MISSED'}"
        print(f"  {row:<15}{cells} {change}{verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("users", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, metavar="REF|DIR")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--strict", action="store_true", help="both without the fast path (RECONCILER_FAST=0)"
    )
    options = parser.parse_args()
    installed = (
        subprocess.run(
            [sys.executable, "-c", "import yaml_rs, jsonschema_rs"], capture_output=True
        ).returncode
        == 0
    )
    fast = installed and not options.strict
    with before_checkout(options.before) as before, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        columns = [Column("before", before, options.strict), Column("after", HERE, options.strict)]
        print(
            f"before: {options.before}; after: {HERE}; YAML read {'by the fast path' if fast else 'strictly'}"
        )
        for users in options.users:
            account = account_file(folder, users)
            changed = renamed_one_percent(account, users)
            parse = floor(account, options.runs)
            print(
                f"\n{users:,} users ({account.stat().st_size / 1e6:.1f} MB): bare PyYAML C parse "
                f"{parse.seconds:.2f} s, {parse.peak_mib:.0f} MiB peak; median of {options.runs}, "
                "each cell: seconds, times the parse, peak memory",
                flush=True,
            )
            with backends(options.backends.split(","), folder) as found:
                for backend, fresh in found.items():
                    bench = Bench(fresh, folder, columns)  # type: ignore[arg-type]
                    print_table(users, backend, parse, measure(bench, account, changed, options.runs), fast)


if __name__ == "__main__":
    main()
