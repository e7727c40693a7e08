"""A directory's account: every user with an id, and 1 % of them given a new e-mail address.

    python tests/bench/bench_change_email.py [USERS ...]     (default: 10000)

Prints, per account size, the median of 3 runs of: `plan` of the account against a store that holds
it (nothing to do), written without ids and with an id on every user (what looking users up by id
costs when nobody moved); and plan and apply of 1 % of the users renamed (one `user.update` each,
as bench_plan.py's 1 % change) beside 1 % given a new address (one `user.change_email` each, the
user moved with their roles, teams and grants). The access comes from 200 teams, as in bench_plan.py's
second row, so that a move touches team members as well as grants.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import RESELLER, TEAMS, fresh_store, plan_and_apply
from common import account_file, median_seconds
from generate import user_email

from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store


def with_ids(path: Path) -> Path:
    """The account of `path` with a directory id on every user."""
    text = re.sub(
        r"^  - email: user(\d{6})@corp\.example\n",
        r"\g<0>    id: 5f0c7a2e-\1\n",
        path.read_text(),
        flags=re.M,
    )
    changed = path.with_name("with-ids.yaml")
    changed.write_text(text)
    return changed


def changed(path: Path, users: int, name: str, edit: str) -> Path:
    """The account of `path` with every hundredth user edited: renamed, or at a new address."""
    text = path.read_text()
    for index in range(0, users, 100):
        if edit == "names":
            text = text.replace(f"first_name: First{index}\n", f"first_name: Renamed{index}\n", 1)
        else:
            text = text.replace(user_email(index), f"moved.{user_email(index)}")
    out = path.with_name(name)
    out.write_text(text)
    return out


def plan_seconds(path: Path, folder: Path) -> float:
    url = fresh_store(folder)
    plan_and_apply([str(path)], url)
    return median_seconds(
        lambda: make_plan(load_desired_state([str(path)]), open_store(url).snapshot(), RESELLER)
    )


def change_seconds(base: Path, edited: Path, folder: Path) -> tuple[float, int]:
    url = fresh_store(folder)
    plan_and_apply([str(base)], url)
    actions = len(make_plan(load_desired_state([str(edited)]), open_store(url).snapshot(), RESELLER).actions)
    seconds = median_seconds(
        lambda: plan_and_apply([str(edited)], url),
        setup=lambda: plan_and_apply([str(base)], fresh_store(folder)),
    )
    return seconds, actions


def measure(folder: Path, users: int) -> str:
    plain = account_file(folder, users, TEAMS)
    ids = with_ids(plain)
    renamed, renamed_actions = change_seconds(ids, changed(ids, users, "renamed.yaml", "names"), folder)
    moved, moved_actions = change_seconds(ids, changed(ids, users, "moved.yaml", "addresses"), folder)
    return (
        f"{users:>8} {plan_seconds(plain, folder):>12.2f}s {plan_seconds(ids, folder):>9.2f}s "
        f"{renamed:>9.2f}s ({renamed_actions:>4}) {moved:>9.2f}s ({moved_actions:>4})"
    )


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [10_000]
    print(f"{'users':>8} {'plan, no ids':>13} {'with ids':>10} {'1% renamed':>17} {'1% new address':>17}")
    with tempfile.TemporaryDirectory() as name:
        for users in sizes:
            print(measure(Path(name), users), flush=True)


if __name__ == "__main__":
    main(sys.argv)
