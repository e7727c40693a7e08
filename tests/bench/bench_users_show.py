"""`users show EMAIL` on a large store: one user's answer must not cost the whole store.

    python tests/bench/bench_users_show.py [--runs N] [--backends sqlite,postgresql] [--rebuild] [USERS]
    (default: 5 runs, both backends, 100000 users)

The account is tests/bench/generate.py's (50 contracts of 20 serials, three
grants a user), applied by the reseller, and beside it a file of one team,
Bench Team, that gives its members two serials (one with downloads): so the
user timed, user000050@corp.example, has three grants of their own, two
through the team (one of them a serial they hold directly too), is the
Software Coordinator of ten serials of contract 110000000000, and has a
history of a dozen audit entries among the 400,000 of the store.

The stores are built once and kept for the next run in a folder of the
system's temporary directory (`reconciler-bench-users-show`): a SQLite file,
and a PostgreSQL database whose name is kept there (on the server at
RECONCILER_BENCH_POSTGRES, default postgresql://127.0.0.1:5432/postgres),
analysed once built, as autovacuum would (the test server runs without it);
`--rebuild` makes them again, as does a store this checkout cannot read.

Each figure is the median wall time (and CPU time, user and system: less
moved by other work on the machine) of N runs of the whole process, start-up
included (the console script `reconciler`, as a person runs it), beside two
floors: Python starting and doing nothing, and Python importing the command
line (`import reconciler.cli`), which every command pays. Target: 0.5 s wall.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import ADMIN_URL, postgres_problem
from bench_scale import RESELLER, reconciler, run
from common import account_file
from generate import serial_number, user_email

TARGET_SECONDS = 0.5
CACHE = Path(tempfile.gettempdir()) / "reconciler-bench-users-show"
#: The user timed: the coordinator of contract 0, with grants of their own and through Bench Team.
USER = user_email(50)
TEAM = f"""\
version: 1
teams:
  - name: Bench Team
    description: The members users show is timed for
    members: [{user_email(50)}, {user_email(51)}, {user_email(52)}]
    access:
      - serial: "{serial_number(3)}"
        download: true
      - serial: "{serial_number(7)}"
"""


def command(*args: str) -> list[str]:
    """The console script `reconciler` beside this Python, as a person runs it (else `-m reconciler`)."""
    script = Path(sys.executable).with_name("reconciler")
    return [str(script), *args] if script.exists() else reconciler(*args)


def environment(store: str) -> dict[str, str]:
    env = {**os.environ, "RECONCILER_ACTOR": RESELLER, "RECONCILER_STORE": store}
    for unwanted in ("RECONCILER_SMTP_URL", "GITHUB_STEP_SUMMARY", "RECONCILER_DEBUG"):
        env.pop(unwanted, None)
    return env


def usable(store: str) -> bool:
    """Whether `store` holds the account, readable by this checkout: `users show` answers for USER."""
    shown = subprocess.run(
        command("users", "show", USER, "--format", "json"), env=environment(store), capture_output=True
    )
    return shown.returncode == 0 and len(json.loads(shown.stdout)["access"]) >= 4


def build(store: str, users: int, folder: Path) -> None:
    """`store` (empty) initialised, with the account and Bench Team applied by the reseller."""
    env = environment(store)
    account = account_file(folder, users)
    team = folder / "team.yaml"
    team.write_text(TEAM)
    started = time.perf_counter()
    run(command("init", "--reseller", RESELLER), env)
    run(command("apply", str(account), str(team), "--auto-approve"), env)
    print(f"  built {redacted(store)} in {time.perf_counter() - started:.0f} s", flush=True)


def redacted(store: str) -> str:
    return store.split("?")[0]


def sqlite_store(users: int, rebuild: bool) -> str:
    path = CACHE / f"users-{users}.db"
    url = f"sqlite:///{path}"
    if not rebuild and path.exists() and usable(url):
        return url
    for leftover in CACHE.glob(f"users-{users}.db*"):
        leftover.unlink()
    build(url, users, CACHE)
    return url


def postgres_store(users: int, rebuild: bool) -> str:
    import psycopg

    kept = CACHE / f"users-{users}.postgresql"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        if kept.exists():
            database = kept.read_text().strip()
            url = urlsplit(ADMIN_URL)._replace(path=f"/{database}").geturl()
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if exists and not rebuild and usable(url):
                return url
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        database = f"reconciler_bench_users_show_{uuid.uuid4().hex[:12]}"
        admin.execute(f"CREATE DATABASE {database}")
        kept.write_text(database)
    url = urlsplit(ADMIN_URL)._replace(path=f"/{database}").geturl()
    build(url, users, CACHE)
    # What autovacuum does after a bulk load on a server that runs it (the test server does not).
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("ANALYZE")
    return url


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user and system) of one process, which must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def medians(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float, list[float]]:
    """The median wall and CPU seconds of `runs` runs, and each run's wall seconds."""
    found = [timed(args, env) for _ in range(runs)]
    walls = [wall for wall, _ in found]
    return statistics.median(walls), statistics.median(cpu for _, cpu in found), walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", type=int, nargs="?", default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rebuild", action="store_true", help="build the stores again")
    options = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    stores = {}
    for backend in options.backends.split(","):
        if backend == "sqlite":
            stores["sqlite"] = sqlite_store(options.users, options.rebuild)
        elif backend == "postgresql":
            problem = postgres_problem()
            if problem:
                print(f"(no PostgreSQL: {problem})")
                continue
            stores["postgresql"] = postgres_store(options.users, options.rebuild)
    env = environment(next(iter(stores.values()), "sqlite:///unused.db"))
    print(f"{options.users:,} users; {USER}; median of {options.runs} runs of the whole process")
    print(f"  {'':38} {'wall':>7}  {'cpu':>7}")
    for label, args in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -c 'import reconciler.cli'", [sys.executable, "-c", "import reconciler.cli"]),
    ):
        wall, cpu, _ = medians(args, env, options.runs)
        print(f"  {label:38} {wall:5.3f} s  {cpu:5.3f} s")
    for backend, store in stores.items():
        for label, extra in (("users show", ()), ("users show --format json", ("--format", "json"))):
            args = command("users", "show", USER, *extra)
            wall, cpu, walls = medians(args, environment(store), options.runs)
            verdict = "ok" if wall <= TARGET_SECONDS else "OVER TARGET"
            spread = ", ".join(f"{t:.3f}" for t in sorted(walls))
            row = f"{label} ({backend})"
            print(f"  {row:38} {wall:5.3f} s  {cpu:5.3f} s  target {TARGET_SECONDS} s {verdict}  [{spread}]")
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
