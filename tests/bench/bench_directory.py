"""Reading the directory: 10,000 users in 100 groups on a local slapd, against a bare ldap3 search.

    python tests/bench/bench_directory.py [USERS] [--groups N] [--per-member]
    (default: 10000 users, 100 groups)

A slapd of the tests' own (tests/ldap_server.py) holds USERS people, each
in one of the groups (USERS / N members a group). Each figure is the median
wall time of 3 runs, each from a new connection and bind, the runs of the
two taken in turns so that a busy machine slows both alike; beside it, the
CPU time of the reader (this process) and of slapd (from /proc, on Linux):

- read_directory:   reconciler's read of the N groups and their members
- directory pull:   the whole command (`commands.directory.pull`): the
                    account's files read, the same read, the directory's
                    file of USERS users and N teams written (removed before
                    each run, so each run writes it)
- bare ldap3:       one paged subtree search (500 a page) of base_dn for the
                    same entries (the people and the groups) and attributes,
                    nothing else: the floor; with --people-only, the people
                    alone
- --per-member:     the other way to look members up, one base search per
                    member DN over ldap3, for the choice reading.py made

Targets of issue 27: the pull at most 10 s, and at most 2x the bare search.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' slapd
import ldap3
from common import RUNS
from ldap_server import READER_DN, READER_PASSWORD, Slapd, Tree

from reconciler.commands.directory import pull
from reconciler.core.model import DEFAULT_ATTRIBUTES, Flavour
from reconciler.directory import read_directory

ATTRIBUTES = DEFAULT_ATTRIBUTES[Flavour.OPENLDAP]
#: What the reader asks of each entry.
READ = ["objectClass", ATTRIBUTES.id, ATTRIBUTES.email, ATTRIBUTES.first_name, ATTRIBUTES.last_name,
        ATTRIBUTES.member, "pwdAccountLockedTime"]  # fmt: skip
PEOPLE = "(objectClass=inetOrgPerson)"
PEOPLE_AND_GROUPS = "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))"


def seed(tree: Tree, users: int, groups: int) -> list[str]:
    """USERS people and GROUPS groups, person i in group i mod GROUPS; the groups' DNs."""
    tree.add_people(tree.person(f"user{number:06}") for number in range(users))
    names = [f"group{number:03}" for number in range(groups)]
    tree.add(
        "\n".join(
            tree.group(name, [tree.person_dn(f"user{member:06}") for member in range(index, users, groups)])
            for index, name in enumerate(names)
        )
    )
    return [tree.group_dn(name) for name in names]


def account(folder: Path, tree: Tree, groups: list[str]) -> Path:
    """An account folder whose teams follow `groups`, one team a group (the pull reads no more of it)."""
    folder.mkdir()
    teams = "".join(
        f'  - name: Team {index:03}\n    directory_group: "{group}"\n' for index, group in enumerate(groups)
    )
    (folder / "account.yaml").write_text(
        "version: 1\n"
        "directory:\n"
        f'  kind: ldap\n  url: {tree.server.url}\n  bind_dn: "{READER_DN}"\n  base_dn: "{tree.base_dn}"\n'
        "  flavour: openldap\n  output: people/directory.yaml\n"
        f"teams:\n{teams}"
    )
    return folder / "people" / "directory.yaml"


def pulled(folder: Path, output: Path) -> None:
    output.unlink(missing_ok=True)  # each run writes the file, as a first pull does
    pull([str(folder)], READER_PASSWORD)


def connection(tree: Tree) -> ldap3.Connection:
    server = ldap3.Server(tree.server.url, get_info=ldap3.NONE)
    return ldap3.Connection(server, READER_DN, READER_PASSWORD, auto_bind=True, return_empty_attributes=False)


def bare(tree: Tree, search_filter: str = PEOPLE_AND_GROUPS) -> int:
    """The floor: one paged subtree search for the entries, decoded by ldap3; how many it found."""
    entries = 0
    with connection(tree) as bound:
        cookie = None
        while True:
            bound.search(tree.base_dn, search_filter, attributes=READ, paged_size=500, paged_cookie=cookie)
            entries += sum(1 for item in bound.response if item["type"] == "searchResEntry")
            cookie = bound.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
            if not cookie:
                return entries


def per_member(tree: Tree, groups: list[str]) -> int:
    """The other way: each group's members by one base search per member DN."""
    entries = 0
    with connection(tree) as bound:
        for group in groups:
            bound.search(group, "(objectClass=*)", ldap3.BASE, attributes=["member"])
            for member in bound.response[0]["raw_attributes"]["member"]:
                bound.search(member.decode(), "(objectClass=*)", ldap3.BASE, attributes=READ)
                entries += len(bound.response)
    return entries


def timed(work: Callable[[], object], server: Slapd) -> tuple[float, float, float]:
    """The wall seconds of one call of `work`, and the CPU seconds of this process and of slapd."""
    gc.collect()
    wall, cpu, slapd = time.perf_counter(), time.process_time(), server.cpu_seconds() or 0.0
    work()
    return time.perf_counter() - wall, time.process_time() - cpu, (server.cpu_seconds() or 0.0) - slapd


def medians(server: Slapd, *works: Callable[[], object]) -> list[tuple[float, ...]]:
    """Each work's median figures over RUNS rounds, the works run in turn in each round."""
    rounds = [[timed(work, server) for work in works] for _ in range(RUNS)]
    return [
        tuple(statistics.median(r[index][field] for r in rounds) for field in range(3))
        for index in range(len(works))
    ]


def line(name: str, figures: tuple[float, ...]) -> str:
    wall, reader, slapd = figures
    return f"  {name:<16} {wall:5.2f} s   reader CPU {reader:5.2f} s   slapd CPU {slapd:5.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", type=int, nargs="?", default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-member", action="store_true", help="also time one base search per member")
    parser.add_argument("--people-only", action="store_true", help="the bare search reads the people alone")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-slapd-") as name:
        server = Slapd(Path(name))
        server.start()
        try:
            tree = server.tree("bench")
            groups = seed(tree, arguments.users, arguments.groups)
            directory = tree.directory()
            read = read_directory(directory, groups, READER_PASSWORD)
            assert len(read.people) == arguments.users, len(read.people)
            floor = PEOPLE if arguments.people_only else PEOPLE_AND_GROUPS
            assert bare(tree, floor) == arguments.users + (0 if arguments.people_only else arguments.groups)
            folder = Path(name) / "account"
            output = account(folder, tree, groups)
            works: list[Callable[[], object]] = [
                lambda: read_directory(directory, groups, READER_PASSWORD),
                lambda: bare(tree, floor),
                lambda: pulled(folder, output),
            ]
            if arguments.per_member:
                works.append(lambda: per_member(tree, groups))
            figures = medians(server, *works)
            assert output.read_text().count("\n    id: ") == arguments.users
        finally:
            server.stop()
    read, floor_figures, whole = figures[0], figures[1], figures[2]
    print(f"{arguments.users:,} users in {arguments.groups} groups, slapd on loopback, median of {RUNS}")
    print(line("read_directory:", read) + f"   {read[0] / floor_figures[0]:.2f} x the bare search")
    print(line("bare ldap3:", floor_figures) + f"   one paged subtree search, {floor}")
    if arguments.per_member:
        print(
            line("per member:", figures[3])
            + f"   one base search a member, {figures[3][0] / floor_figures[0]:.2f} x"
        )
    ratio = whole[0] / floor_figures[0]
    print(line("directory pull:", whole) + f"   target <= 10 s  {'ok' if whole[0] <= 10 else 'OVER'}")
    print(f"  ratio:           {ratio:5.2f} x   (reader CPU {whole[1] / floor_figures[1]:.2f} x)   target <= 2 x  "
          f"{'ok' if ratio <= 2 else 'OVER'}")  # fmt: skip


if __name__ == "__main__":
    main()
