"""Plan and first apply against the floor: the bare PyYAML C parse of the same file.

    python tests/bench/bench_plan.py [USERS ...]     (default: 10000)

Prints, per account size, the median of 3 runs of: the bare parse (the
floor); `plan` of the account against an empty SQLite store (validate, read
the store, diff, judge, order); the first `apply` of it into an empty store
(all of plan, then the e-mail composed and every write, outbox
included, in one transaction); and a 1 % change
(plan and apply of a hundredth of the users renamed). Each size is measured twice: with
every grant a user's own, and with the same grants given by 200 teams (each user
in one team). Targets of the plan issue at 10,000 users: plan at most 1.5 times
the floor, first apply at most 3; of the teams issue, the account of teams within
the ratios of the other.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import account_file, bare_parse, median_seconds

from reconciler.commands.apply import run_apply
from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store

RESELLER = "orders@cadpartners.example"
TEAMS = 200


def fresh_store(folder: Path) -> str:
    """An empty store in `folder`, replacing the last one."""
    for leftover in folder.glob("bench.db*"):
        leftover.unlink()
    url = f"sqlite:///{folder / 'bench.db'}"
    open_store(url).initialize([RESELLER])
    return url


def plan_and_apply(paths: list[str], url: str) -> None:
    run_apply(open_store(url), paths, RESELLER)


def renamed_one_percent(path: Path, users: int) -> Path:
    changed = path.with_name("changed.yaml")
    text = path.read_text()
    for index in range(0, users, 100):
        text = text.replace(f"first_name: First{index}\n", f"first_name: Renamed{index}\n", 1)
    changed.write_text(text)
    return changed


def measure(folder: Path, users: int, teams: int = 0) -> str:
    """One row of figures for an account of `users` users, their access from `teams` teams if any."""
    path = account_file(folder, users, teams)
    paths = [str(path)]
    floor = median_seconds(lambda: bare_parse(path))
    url = fresh_store(folder)
    actions = len(make_plan(load_desired_state(paths), open_store(url).snapshot(), RESELLER).actions)
    plan = median_seconds(lambda: make_plan(load_desired_state(paths), open_store(url).snapshot(), RESELLER))
    first_apply = median_seconds(lambda: plan_and_apply(paths, url), setup=lambda: fresh_store(folder))
    changed = [str(renamed_one_percent(path, users))]
    change = median_seconds(
        lambda: plan_and_apply(changed, url), setup=lambda: plan_and_apply(paths, fresh_store(folder))
    )
    return (
        f"{users:>8} {teams:>6} {actions:>8} {floor:>11.2f}s {plan:>6.2f}s {plan / floor:>6.2f} "
        f"{first_apply:>9.2f}s {first_apply / floor:>6.2f} {change:>9.2f}s {change / floor:>6.2f}"
    )


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [10_000]
    print(
        f"{'users':>8} {'teams':>6} {'actions':>8} {'parse floor':>12} {'plan':>7} {'ratio':>6} "
        f"{'1st apply':>10} {'ratio':>6} {'1% change':>10} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory() as name:
        for users in sizes:
            print(measure(Path(name), users), flush=True)
            # The same size, its access from 200 teams instead of a user's own grants.
            print(measure(Path(name), users, teams=TEAMS), flush=True)


if __name__ == "__main__":
    main(sys.argv)
