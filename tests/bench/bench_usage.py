"""`usage` at scale: the seat and renewal report of a stored account, against the floor of PyYAML's C
parser reading the same account's YAML.

    python tests/bench/bench_usage.py              # 100,000 users, 3 runs each
    python tests/bench/bench_usage.py 10000 --runs 1

The account (tests/bench/generate.py: 50 contracts of 20 serials, about three grants per user) is
applied into a SQLite store first; every user is then still invited. Each figure is a whole
`reconciler` process (start-up included), its wall time and peak RSS; the target is at most 0.3x
the parse for `usage`. `usage --stale-invites 0 --format json` (every invited user stale, each
listed on each of their serials) is shown beside it, without a target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import Figure, applied_sqlite, floor, measure, print_against_parse, reconciler
from common import account_file

TARGET = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", type=int, nargs="?", default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = account_file(folder, arguments.users)
        env = applied_sqlite(folder, path)
        parse = floor(path, arguments.runs)
        figures: dict[str, Figure] = {
            "usage": measure(reconciler("usage"), env, arguments.runs),
            "usage --stale-invites 0 --format json": measure(
                reconciler("usage", "--stale-invites", "0", "--format", "json"), env, arguments.runs
            ),
        }
        print(
            f"{arguments.users:,} users, YAML {path.stat().st_size / 2**20:.1f} MiB, "
            f"store {(folder / 's.db').stat().st_size / 2**20:.1f} MiB; median of {arguments.runs}"
        )
        print_against_parse(parse, figures, TARGET, {"usage"})


if __name__ == "__main__":
    main()
