"""Validate against the floor: the bare PyYAML C parse of the same file, side by side.

    python tests/bench/bench_validate.py [USERS ...]     (default: 10000)

Prints, per account size, the median of 3 runs of: the bare
`yaml.load(CSafeLoader)` parse (the floor), the same with the garbage
collector paused (for reference), and reconciler's whole validate
(strict load, schema, domain rules, model), with the ratio to the floor.
The target of the validate issue is a ratio of at most 1.3 at 10,000 users.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import account_file, bare_parse, median_seconds

from reconciler.loading import load_desired_state


def bare_parse_gc_paused(path: Path) -> object:
    gc.disable()
    try:
        return bare_parse(path)
    finally:
        gc.enable()


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [10_000]
    print(f"{'users':>8} {'MB':>6} {'parse floor':>12} {'parse, gc off':>14} {'validate':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for users in sizes:
            path = account_file(Path(folder), users)
            floor = median_seconds(lambda path=path: bare_parse(path))
            floor_no_gc = median_seconds(lambda path=path: bare_parse_gc_paused(path))
            validate = median_seconds(lambda path=path: load_desired_state([str(path)]))
            size = path.stat().st_size / 1e6
            print(
                f"{users:>8} {size:>6.1f} {floor:>11.2f}s {floor_no_gc:>13.2f}s {validate:>8.2f}s "
                f"{validate / floor:>6.2f}"
            )


if __name__ == "__main__":
    main(sys.argv)
