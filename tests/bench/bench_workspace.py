"""A reseller's workspace: one `plan` over many accounts against as many separate runs.

    python tests/bench/bench_workspace.py [--accounts N] [--users N] [--jobs N] [--runs N]
    (default: 200 accounts of 500 users, --jobs 2, 3 runs)

Builds a workspace in a temporary git repository: N accounts, each a
generated account of --users users in its own folder and its own SQLite
store holding it already; then a branch that adds one user to three of them.
Each row is the wall time of the real command line (processes of their own),
the median of --runs runs, except the separate runs, timed once (the slowest
row, and the one every other is weighed against):

- separate:     `reconciler plan accounts/NAME --store … --actor …` once per account, one after another
- all:          `reconciler plan --all --jobs J`, one report
- three alone:  `reconciler plan --account A --account B --account C`
- changed:      `reconciler plan --changed --base main`, which finds the same three from git

The targets (issue 28): `all` at most 0.5 × `separate`; `changed` within 1.2 × `three alone`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import write_account

from reconciler.commands.apply import run_apply
from reconciler.store import open_store

RESELLER = "orders@cadpartners.example"
NEWCOMER = """\
  - email: newcomer@customer.example
    first_name: New
    last_name: Comer
"""


def build(root: Path, accounts: int, users: int) -> list[str]:
    """The workspace at `root`, its stores holding each account as its folder says; the accounts' names."""
    names = [f"customer-{index:03}" for index in range(accounts)]
    (root / "stores").mkdir()
    (root / ".gitignore").write_text("stores/\n", encoding="utf-8")
    lines = ["version: 1", "accounts:"]
    for name in names:
        folder = root / "accounts" / name
        folder.mkdir(parents=True)
        with (folder / "account.yaml").open("w", encoding="utf-8") as out:
            write_account(out, users)
        store = open_store(f"sqlite:///{root / 'stores' / name}.db")
        store.initialize([RESELLER])
        run_apply(store, [str(folder)], RESELLER)
        lines += [f"  - name: {name}", f"    path: accounts/{name}", f"    store: sqlite:///stores/{name}.db"]
        lines.append(f"    actor: {RESELLER}")
    (root / "reconciler.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "ci@cadpartners.example"],
        ["config", "user.name", "CI"],
        ["add", "-A"],
        ["commit", "-q", "-m", "accounts"],
        ["checkout", "-q", "-b", "work"],
    ):
        subprocess.run(["git", *command], cwd=root, check=True)
    return names


def touch(root: Path, names: list[str]) -> None:
    for name in names:
        with (root / "accounts" / name / "account.yaml").open("a", encoding="utf-8") as out:
            out.write(NEWCOMER)
    subprocess.run(["git", "commit", "-qam", "three customers change"], cwd=root, check=True)


def reconciler(root: Path, *arguments: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *arguments],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "RECONCILER_FAST": os.environ.get("RECONCILER_FAST", "1")},
        check=False,
    )
    if done.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(arguments)} failed: {done.stderr.decode()}")


def timed(work: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        names = build(root, options.accounts, options.users)
        changed = [names[7 % len(names)], names[len(names) // 2], names[-1]]
        touch(root, changed)
        print(
            f"{options.accounts} accounts of {options.users} users, built in {time.perf_counter() - started:.1f} s; "
            f"{os.cpu_count()} CPUs; changed: {', '.join(changed)}"
        )

        def separate() -> None:
            for name in names:
                store = f"sqlite:///stores/{name}.db"
                reconciler(root, "plan", f"accounts/{name}", "--store", store, "--actor", RESELLER)

        alone = ["plan", *[part for name in changed for part in ("--account", name)]]
        rows = [
            ("separate", timed(separate, 1)),
            (
                f"all, --jobs {options.jobs}",
                timed(lambda: reconciler(root, "plan", "--all", "--jobs", str(options.jobs)), options.runs),
            ),
            ("three alone", timed(lambda: reconciler(root, *alone), options.runs)),
            ("changed", timed(lambda: reconciler(root, "plan", "--changed", "--base", "main"), options.runs)),
        ]
    for label, seconds in rows:
        print(f"{label:<16} {seconds:8.2f} s")
    each = dict(rows)
    print(f"all / separate:       {rows[1][1] / each['separate']:.2f}  (target ≤ 0.5)")
    print(f"changed / three alone: {each['changed'] / each['three alone']:.2f}  (target ≤ 1.2)")


if __name__ == "__main__":
    main()
