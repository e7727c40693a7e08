"""A saved plan, written and applied: what checking it costs, at 10,000 and 100,000 users.

    python tests/bench/bench_saved_plan.py [--runs N] [--compare DIR] [USERS ...]
    (default: 3 runs, 10000 100000)

`apply PLANFILE` reads the file, checks its checksum, and checks it against
the store (every `before`, the order, what each action needs, every
judgement) before it writes anything. Rows, on SQLite, each the median wall
time of N runs of the real command line (a process of its own):

- save:          `plan FILE --out plan.json` against an empty store (about 4 actions a user)
- 1st apply:     `apply plan.json --auto-approve` of that plan into an empty store
- 1% apply:      `apply` of a saved plan that renames a hundredth of the users, on the full store
- 5% removal:    `apply` of a saved plan that removes a twentieth of the users and their access

and, in a process of each checkout with the cycle collector off (as the
command line runs), the parts of the first apply that read and check:
reading the file (`read_saved_plan`, the checksum included) and checking it
against the store (`verify_saved`: before this change, judging every action
again; after it, its shape, order, befores and needs too).

With `--compare DIR`, each row is also taken of the reconciler in DIR (a
checkout, say `git archive main | tar -x -C DIR`), run by the same Python;
the two take turns run by run, and a last column gives this checkout's time
as a change from DIR's.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import renamed_one_percent
from bench_scale import Column, Figure, columns_of, measure_columns, new_sqlite, reconciler, run
from common import account_file

ROWS = ("save", "1st apply", "1% apply", "5% removal")


def without_a_twentieth(path: Path) -> Path:
    """The account at `path` without every twentieth user past the first hundred (who manage and
    coordinate the contracts): their access goes with them."""
    head, users = path.read_text().split("\nusers:\n", 1)
    blocks = re.split(r"(?m)^(?=  - email: )", users)
    kept = [
        block
        for block in blocks
        if not (m := re.match(r"  - email: user(\d+)@", block)) or int(m[1]) < 100 or int(m[1]) % 20 != 7
    ]
    smaller = path.with_name("smaller.yaml")
    smaller.write_text(head + "\nusers:\n" + "".join(kept))
    return smaller


def figures(path: Path, folder: Path, runs: int, columns: list[Column]) -> dict[str, dict[str, Figure]]:
    """Each column's figure of each row, by column, then row."""
    base = {**os.environ}
    base.pop("RECONCILER_PLAN_KEY", None)
    plan_out = folder / "plan.json"
    stores = [0]

    def empty_store(_: int = 0) -> dict[str, str]:
        stores[0] += 1
        return new_sqlite(folder / f"store-{stores[0]}", base)

    env = empty_store()
    rows: dict[str, dict[str, Figure]] = {}
    rows["save"] = measure_columns(reconciler("plan", str(path), "--out", str(plan_out)), env, runs, columns)

    # Each run applies, into a new empty store, the plan its own checkout saved of that store.
    plans = {name: folder / f"plan-{index}.json" for index, (name, _) in enumerate(columns)}
    extras = dict(columns)
    order = [name for index in range(runs) for name, _ in (columns if index % 2 == 0 else columns[::-1])]

    def fresh(count: int) -> None:
        env.clear()
        env.update(empty_store())
        name = order[count]
        run(reconciler("plan", str(path), "--out", str(plans[name])), {**env, **extras[name]})

    rows["1st apply"] = measure_columns(
        lambda count: reconciler("apply", str(plans[order[count]]), "--auto-approve"),
        env,
        runs,
        columns,
        setup=fresh,
    )
    for label, changed in (
        ("1% apply", renamed_one_percent(path, users_of(path))),
        ("5% removal", without_a_twentieth(path)),
    ):
        rows[label] = _changed_apply(path, changed, folder / label[:2], runs, columns, order, base)
    return {name: {row: found[name] for row, found in rows.items()} for name, _ in columns}


def _changed_apply(
    path: Path,
    changed: Path,
    folder: Path,
    runs: int,
    columns: list[Column],
    order: list[str],
    base: dict[str, str],
) -> dict[str, Figure]:
    """Each column's apply of a saved plan of `changed` on a store holding `path`, each run on the
    store as the plans were made against it."""
    full = new_sqlite(folder, base)
    run(reconciler("apply", str(path), "--auto-approve"), full)
    database = Path(full["RECONCILER_STORE"].removeprefix("sqlite:///"))
    pristine = database.read_bytes()
    saved = {name: folder / f"plan-{index}.json" for index, (name, _) in enumerate(columns)}
    for name, extra in columns:
        run(reconciler("plan", str(changed), "--out", str(saved[name])), {**full, **extra})

    def restore(count: int) -> None:
        for leftover in folder.glob("s.db-*"):
            leftover.unlink()
        database.write_bytes(pristine)

    return measure_columns(
        lambda count: reconciler("apply", str(saved[order[count]]), "--auto-approve"),
        full,
        runs,
        columns,
        setup=restore,
    )


def users_of(path: Path) -> int:
    return int(re.search(r"account-(\d+)", path.name)[1])  # type: ignore[index]


#: Run by each checkout: the seconds to read a saved plan and to check it against its store, with
#: the cycle collector off as the command line runs (cli/app.py's `main`).
_PHASES = """
import gc, sys, time
gc.disable()
from reconciler.commands.apply import read_saved_plan, verify_saved
from reconciler.store import open_store
snapshot = open_store(sys.argv[2]).snapshot()
started = time.perf_counter()
plan = read_saved_plan(sys.argv[1])
read = time.perf_counter() - started
started = time.perf_counter()
verify_saved(plan, snapshot)
print(read, time.perf_counter() - started, len(plan.actions))
"""


def read_and_check(
    path: Path, folder: Path, runs: int, columns: list[Column]
) -> dict[str, tuple[float, float, int]]:
    """By column, the median seconds to read the first plan of `path` (its checksum included) and to
    check it against its empty store, in a process of the column's checkout, and the plan's actions."""
    base = {**os.environ}
    base.pop("RECONCILER_PLAN_KEY", None)
    found: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _ in columns}
    for index in range(runs):
        for name, extra in columns if index % 2 == 0 else columns[::-1]:
            env = {**new_sqlite(folder / "phases", base), **extra}
            plan = folder / "phases.json"
            run(reconciler("plan", str(path), "--out", str(plan)), env)
            out = subprocess.run(
                [sys.executable, "-c", _PHASES, str(plan), env["RECONCILER_STORE"]],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            found[name].append((float(out[0]), float(out[1]), int(out[2])))
    return {
        name: (
            statistics.median(r for r, _, _ in figures),
            statistics.median(c for _, c, _ in figures),
            figures[0][2],
        )
        for name, figures in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("users", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", metavar="DIR", help="also time the reconciler in DIR")
    args = parser.parse_args()
    columns = columns_of(args.compare)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for users in args.users:
            path = account_file(folder, users)
            found = figures(path, folder, args.runs, columns)
            phases = read_and_check(path, folder, args.runs, columns)
            actions = next(iter(phases.values()))[2]
            print(f"{users:,} users ({actions:,} actions in the first plan), SQLite, median of {args.runs}:")
            header = "  " + f"{'':16}" + "".join(f"{name:>16}" for name, _ in columns)
            print(header + ("   change" if len(columns) == 2 else ""))
            lines = {row: [found[name][row].seconds for name, _ in columns] for row in ROWS}
            lines["  read the file"] = [phases[name][0] for name, _ in columns]
            lines["  check it"] = [phases[name][1] for name, _ in columns]
            for row, cells in lines.items():
                line = f"  {row:16}" + "".join(f"{seconds:14.2f} s" for seconds in cells)
                if len(cells) == 2:
                    line += f"   {cells[0] / cells[1] - 1:+6.0%}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
