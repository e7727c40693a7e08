"""Shared fixtures: a click runner and a writer of desired-state files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from mailserver import MailServer

from reconciler.plan import Plan

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: A small valid account, the base most tests edit one field of.
ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: bob@acme.example
        manage_users: true
        shipping: {name: Acme HQ, address: "1 Main St", country: US}
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 2
        group: Design Studio
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 1
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
    access:
      - serial: "399-12345678"
        download: true
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345679"
"""


@pytest.fixture(autouse=True)
def _no_reconciler_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own RECONCILER_* settings (a real SMTP server!) never reach a test."""
    import os

    for name in [name for name in os.environ if name.startswith("RECONCILER_")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_job_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in GitHub Actions too: keep their reports out of the real job summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


WriteYaml = Callable[..., Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write `text` (dedented) to `name` under a temporary folder; returns the path."""

    def write(text: str | bytes, name: str = "account.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


RESELLER = "orders@cadpartners.example"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A new SQLite store in a temporary folder, with RESELLER as its reseller."""
    from reconciler.store import open_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).initialize([RESELLER])
    return url


def plan_yaml(store_url: str, text: str, actor: str = RESELLER) -> Plan:
    """The plan of desired-state `text` (dedented) against the store, as `actor`."""
    from reconciler.loader import Source, parse
    from reconciler.model import build_state
    from reconciler.planner import make_plan
    from reconciler.store import open_store

    document = parse(Source("desired.yaml", textwrap.dedent(text).encode()))
    return make_plan(build_state([document]), open_store(store_url).snapshot(), actor)


def apply_yaml(store_url: str, text: str, actor: str = RESELLER) -> Plan:
    """Plan `text` as `actor` and apply it; returns the plan it applied."""
    from reconciler.apply import apply_plan
    from reconciler.store import open_store

    plan = plan_yaml(store_url, text, actor)
    apply_plan(open_store(store_url), plan, actor)
    return plan


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """A real SMTP server on loopback; its URL is `smtp_server.url`."""
    server = MailServer()
    server.start()
    yield server
    server.stop()
