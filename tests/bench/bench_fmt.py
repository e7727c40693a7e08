"""`fmt` against the floor: the bare PyYAML C parse of the same file.

    python tests/bench/bench_fmt.py [--runs N] [USERS ...]     (default: 3 runs, 10000 100000)

Each figure is the median wall time of N runs of the real command line
(`python -m reconciler fmt …`, a process of its own) and the peak memory (max
RSS) of its largest run, beside the floor: PyYAML's C loader reading the same
file in a process of its own. With the `[fast]` extra, as installed. Rows:

- fmt --check:         on a file already in the layout (it reads, validates, lays out, compares)
- fmt, rewriting:      on the same account with its users in reverse order and every e-mail in upper
                       case: the plain way (no comment in the body), the file rewritten and read back
- fmt, commented way:  the same with one comment line in its body, which sends it the long way:
                       composed again by libyaml for the marks, its comments woven back in

Target of the fmt issue at 100,000 users: fmt, rewriting, at most 1.5x the floor.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import Figure, columns_of, floor, measure, reconciler, run
from common import account_file

TARGET = 1.5
_EMAIL = re.compile(rb"[a-z0-9]+@corp\.example")


def shuffled(canonical: Path, out: Path, comment: bool = False) -> Path:
    """`canonical` with its users in reverse order and every e-mail upper-cased; with `comment`, a comment
    line above its last user (the users follow the contracts in the layout)."""
    data = canonical.read_bytes()
    head, users = data.split(b"\nusers:\n", 1)
    entries = [b"  - email: " + entry for entry in users.split(b"  - email: ") if entry]
    if comment:
        entries[0] = b"  # the first user, last\n" + entries[0]
    text = head + b"\nusers:\n" + b"".join(reversed(entries))
    out.write_bytes(_EMAIL.sub(lambda found: found.group().upper(), text))
    return out


def figures(path: Path, folder: Path, env: dict[str, str], runs: int, users: int) -> dict[str, Figure]:
    canonical = folder / "canonical.yaml"
    shutil.copyfile(path, canonical)
    run(reconciler("fmt", str(canonical)), env)  # the generator's layout is not quite export's
    messy = shuffled(canonical, folder / "shuffled.yaml")
    commented = shuffled(canonical, folder / "commented.yaml", comment=True)
    work = folder / "work.yaml"

    def copy_of(source: Path) -> object:
        return lambda _: shutil.copyfile(source, work)

    found = {
        "fmt --check": measure(reconciler("fmt", "--check", str(canonical)), env, runs),
        "fmt, rewriting": measure(reconciler("fmt", str(work)), env, runs, setup=copy_of(messy)),
    }
    if work.read_bytes() != canonical.read_bytes():
        raise SystemExit("fmt of the shuffled file did not give the canonical one")
    found["fmt, commented way"] = measure(reconciler("fmt", str(work)), env, runs, setup=copy_of(commented))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    _, extra = columns_of(None)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")} | extra
    env.pop("GITHUB_STEP_SUMMARY", None)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for users in options.users:
            path = account_file(folder, users)
            parse = floor(path, options.runs)
            print(f"\n{users:,} users ({path.stat().st_size / 1e6:.1f} MB), median of {options.runs}:")
            print(f"  {'bare PyYAML C parse':<20} {parse.seconds:7.2f} s  {parse.peak_mib:6.0f} MiB peak")
            for row, figure in figures(path, folder, env, options.runs, users).items():
                ratio = figure.seconds / parse.seconds
                line = f"  {row:<20} {figure.seconds:7.2f} s  {figure.peak_mib:6.0f} MiB peak  {ratio:5.2f}x the parse"
                if row == "fmt, rewriting" and users >= 100_000:
                    line += f"  (target {TARGET}x) " + ("ok" if ratio <= TARGET else "OVER TARGET")
                print(line, flush=True)


if __name__ == "__main__":
    main()
