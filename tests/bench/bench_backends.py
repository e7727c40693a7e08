"""Plan and apply on each store backend, side by side.

    python tests/bench/bench_backends.py [USERS ...]     (default: 10000)

For each account size, the median of 3 runs, on SQLite and on PostgreSQL:
`plan` (load and validate the YAML, read the store, diff, judge, order)
against an empty store; the first `apply` into an empty store (all of plan,
then every write in one transaction); a 1 % change (a hundredth of the
users renamed, planned and applied on top of the full account); and the
store's own share: one snapshot of the full account, and the first
apply's transaction alone (its plan made beforehand, untimed).

PostgreSQL is the server at RECONCILER_BENCH_POSTGRES (default
postgresql://127.0.0.1:5432/postgres, as the OS user); the benchmark
creates a database `reconciler_bench_<uuid>` for each fresh store and drops
it afterwards. Without a server it prints the SQLite column alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plan import renamed_one_percent
from common import account_file, median_seconds

from reconciler.commands.apply import run_apply
from reconciler.core.model import DesiredState
from reconciler.core.records import Transaction
from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store

RESELLER = "orders@cadpartners.example"
ADMIN_URL = os.environ.get("RECONCILER_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/postgres")

#: Makes an empty store of a name, replacing the last one of that name, and returns its URL; `init`
#: makes its tables (by default this checkout's reconciler, in this process).
FreshStore = Callable[..., str]


def _initialize(url: str) -> None:
    open_store(url).initialize([RESELLER])


@contextmanager
def sqlite_stores(folder: Path) -> Iterator[FreshStore]:
    """Makes an empty SQLite store, replacing the last one of its name."""

    def fresh(name: str = "bench", init: Callable[[str], None] = _initialize) -> str:
        for leftover in folder.glob(f"{name}.db*"):
            leftover.unlink()
        url = f"sqlite:///{folder / f'{name}.db'}"
        init(url)
        return url

    yield fresh


@contextmanager
def postgres_stores() -> Iterator[FreshStore]:
    """Makes an empty PostgreSQL store in a database of its own, dropping the last one of its name."""
    import psycopg

    made: dict[str, str] = {}
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:

        def drop(name: str) -> None:
            database = made.pop(name, None)
            if database:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

        def fresh(name: str = "bench", init: Callable[[str], None] = _initialize) -> str:
            drop(name)
            database = made[name] = f"reconciler_bench_{uuid.uuid4().hex}"
            admin.execute(f"CREATE DATABASE {database}")
            url = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{database}"))
            init(url)
            return url

        try:
            yield fresh
        finally:
            for name in list(made):
                drop(name)


def postgres_problem() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        psycopg.connect(ADMIN_URL, connect_timeout=5).close()
    except Exception as error:
        return str(error).strip().splitlines()[0]
    return None


def plan_and_apply(paths: list[str], url: str) -> None:
    run_apply(open_store(url), paths, RESELLER)


def measure(fresh: FreshStore, path: Path, changed: Path, full: DesiredState) -> dict[str, float]:
    """Seconds for each row of the table, on the backend whose stores `fresh` makes."""
    paths, changed_paths = [str(path)], [str(changed)]
    # The store (and plan) each untimed setup made, for the timed work that follows it.
    made: dict[str, Any] = {}

    def new_store() -> None:
        made["url"] = fresh()

    def new_full_store() -> None:
        new_store()
        plan_and_apply(paths, made["url"])

    def new_store_and_plan() -> None:
        new_store()
        made["plan"] = make_plan(full, open_store(made["url"]).snapshot(), RESELLER)

    figures = {}
    new_store()
    figures["plan"] = median_seconds(
        lambda: make_plan(load_desired_state(paths), open_store(made["url"]).snapshot(), RESELLER)
    )
    figures["first apply"] = median_seconds(lambda: plan_and_apply(paths, made["url"]), setup=new_store)
    figures["1% change"] = median_seconds(
        lambda: plan_and_apply(changed_paths, made["url"]), setup=new_full_store
    )
    figures["store: snapshot"] = median_seconds(lambda: open_store(made["url"]).snapshot())
    figures["store: apply txn"] = median_seconds(
        lambda: open_store(made["url"]).apply(Transaction(made["plan"])), setup=new_store_and_plan
    )
    return figures


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv[1:]] or [10_000]
    problem = postgres_problem()
    if problem:
        print(f"PostgreSQL at {ADMIN_URL} is unreachable ({problem}); SQLite only.")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for users in sizes:
            path = account_file(folder, users)
            changed = renamed_one_percent(path, users)
            full = load_desired_state([str(path)])
            columns: dict[str, dict[str, float]] = {}
            with sqlite_stores(folder) as fresh:
                columns["sqlite"] = measure(fresh, path, changed, full)
                actions = len(make_plan(full, open_store(fresh()).snapshot(), RESELLER).actions)
            if not problem:
                with postgres_stores() as fresh:
                    columns["postgresql"] = measure(fresh, path, changed, full)
            print(f"\n{users} users, {actions} actions in the first apply; median of 3 runs")
            print(f"{'':<18}" + "".join(f"{backend:>12}" for backend in columns))
            for row in columns["sqlite"]:
                print(f"{row:<18}" + "".join(f"{columns[backend][row]:>11.2f}s" for backend in columns))


if __name__ == "__main__":
    main(sys.argv)
