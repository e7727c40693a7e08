"""A COMMIT whose answer is lost: the apply asks the store again and says which way it went.

A TCP proxy of the test's own (tcpproxy.py) sits between the store and
PostgreSQL and cuts the apply's connection at its COMMIT: before passing it
on (the server never commits), or after the server has committed and
answered (the answer never arrives). The apply's connection is the one that
records the lock's holder (`INSERT INTO apply_lock`); reads for a plan have
COMMITs of their own and are left alone.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, Backend, WriteYaml, plan_yaml
from tcpproxy import TcpProxy

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.errors import OutcomeUnknown, StoreError
from reconciler.store import open_store, redact_url
from reconciler.store import postgres as postgres_store


def query_message(sql: str) -> bytes:
    """A simple-query ('Q') message of PostgreSQL's wire protocol, as psycopg sends `execute(sql)`."""
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", 4 + len(body)) + body


COMMIT = query_message("COMMIT")
#: Only the apply's own connection writes this, before its transaction begins.
APPLY_CONNECTION = b"INSERT INTO apply_lock"
LOST = "consuming input failed: server closed the connection unexpectedly"


@pytest.fixture
def pg(postgres_database: str, tmp_path: Path) -> Iterator[Backend]:
    """PostgreSQL alone, its stores in schemas of the session's database (faster than a database each)."""
    chosen = Backend("postgresql", tmp_path, postgres_database)
    try:
        yield chosen
    finally:
        chosen.drop_all()


@pytest.fixture
def direct(pg: Backend) -> str:
    """A store straight on the server, with RESELLER as its reseller."""
    url = pg.new_url()
    open_store(url).initialize([RESELLER])
    return url


@pytest.fixture
def proxy(direct: str) -> Iterator[TcpProxy]:
    parts = urlsplit(direct)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as running:
        yield running


def through(proxy: TcpProxy, url: str) -> str:
    """`url` by way of the proxy, in plain text so that it can see the messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[0]
    netloc = f"{netloc}@" if netloc else ""
    query = "&".join(filter(None, [parts.query, "sslmode=disable", "gssencmode=disable"]))
    return urlunsplit((parts.scheme, f"{netloc}127.0.0.1:{proxy.port}", parts.path, query, ""))


def rows(pg: Backend, url: str) -> list[tuple[object, ...]]:
    """Every row of the store but the lock's bookkeeping."""
    return [row for row in pg.table_dump(url) if row[0] != "apply_lock"]


def not_applied(url: str) -> str:
    return (
        f"the connection to {redact_url(url)} was lost while the apply committed ({LOST}); reconnected, "
        "the store says the transaction did not commit: nothing was applied, and it is safe to run the "
        "apply again"
    )


def applied(url: str, revision: int) -> str:
    return (
        f"the connection to {redact_url(url)} was lost while the apply committed ({LOST}); reconnected, "
        f"the store says it did commit, as revision {revision}: the apply is done, and its e-mail was "
        "queued with it."
    )


def unknown(url: str, actions: int) -> str:
    where = redact_url(url)
    port = urlsplit(url).port
    return (
        f"the connection to {where} was lost while the apply committed ({LOST}), and the store cannot "
        f'be reached again to tell whether it did (connection failed: connection to server at "127.0.0.1", '
        f"port {port} failed: server closed the connection unexpectedly). It committed whole or not at "
        f"all; to find out which, run `reconciler history --limit 1` on {where} once it answers: "
        f"`Revision 1, applied by {RESELLER} at …: {actions} actions` means this apply is done and its "
        "e-mail queued; a store still at revision 0 means nothing was applied and it is safe to run the "
        "apply again"
    )


def test_a_commit_cut_before_the_server_saw_it_is_reported_not_applied(
    pg: Backend, direct: str, proxy: TcpProxy
) -> None:
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    before = rows(pg, direct)
    proxy.cut(COMMIT, deliver=False, armed_by=APPLY_CONNECTION)
    with pytest.raises(StoreError) as raised:
        run_apply(open_store(url), plan, RESELLER)
    assert proxy.cut_done.is_set()
    assert str(raised.value) == not_applied(url)
    assert rows(pg, direct) == before
    # As it says: the same plan runs again, and this time it commits.
    assert run_apply(open_store(url), plan, RESELLER).revision == 1
    assert open_store(direct).snapshot().revision == 1


def test_a_commit_whose_answer_was_lost_is_reported_applied(direct: str, proxy: TcpProxy) -> None:
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    proxy.cut(COMMIT, deliver=True, armed_by=APPLY_CONNECTION)
    result = run_apply(open_store(url), plan, RESELLER)
    assert proxy.cut_done.wait(5)
    assert (result.revision, result.notes) == (1, (applied(url, 1),))
    store = open_store(direct)
    assert store.snapshot().revision == 1
    [latest] = store.history(1)
    assert (latest.revision, latest.actor, len(latest.changes)) == (1, RESELLER, len(plan.actions))
    # The e-mail committed with the apply and goes out as usual.
    assert [entry.message for entry in store.outbox(queued_only=True)] == list(result.messages)


def test_a_session_the_server_keeps_open_is_ended_and_its_apply_reported_not_applied(
    pg: Backend, direct: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after a network partition: the server does not learn that the client has gone, and its
    session would hold the transaction (and the lock) until TCP keepalive noticed."""
    monkeypatch.setattr(postgres_store, "SETTLE_GRACE", 0.1)
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    before = rows(pg, direct)
    proxy.cut(COMMIT, deliver=False, armed_by=APPLY_CONNECTION, keep_server=True)
    with pytest.raises(StoreError) as raised:
        run_apply(open_store(url), plan, RESELLER)
    assert str(raised.value) == not_applied(url)
    assert rows(pg, direct) == before
    # The lost session was ended, so its lock is free at once.
    assert run_apply(open_store(direct, lock_timeout=0), plan, RESELLER).revision == 1


def test_a_session_that_will_not_end_leaves_the_outcome_unknown(
    pg: Backend, direct: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the lost session cannot be ended (here: it is given longer than the apply waits)."""
    monkeypatch.setattr(postgres_store, "SETTLE_GRACE", 60.0)
    monkeypatch.setattr(postgres_store, "SETTLE_TIMEOUT", 0.2)
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    proxy.cut(COMMIT, deliver=False, armed_by=APPLY_CONNECTION, keep_server=True)
    with pytest.raises(OutcomeUnknown) as raised:
        run_apply(open_store(url), plan, RESELLER)
    # Still there, holding the transaction, until the proxy closes its end at the test's end.
    [(pid,)] = pg.query(
        direct,
        "SELECT pid FROM pg_stat_activity "
        "WHERE state = 'idle in transaction' AND datname = current_database()",
    )
    assert str(raised.value).startswith(
        f"the connection to {redact_url(url)} was lost while the apply committed ({LOST}), and after "
        f"0.2 s the store still cannot tell whether it did (the server still shows its session open, "
        f"pid {pid}). It committed whole or not at all; to find out which, run `reconciler history "
    )


@pytest.mark.parametrize("deliver", [False, True], ids=["not committed", "committed"])
def test_a_store_that_cannot_be_reached_again_leaves_the_outcome_unknown_and_says_how_to_tell(
    direct: str, proxy: TcpProxy, deliver: bool
) -> None:
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    proxy.cut(COMMIT, deliver=deliver, armed_by=APPLY_CONNECTION, then_refuse=True)
    with pytest.raises(OutcomeUnknown) as raised:
        run_apply(open_store(url), plan, RESELLER)
    assert str(raised.value) == unknown(url, len(plan.actions))
    # What the message says to look at tells the two apart.
    history = open_store(direct).history(1)
    if deliver:
        assert [(a.revision, a.actor, len(a.changes)) for a in history] == [(1, RESELLER, len(plan.actions))]
    else:
        assert (history, open_store(direct).snapshot().revision) == ((), 0)


def test_a_connection_lost_before_commit_is_a_plain_failure_and_asks_nothing_again(
    pg: Backend, direct: str, proxy: TcpProxy
) -> None:
    url = through(proxy, direct)
    plan = plan_yaml(direct, ACCOUNT)
    before = rows(pg, direct)
    proxy.cut(b"COPY audit_log", deliver=False, armed_by=APPLY_CONNECTION)
    snapshot = open_store(direct).snapshot()  # so that the apply's is the one connection through the proxy
    connections = proxy.connections
    with pytest.raises(StoreError) as raised:
        run_apply(open_store(url), plan, RESELLER, snapshot=snapshot)
    assert str(raised.value) == f"{redact_url(url)}: {LOST}"
    assert proxy.connections == connections + 1  # no second one to ask how it went
    assert rows(pg, direct) == before


def cli_apply(url: str, path: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["apply", path, "--auto-approve", "--store", url, "--actor", RESELLER])
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_says_which_it_was(
    pg: Backend, direct: str, proxy: TcpProxy, write_yaml: WriteYaml
) -> None:
    url = through(proxy, direct)
    path = str(write_yaml(ACCOUNT))
    before = rows(pg, direct)

    proxy.cut(COMMIT, deliver=False, armed_by=APPLY_CONNECTION)
    code, out, err = cli_apply(url, path)
    assert (code, err) == (1, f"Error: {not_applied(url)}\n")
    assert "Apply complete" not in out
    assert rows(pg, direct) == before

    proxy.cut(COMMIT, deliver=True, armed_by=APPLY_CONNECTION)
    code, out, err = cli_apply(url, path)
    assert (code, err) == (0, f"Note: {applied(url, 1)}\n")
    assert out.endswith(
        "Apply complete: 9 added, 1 changed, 0 removed. The store is at revision 1.\n"
        "Queued 3 e-mails to 3 people. Set RECONCILER_SMTP_URL and run `reconciler notify` to send them, "
        "or read them with `reconciler outbox --full`.\n"
    )
    assert open_store(direct).snapshot().revision == 1


def test_the_command_line_says_when_it_cannot_tell(
    direct: str, proxy: TcpProxy, write_yaml: WriteYaml
) -> None:
    url = through(proxy, direct)
    path = str(write_yaml(ACCOUNT))
    proxy.cut(COMMIT, deliver=True, armed_by=APPLY_CONNECTION, then_refuse=True)
    code, _, err = cli_apply(url, path)
    assert (code, err) == (1, f"Error: {unknown(url, 10)}\n")
