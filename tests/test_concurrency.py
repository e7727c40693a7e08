"""Applies that meet: they take turns, a waiter gives up naming the holder, a killed apply leaves nothing.

Each test runs real `reconciler apply` processes against a store of each
backend. To catch an apply mid-transaction the tests give it a large plan
(thousands of actions) and watch the database from outside: on SQLite, the
write lock is taken; on PostgreSQL, the apply's backend has a transaction
id, which it gets at its first write (or row lock).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from itertools import count
from pathlib import Path

import pytest
from bench.generate import write_account
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, ROOT, Backend

from reconciler.cli import cli
from reconciler.core.model import DesiredState
from reconciler.core.planfile import dump_plan
from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.store import open_store

#: Big enough that an apply spends a while inside its transaction, small enough to plan quickly.
LARGE = 2000


def large_account(folder: Path, users: int, variant: int = 0) -> Path:
    """A generated account of `users` users; each variant renames every user, so the states differ."""
    path = folder / f"account-{users}-{variant}.yaml"
    with path.open("w") as out:
        write_account(out, users)
    if variant:
        path.write_text(path.read_text().replace("first_name: First", f"first_name: V{variant}First"))
    return path


_numbers = count()


class Apply:
    """`reconciler apply ARGS --auto-approve` in a process of its own, its output in files.

    Files, not pipes: the plan it prints runs to thousands of lines, and a
    full pipe nobody reads would stop it before it ever reached the store.
    """

    def __init__(self, *args: str, store_url: str, folder: Path) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "RECONCILER_STORE": store_url,
            "RECONCILER_ACTOR": RESELLER,
        }
        self.out = folder / f"apply-{next(_numbers)}.out"
        self.err = self.out.with_suffix(".err")
        # The child keeps its own copies of the files; ours can close at once.
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", *args, "--auto-approve"],
                env=env,
                stdout=out,
                stderr=err,
            )
        self.pid = self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def send_signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        """Its exit code, stdout and stderr, once it ends."""
        code = self.process.wait(timeout=timeout)
        return code, self.out.read_text(), self.err.read_text()


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    """A LARGE-user account, loaded once for the module."""
    return load_desired_state([str(large_account(tmp_path_factory.mktemp("large"), LARGE))])


def saved_plan(store_url: str, desired: DesiredState, folder: Path) -> Path:
    """The plan of `desired` against the store, saved as `plan --out` saves it."""
    out = folder / "plan.json"
    out.write_text(
        dump_plan(make_plan(desired, open_store(store_url).snapshot(), RESELLER)), encoding="utf-8"
    )
    return out


def sqlite_write_locked(url: str) -> bool:
    db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        db.close()
    return False


def writing_backends(backend: Backend, url: str) -> list[int]:
    """Server pids of reconciler sessions with a transaction that has written (or locked rows)."""
    rows = backend.query(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'reconciler' AND backend_xid IS NOT NULL",
    )
    return [pid for (pid,) in rows]


def wait_until_mid_transaction(backend: Backend, url: str, process: Apply) -> int | None:
    """Wait until `process` is inside its apply transaction, its holder recorded; returns its server pid."""
    deadline = time.monotonic() + 60
    holder_file = Path(url.removeprefix("sqlite:///") + "-holder")
    while time.monotonic() < deadline:
        assert process.running(), f"the apply ended before it was caught: {process.finish()}"
        if backend.name == "sqlite":
            if sqlite_write_locked(url) and holder_file.exists():
                return None
        else:
            pids = writing_backends(backend, url)
            if pids:
                return pids[0]
        time.sleep(0.002)
    raise AssertionError("the apply never started its transaction")


def wait_until_gone(backend: Backend, url: str, server_pid: int | None) -> None:
    """Wait until the server has noticed a killed client and ended its session (and so its locks)."""
    if server_pid is None:
        return
    deadline = time.monotonic() + 30
    while backend.query(url, f"SELECT 1 FROM pg_stat_activity WHERE pid = {server_pid}"):
        assert time.monotonic() < deadline, "the server kept the killed apply's session"
        time.sleep(0.01)


def store_tables(backend: Backend, url: str) -> list[tuple[object, ...]]:
    """Every row of the store, without the lock's bookkeeping (who held the lock last)."""
    return [row for row in backend.table_dump(url) if row[0] != "apply_lock"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_killed_apply_changes_nothing_and_leaves_no_lock(
    backend: Backend, store_url: str, tmp_path: Path, large: DesiredState, sig: signal.Signals
) -> None:
    plan = saved_plan(store_url, large, tmp_path)
    before = store_tables(backend, store_url)
    process = Apply(str(plan), store_url=store_url, folder=tmp_path)
    server_pid = wait_until_mid_transaction(backend, store_url, process)
    process.send_signal(sig)
    code, _, err = process.finish()
    # SIGINT (Ctrl-C) rolls back and says so; SIGKILL and SIGTERM (a cancelled CI job) end it on the spot.
    assert (code, err[-9:]) == (1, "Aborted.\n") if sig == signal.SIGINT else code == -sig
    wait_until_gone(backend, store_url, server_pid)
    assert store_tables(backend, store_url) == before
    # The lock died with the process: the next apply gets it without waiting.
    small = tmp_path / "small.yaml"
    small.write_text(ACCOUNT)
    result = CliRunner().invoke(
        cli,
        ["apply", str(small), "--auto-approve", "--lock-timeout", "0"],
        env={"RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER},
    )
    assert result.exit_code == 0, result.output
    assert "The store is at revision 1.\n" in result.output


def test_a_lock_held_by_something_else_is_named_as_well_as_it_can_be(
    backend: Backend, store_url: str, tmp_path: Path
) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(ACCOUNT)
    env = {"RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER}
    if backend.name == "sqlite":
        other = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held = "another writer holds it"
    else:
        import psycopg

        from reconciler.store.postgres import _lock_key

        lineage = open_store(store_url).snapshot().lineage
        other = psycopg.connect(store_url + "&application_name=by-hand", autocommit=True)
        other.execute("SELECT pg_advisory_lock(%s)", (_lock_key(lineage),))
        [(pid,)] = other.execute("SELECT pg_backend_pid()").fetchall()
        held = rf"another session holds it: by-hand from \S+ \(server pid {pid}\) since \S+"
    try:
        result = CliRunner().invoke(
            cli, ["apply", str(small), "--auto-approve", "--lock-timeout", "0"], env=env
        )
    finally:
        other.close()
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"Error: the store {re.escape(backend.where(store_url))} is locked: {held}; "
        r"did not wait \(--lock-timeout 0\), nothing was applied\. .*\n",
        result.stderr,
    ), result.stderr
    assert open_store(store_url).snapshot().revision == 0


def test_a_waiting_apply_gives_up_naming_the_holder(
    backend: Backend, store_url: str, tmp_path: Path, large: DesiredState
) -> None:
    plan = saved_plan(store_url, large, tmp_path)
    lineage = open_store(store_url).snapshot().lineage
    holder = Apply(str(plan), store_url=store_url, folder=tmp_path)
    wait_until_mid_transaction(backend, store_url, holder)
    holder.send_signal(signal.SIGSTOP)
    try:
        small = tmp_path / "small.yaml"
        small.write_text(ACCOUNT)
        # Reading for a plan takes no lock: it sees the store as it was before the apply began.
        planned = CliRunner().invoke(
            cli,
            ["plan", str(small), "--detailed-exitcode"],
            env={"RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER},
        )
        started = time.monotonic()
        waiter = CliRunner().invoke(
            cli,
            ["apply", str(small), "--auto-approve", "--lock-timeout", "0.5"],
            env={"RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER},
        )
        waited = time.monotonic() - started
    finally:
        holder.send_signal(signal.SIGCONT)
    code, out, err = holder.finish()
    assert code == 0, err
    assert "The store is at revision 1.\n" in out
    assert planned.exit_code == 2, planned.output
    assert planned.output.startswith(f"Plan for store {lineage} at revision 0, as {RESELLER}:\n")
    assert waiter.exit_code == 1
    assert waited >= 0.5
    named = re.fullmatch(
        rf"Error: the store {re.escape(backend.where(store_url))} is locked: another apply holds it: "
        rf"{re.escape(RESELLER)} on {re.escape(socket.gethostname())} \(pid {holder.pid}\) running "
        rf"`reconciler apply {re.escape(str(plan))} --auto-approve` since (\S+); gave up after 0.5 s, "
        r"nothing was applied. Try again when it is done, or wait longer with --lock-timeout SECONDS\n",
        waiter.stderr,
    )
    assert named, waiter.stderr
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", named[1])
    assert open_store(store_url).snapshot().revision == 1


def test_four_applies_at_once_take_turns(backend: Backend, store_url: str, tmp_path: Path) -> None:
    paths = [large_account(tmp_path, 500, variant) for variant in range(4)]
    processes = [Apply(str(path), store_url=store_url, folder=tmp_path) for path in paths]
    results = [p.finish(timeout=300) for p in processes]
    applied = [out for code, out, _ in results if code == 0]
    refused = [err for code, _, err in results if code != 0]
    assert applied, results
    for err in refused:
        # The only way to lose: planned against a revision that another apply moved on while it waited.
        assert re.search(
            r"the plan was made at revision \d+ but the store is at revision \d+; nothing", err
        ), err
    snapshot = open_store(store_url).snapshot()
    assert snapshot.revision == len(applied)
    assert [make_plan(load_desired_state([str(p)]), snapshot, RESELLER).actions == () for p in paths].count(
        True
    ) == 1
    # Each success printed its revision and counts; the audit log has exactly those, one apply after another.
    reported = {}
    for out in applied:
        found = re.search(
            r"Apply complete: (\d+) added, (\d+) changed, (\d+) removed\. The store is at revision (\d+)\.",
            out,
        )
        assert found, out
        reported[int(found[4])] = sum(int(n) for n in found.groups()[:3])
    assert sorted(reported) == list(range(1, len(applied) + 1))
    log = backend.query(store_url, "SELECT id, revision FROM audit_log ORDER BY id")
    assert Counter(revision for _, revision in log) == reported
    assert [revision for _, revision in log] == sorted(revision for _, revision in log)
