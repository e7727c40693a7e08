"""Generate a large, valid desired-state account for benchmarks.

    python tests/bench/generate.py 10000 > /tmp/account.yaml

The shape follows the issue's scale: 50 contracts of 20 serials each, about
three grants per user, seats sized so that nothing is over-assigned. With
`teams`, the same grants come from that many teams instead: each user is in
one team, and each team gives its members three serials.
"""

from __future__ import annotations

import random
import sys
from typing import TextIO

PRODUCTS = ("AutoCAD", "Revit", "Inventor Professional", "Civil 3D", "Maya", "3ds Max")
GROUPS = ("Design Studio", "Structures", "Site Works", "Visualisation", "Plant")


def user_email(index: int) -> str:
    return f"user{index:06d}@corp.example"


def write_account(
    out: TextIO,
    users: int,
    contracts: int = 50,
    serials_per_contract: int = 20,
    grants_per_user: int = 3,
    seed: int = 0,
    teams: int = 0,
    dated: int = 0,
    expires: str = "2027-06-30",
) -> None:
    """Write one YAML file holding the whole account to `out`; with `dated`, every `dated`-th grant of
    a user's own ends on `expires` (10: a tenth of them), the rest the same as without."""
    rng = random.Random(seed)
    serial_count = contracts * serials_per_contract
    team_serials = [
        sorted(rng.sample(range(serial_count), min(grants_per_user, serial_count))) for _ in range(teams)
    ]
    team_of = [rng.randrange(teams) for _ in range(users)] if teams else []
    grants: list[list[int]] = [
        team_serials[team_of[u]]
        if teams
        else rng.sample(range(serial_count), min(grants_per_user, serial_count))
        for u in range(users)
    ]
    holders = [0] * serial_count
    for user_grants in grants:
        for serial in user_grants:
            holders[serial] += 1

    out.write("# yaml-language-server: $schema=../../schemas/desired-state.schema.json\n")
    out.write("version: 1\ncontracts:\n")
    for c in range(contracts):
        manager = user_email(c % max(users, 1))
        coordinator = user_email((c + contracts) % max(users, 1))
        out.write(f'  - number: "1100{c:08d}"\n    manager: {manager}\n')
        out.write(f"    coordinators:\n      - email: {coordinator}\n        manage_users: true\n")
        out.write(f'        shipping: {{name: Site {c}, address: "{c} Main St, Springfield", country: US}}\n')
        out.write("    serials:\n")
        for s in range(serials_per_contract):
            index = c * serials_per_contract + s
            out.write(f'      - number: "{serial_number(index)}"\n')
            out.write(f"        product: {PRODUCTS[index % len(PRODUCTS)]}\n")
            out.write(f"        seats: {holders[index] + 5}\n")
            out.write(f"        group: {GROUPS[index % len(GROUPS)]}\n")
            if s % 2:
                out.write(f"        coordinator: {coordinator}\n")
    out.write("users:\n")
    for u in range(users):
        out.write(f"  - email: {user_email(u)}\n    first_name: First{u}\n    last_name: Last{u}\n")
        if teams:
            continue
        out.write("    access:\n")
        first = u * grants_per_user
        ends = [(first + i) % dated == 0 if dated else False for i in range(len(grants[u]))]
        _write_access(out, grants[u], "      ", ends, expires)
    if teams:
        out.write("teams:\n")
    members: list[list[int]] = [[] for _ in range(teams)]
    for u, t in enumerate(team_of):
        members[t].append(u)
    for t in range(teams):
        out.write(f"  - name: Team {t:03d}\n    description: Project {t}\n    members:")
        out.write("\n" if members[t] else " []\n")
        out.writelines(f"      - {user_email(u)}\n" for u in members[t])
        out.write("    access:\n")
        _write_access(out, team_serials[t], "      ")


def _write_access(
    out: TextIO, serials: list[int], pad: str, ends: list[bool] | None = None, expires: str = ""
) -> None:
    for index, serial in enumerate(sorted(serials)):
        out.write(f'{pad}- serial: "{serial_number(serial)}"\n')
        if serial % 3 == 0:
            out.write(f"{pad}  download: true\n")
        if ends and ends[index]:
            out.write(f'{pad}  expires: "{expires}"\n')


def serial_number(index: int) -> str:
    return f"399-{index:08d}"


def main(argv: list[str]) -> None:
    users = int(argv[1]) if len(argv) > 1 else 10_000
    write_account(sys.stdout, users)


if __name__ == "__main__":
    main(sys.argv)
