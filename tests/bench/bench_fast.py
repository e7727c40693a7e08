"""The fast path: each command with the [fast] extra and without, against the cost of reading the file.

    python tests/bench/bench_fast.py [--runs N] [--compare DIR] [USERS ...]
    (default: 3 runs, 10000 100000)

Each figure is the median wall time of N runs of the real command line
(`python -m reconciler …`, a process of its own) and the peak memory (max
RSS) of its largest run, beside the floor: PyYAML's C loader reading the same
file in a process of its own. Rows, on SQLite:

- validate:         `validate FILE`
- first plan:       `plan FILE --out plan.json` against an empty store
- no-change plan:   the same against the store holding the account (the pull-request case)
- drift:            `drift FILE` against that store
- first apply:      `apply FILE --auto-approve` into an empty store

Columns: with the extra (RECONCILER_FAST=1), without it (RECONCILER_FAST=0, the
strict path, as a machine without the extra reads), and with --compare, the
reconciler in DIR (a checkout, say a worktree of main before a change) run by
the same Python. Targets of the fast-path issue at 100,000 users, with the
extra: validate 0.15x the floor; no-change plan and drift 0.3x; first plan
0.6x; peak memory no higher than without it before the change.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_scale import Figure, applied_sqlite, floor, measure, new_sqlite, reconciler
from common import account_file

TARGETS = {"validate": 0.15, "first plan": 0.6, "no-change plan": 0.3, "drift": 0.3}
ROWS = ("validate", "first plan", "no-change plan", "drift", "first apply")


def figures(path: Path, folder: Path, env: dict[str, str], runs: int) -> dict[str, Figure]:
    """Each row's figure for the account at `path`, run in `env`."""
    plan_out = str(folder / "plan.json")
    empty = new_sqlite(folder / "empty", env)
    full = applied_sqlite(folder / "full", path, env)
    fresh: dict[str, str] = {}

    def new_store(index: int) -> None:
        fresh.update(new_sqlite(folder / f"apply-{index}", env))

    found = {
        "validate": measure(reconciler("validate", str(path)), env, runs),
        "first plan": measure(reconciler("plan", str(path), "--out", plan_out), empty, runs),
        "no-change plan": measure(reconciler("plan", str(path), "--out", plan_out), full, runs),
        "drift": measure(reconciler("drift", str(path)), full, runs),
    }
    found["first apply"] = measure(
        reconciler("apply", str(path), "--auto-approve"), fresh, runs, setup=new_store
    )
    return found


def environments(compare: str | None) -> dict[str, dict[str, str]]:
    """The columns: the extra on, off, and the reconciler in `compare`."""
    # PYTHONSAFEPATH: `python -m` would put the working directory first on the path, ahead of DIR.
    base = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")} | {"PYTHONSAFEPATH": "1"}
    base.pop("GITHUB_STEP_SUMMARY", None)
    columns = {"with [fast]": {**base, "RECONCILER_FAST": "1"}, "without": {**base, "RECONCILER_FAST": "0"}}
    if compare:
        columns[Path(compare).name] = {
            **base,
            "RECONCILER_FAST": "0",
            "PYTHONPATH": str(Path(compare).resolve()),
        }
    return columns


def print_table(users: int, size: int, parse: Figure, results: dict[str, dict[str, Figure]]) -> None:
    print(
        f"\n{users:,} users ({size / 1e6:.1f} MB): bare PyYAML C parse {parse.seconds:.2f} s, {parse.peak_mib:.0f} MiB"
    )
    print(f"{'':<16}" + "".join(f"{column:>28}" for column in results) + f"{'target':>10}")
    for row in ROWS:
        cells = "".join(
            f"{figure.seconds:>8.2f} s {figure.seconds / parse.seconds:>5.2f}x {figure.peak_mib:>6.0f} MiB"
            for figure in (column[row] for column in results.values())
        )
        target = TARGETS.get(row) if users >= 100_000 else None  # the targets are at 100,000
        verdict = ""
        if target is not None:
            ratio = results["with [fast]"][row].seconds / parse.seconds
            verdict = f"{target:>7.2f}x " + ("ok" if ratio <= target else "OVER")
        print(f"{row:<16}{cells}{verdict:>10}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", metavar="DIR", help="also time the reconciler in DIR (a checkout)")
    options = parser.parse_args()
    columns = environments(options.compare)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for users in options.users:
            path = account_file(folder, users)
            parse = floor(path, options.runs)
            results: dict[str, dict[str, Figure]] = {}
            for column, env in columns.items():
                results[column] = figures(path, folder / column.replace(" ", "-"), env, options.runs)
            print_table(users, path.stat().st_size, parse, results)


if __name__ == "__main__":
    main()
