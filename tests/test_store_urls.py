"""Store URLs: a password in one never reaches output, an error or a saved plan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, Backend

from reconciler.cli import cli
from reconciler.store import open_store, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ci:hunter2@db.example:5432/acme", "postgresql://ci:***@db.example:5432/acme"),
        (
            "postgres://ci:p%40ss@db.example/acme?sslmode=require",
            "postgres://ci:***@db.example/acme?sslmode=require",
        ),
        (
            "postgresql://db.example/acme?user=ci&password=hunter2",
            "postgresql://db.example/acme?user=ci&password=***",
        ),
        ("postgresql://ci@db.example/acme", "postgresql://ci@db.example/acme"),
        ("postgresql://ci:p@ss:w@db.example:5432/acme", "postgresql://ci:***@db.example:5432/acme"),
        # Not URL-encoded, as a ${VAR} of reconciler.yaml may hold it: base64 has / and +.
        ("postgresql://ci:ab/cd+ef=@db.example:5432/acme", "postgresql://ci:***@db.example:5432/acme"),
        ("postgresql://ci:a?b#c/d@db.example/acme", "postgresql://ci:***@db.example/acme"),
        ("postgresql://db.example:5432/acme", "postgresql://db.example:5432/acme"),
        ("postgresql:///acme?host=/run/postgresql", "postgresql:///acme?host=/run/postgresql"),
        ("sqlite:///acme.db", "sqlite:///acme.db"),
        (
            "cannot reach postgresql://a:b@h/d and postgresql://c:d@h/e",
            "cannot reach postgresql://a:***@h/d and postgresql://c:***@h/e",
        ),
    ],
)
def test_redact_url_hides_every_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_an_unknown_url_is_refused_without_its_password() -> None:
    result = CliRunner().invoke(cli, ["export", "--store", "mysql://ci:hunter2@db.example/acme"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: unknown store URL 'mysql://ci:***@db.example/acme'; "
        "use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE\n",
    )


def test_a_memory_store_is_refused_as_gone_when_the_command_ends() -> None:
    """The memory store is a test double (tests/memory_store.py): a command's store would vanish with it."""
    result = CliRunner().invoke(cli, ["init", "--reseller", "r@x.example", "--store", "memory://x"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        "Error: memory://x: a memory store would be gone when this command ends, and no other command "
        "could see it; use sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE\n",
    )
    assert isinstance(result.exception, SystemExit)  # refused as an error, not raised as a traceback


def test_a_postgresql_store_without_its_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # As in an install without the postgresql extra: `import psycopg` fails, and the store
    # module is imported afresh instead of found already loaded.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "reconciler.store.postgres", raising=False)
    result = CliRunner().invoke(cli, ["export", "--store", "postgresql://x@127.0.0.1/db"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: a postgresql:// store needs the PostgreSQL driver: pip install 'licence-reconciler[postgresql]'\n",
    )


def test_a_password_in_the_store_url_is_never_shown(postgres: Backend, tmp_path: Path) -> None:
    secret = "s3cret-Pa55"
    url = postgres.new_url(password=secret)
    assert secret in url
    account = tmp_path / "account.yaml"
    account.write_text(ACCOUNT)
    plan_file = tmp_path / "plan.json"
    runner = CliRunner()
    env = {"RECONCILER_ACTOR": RESELLER}
    results = [
        runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]),
        runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]),
        runner.invoke(cli, ["plan", str(account), "--out", str(plan_file), "--store", url], env=env),
        runner.invoke(cli, ["plan", str(account), "--format", "json", "--store", url], env=env),
        runner.invoke(cli, ["apply", str(plan_file), "--auto-approve", "--store", url], env=env),
        runner.invoke(cli, ["apply", str(plan_file), "--auto-approve", "--store", url], env=env),
        runner.invoke(cli, ["export", "--store", url]),
        runner.invoke(cli, ["users", "activate", "nobody@acme.example", "--store", url]),
        runner.invoke(cli, ["export", "--store", postgres.new_url(password=secret)]),
        runner.invoke(cli, ["export", "--store", url.replace("127.0.0.1:5432", "127.0.0.1:1")]),
    ]
    assert [r.exit_code for r in results] == [0, 1, 0, 0, 0, 1, 0, 1, 1, 1]
    assert results[0].output.startswith(f"Created store {url.replace(secret, '***')} (lineage ")
    assert results[1].stderr.startswith(f"Error: a store already exists at {url.replace(secret, '***')};")
    assert results[8].stderr.startswith("Error: no store at postgresql://")
    assert results[9].stderr.startswith("Error: cannot connect to postgresql://")
    for result in results:
        assert secret not in result.output + result.stderr
    assert secret not in plan_file.read_text()
    assert open_store(url).snapshot().revision == 1


def test_a_store_can_have_a_database_of_its_own(postgres: Backend) -> None:
    url = postgres.new_url(own_database=True)
    assert "options=" not in url
    result = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", url])
    assert result.exit_code == 0, result.output
    assert postgres.query(url, "SELECT current_schema(), count(*) FROM resellers") == [("public", 1)]
