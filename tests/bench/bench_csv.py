"""CSV in and out at scale: `export --format csv` of a stored account and `import csv` of that file,
each against the floor of PyYAML's C parser reading the same account's YAML.

    python tests/bench/bench_csv.py            # 100,000 users, 3 runs each
    python tests/bench/bench_csv.py --users 10000 --runs 1

Each figure is a whole `reconciler` process (start-up included), its wall time and peak RSS; the
target is at most 0.5x the parse for each. `import csv --contracts` (the full validator on top) is
shown beside them, without a target.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import Figure, applied_sqlite, floor, measure, print_against_parse, reconciler
from common import account_file

TARGET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = account_file(folder, arguments.users)
        env = applied_sqlite(folder, path)
        csv_path = folder / "users.csv"
        with csv_path.open("wb") as out:
            subprocess.run(reconciler("export", "--format", "csv"), stdout=out, env=env, check=True)
        contracts = folder / "contracts.yaml"
        text = path.read_text()
        contracts.write_text(text[: text.index("\nusers:\n") + 1])
        parse = floor(path, arguments.runs)
        figures: dict[str, Figure] = {
            "export --format csv": measure(reconciler("export", "--format", "csv"), env, arguments.runs),
            "import csv": measure(
                reconciler("import", "csv", str(csv_path), "--out", str(folder / "u.yaml")),
                env,
                arguments.runs,
            ),
            "import csv --contracts": measure(
                reconciler(
                    "import",
                    "csv",
                    str(csv_path),
                    "--contracts",
                    str(contracts),
                    "--out",
                    str(folder / "v.yaml"),
                ),
                env,
                arguments.runs,
            ),
        }
        rows = sum(1 for _ in csv_path.open("rb")) - 1
        print(
            f"{arguments.users:,} users, {rows:,} CSV rows ({csv_path.stat().st_size / 2**20:.1f} MiB), "
            f"YAML {path.stat().st_size / 2**20:.1f} MiB; median of {arguments.runs}"
        )
        print_against_parse(
            parse, figures, TARGET, {label for label in figures if not label.endswith("--contracts")}
        )


if __name__ == "__main__":
    main()
