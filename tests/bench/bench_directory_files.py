"""An account whose people come from the directory's file against the same account written inline.

    python tests/bench/bench_directory_files.py [USERS ...]     (default: 10000)

The account is bench_plan's with teams (200 teams, each user in one, each team giving three
serials), every user with a directory id. Inline, it is one hand-written file. Split, as after a
`directory pull`: a hand-written file with the contracts, the `directory:` block and the teams (each
with its `directory_group` and access), and the directory's file with the users (id, e-mail, names)
and each team's members. Prints the median of 3 runs of validate (load: parse, schema, rules, model)
and of `plan` against an empty SQLite store, each way, and the ratio split / inline. The target of
the directory issue: plan of the split account at most 1.1 times the inline one.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import RESELLER, fresh_store
from common import median_seconds
from generate import write_account

from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store

TEAMS = 200
BLOCK = """\
directory:
  kind: ldap
  url: ldaps://dc1.corp.example
  base_dn: dc=corp,dc=example
  flavour: openldap
  output: people/directory.yaml
"""
_USER = re.compile(r"  - email: user(\d+)@corp.example\n")
_TEAM = re.compile(
    r"  - name: (?P<name>.+)\n    description: (?P<description>.+)\n    members:(?P<members>(?: \[\])?\n"
    r"(?:      - .+\n)*)    access:\n(?P<access>(?:      .+\n)*)"
)


def with_ids(users: str) -> str:
    return _USER.sub(lambda m: f"{m[0]}    id: {int(m[1]):08x}-0000-4000-8000-000000000000\n", users)


def write_both(folder: Path, users: int) -> tuple[Path, Path]:
    """The account inline (a file) and split (a folder of two files), in `folder`."""
    out = io.StringIO()
    write_account(out, users, teams=TEAMS)
    text = out.getvalue()
    head, rest = text.split("users:\n", 1)
    people, teams = rest.split("teams:\n", 1)
    people = with_ids(people)
    inline = folder / f"inline-{users}.yaml"
    inline.write_text(f"{head}users:\n{people}teams:\n{teams}")
    hand, generated = [], []
    for team in _TEAM.finditer(teams):
        dn = f"cn={team['name']},ou=Groups,dc=corp,dc=example"
        hand.append(
            f"  - name: {team['name']}\n    description: {team['description']}\n"
            f'    directory_group: "{dn}"\n    access:\n{team["access"]}'
        )
        generated.append(f"  - name: {team['name']}\n    members:{team['members']}")
    assert len(hand) == TEAMS
    split = folder / f"split-{users}"
    (split / "people").mkdir(parents=True, exist_ok=True)
    (split / "account.yaml").write_text(
        head.replace("version: 1\n", "version: 1\n" + BLOCK) + "teams:\n" + "".join(hand)
    )
    (split / "people" / "directory.yaml").write_text(
        f"version: 1\nusers:\n{people}teams:\n{''.join(generated)}"
    )
    return inline, split


def measure(folder: Path, users: int) -> str:
    """One row of figures for an account of `users` users."""
    inline, split = write_both(folder, users)
    assert load_desired_state([str(split)]).users == load_desired_state([str(inline)]).users
    url = f"sqlite:///{folder / 'bench.db'}"
    figures = []
    for path in (inline, split):
        figures.append(median_seconds(lambda path=path: load_desired_state([str(path)])))
    for path in (inline, split):
        figures.append(
            median_seconds(
                lambda path=path: make_plan(
                    load_desired_state([str(path)]), open_store(url).snapshot(), RESELLER
                ),
                lambda: fresh_store(folder),
            )
        )
    load_inline, load_split, plan_inline, plan_split = figures
    return (
        f"{users:>8} {load_inline:>15.2f}s {load_split:>6.2f}s {load_split / load_inline:>6.2f} "
        f"{plan_inline:>11.2f}s {plan_split:>6.2f}s {plan_split / plan_inline:>6.2f}"
    )


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [10_000]
    print(f"{'users':>8} {'validate inline':>16} {'split':>7} {'ratio':>6}", end="")
    print(f" {'plan inline':>12} {'split':>7} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as name:
        for users in sizes:
            print(measure(Path(name), users))


if __name__ == "__main__":
    main(sys.argv)
