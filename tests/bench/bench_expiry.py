"""Plan time with expiry dates against the same account without them (issue 31's target: within 1.05x).

    python tests/bench/bench_expiry.py [USERS ...]     (default: 100000)

Per account size, two files that differ only in the dates: every grant a user's own, and in the
second a tenth of those grants carries `expires: "2027-06-30"`. Each is planned, as `plan` does it
(load and validate the files, read the store, expire, diff, judge, order), with --today 2027-01-01,
so no date has passed and the two plans hold the same actions, the dates aside:
- against an empty SQLite store (a first plan: every grant added);
- against the store once the file is applied (the plan of every day: no change).
A third row plans the dated account on 2027-07-01, when each dated grant has expired: the plan
revokes a tenth of the grants, each with its reason, which the guard lets through with
max_removal_ratio 1. Prints the median of 3 runs of each and the ratio of dated to plain.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_seconds
from generate import write_account

from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.engine.planner import PlanOptions, make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store

RESELLER = "orders@cadpartners.example"
BEFORE = PlanOptions(today="2027-01-01")
AFTER = PlanOptions(today="2027-07-01", max_removal_ratio=1.0)


def account(folder: Path, users: int, dated: int) -> list[str]:
    path = folder / f"account-{users}-dated-{dated}.yaml"
    with path.open("w") as out:
        write_account(out, users, dated=dated)
    return [str(path)]


def fresh_store(folder: Path, name: str) -> str:
    for leftover in folder.glob(f"{name}.db*"):
        leftover.unlink()
    url = f"sqlite:///{folder / name}.db"
    open_store(url).initialize([RESELLER])
    return url


def plan_seconds(paths: list[str], url: str, options: PlanOptions) -> tuple[float, int, int]:
    """The median time of a plan of `paths` against the store at `url`, its actions and expired ones."""
    plan = make_plan(load_desired_state(paths), open_store(url).snapshot(), RESELLER, options)
    seconds = median_seconds(
        lambda: make_plan(load_desired_state(paths), open_store(url).snapshot(), RESELLER, options)
    )
    return seconds, len(plan.actions), sum(action.expired is not None for action in plan.actions)


def measure(folder: Path, users: int) -> None:
    plain, dated = account(folder, users, 0), account(folder, users, 10)
    for store, applied in (("empty store", False), ("store as applied", True)):
        figures = []
        for name, paths in (("plain", plain), ("dated", dated)):
            url = fresh_store(folder, name)
            if applied:
                run_apply(open_store(url), paths, RESELLER, ApplyOptions(planning=BEFORE))
            figures.append(plan_seconds(paths, url, BEFORE))
        (plain_s, plain_n, _), (dated_s, dated_n, _) = figures
        print(
            f"{users:>8} {store:<17} {plain_s:>8.2f}s {plain_n:>8} {dated_s:>8.2f}s {dated_n:>8} "
            f"{dated_s / plain_s:>6.3f}x",
            flush=True,
        )
    seconds, actions, expired = plan_seconds(dated, fresh_store_applied(folder, dated), AFTER)
    print(
        f"{users:>8} {'all dated expired':<17} {'':>9} {'':>8} {seconds:>8.2f}s {actions:>8} ({expired} expired)"
    )


def fresh_store_applied(folder: Path, paths: list[str]) -> str:
    url = fresh_store(folder, "expired")
    run_apply(open_store(url), paths, RESELLER, ApplyOptions(planning=BEFORE))
    return url


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [100_000]
    print(
        f"{'users':>8} {'plan against':<17} {'plain':>9} {'actions':>8} {'dated':>9} {'actions':>8} {'ratio':>7}"
    )
    with tempfile.TemporaryDirectory() as name:
        for users in sizes:
            measure(Path(name), users)


if __name__ == "__main__":
    main(sys.argv)
