"""Text a store already holds that validation would refuse: no report or e-mail shows it as it is.

The characters are written straight into a SQLite store's tables, as a store
edited by hand, restored from an old backup or written by another tool would
hold them. Every text and markdown report of it, and every e-mail an apply
queues, replaces each with U+FFFD.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RESELLER, WriteYaml

from reconciler.cli import cli
from reconciler.core.characters import REFUSED
from reconciler.notify.mime import to_email
from reconciler.store import open_store

ACCOUNT = """\
version: 1
{unmanaged}contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: bob@acme.example
        shipping: {{name: Acme HQ, address: "1 Main St", country: US}}
    serials:
      - {{number: "399-12345678", product: AutoCAD, seats: 5, group: Design Studio, coordinator: bob@acme.example}}
{revit}users:
  - {{email: alice@acme.example, first_name: Alice, last_name: Moreau}}
  - {{email: bob@acme.example, first_name: Bob, last_name: Okafor}}
{mallory}"""
REVIT = '      - {number: "399-12345679", product: Revit, seats: 5, group: Site Works}\n'
MALLORY = (
    "  - email: mallory@acme.example\n    first_name: Mallory\n    last_name: Smith\n"
    '    access: [{serial: "399-12345678"}, {serial: "399-12345679"}]\n'
)
#: All of it: what the store held before someone edited its tables.
BEFORE = ACCOUNT.format(unmanaged="", revit=REVIT, mallory=MALLORY)
#: Revit gone, Mallory no longer managed: her access is revoked, and she hears of it by name.
AFTER = ACCOUNT.format(unmanaged="unmanaged_users: revoke\n", revit="", mallory="")

#: Per column, text holding refused characters of each kind: bidi, marks, invisible, tags, controls.
EDITS = {
    ("serials", "product", "number", "399-12345679"): "Revit\u202egpj.exe\u2066x\u2069",
    ("serials", "group_name", "number", "399-12345679"): "Site\u200b Works\u2060",
    ("serials", "group_name", "number", "399-12345678"): "Design\u00ad Studio\ufeff",
    ("users", "first_name", "email", "mallory@acme.example"): "Mal\u200elory\u200f\u061c\x1b[2J",
    ("users", "last_name", "email", "mallory@acme.example"): "Smith\u180e\U000e0041\U000e007f",
    ("coordinators", "shipping_name", "email", "bob@acme.example"): "Acme\u2064 HQ\u034f",
    ("coordinators", "shipping_address", "email", "bob@acme.example"): "1 Main\u3164 St\u202a\x85",
}


def refused_in(text: str) -> list[str]:
    """Each refused character in `text` but the line feeds that end its lines, as U+XXXX."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if c != "\n" and any(first <= ord(c) <= last for first, last, _ in REFUSED)
    ]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 2, 3), result.output
    return result.stdout


@pytest.fixture
def store(tmp_path: Path, write_yaml: WriteYaml) -> str:
    """A store that held BEFORE, and then had its tables edited to hold refused characters."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run("init", "--reseller", RESELLER, "--store", url)
    run(
        "apply", str(write_yaml(BEFORE, "before.yaml")), "--auto-approve", "--actor", RESELLER, "--store", url
    )
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("DELETE FROM outbox")
        for (table, column, key, value), text in EDITS.items():
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (text, value))
    return url


def test_the_edit_reached_the_store(store: str) -> None:
    state = open_store(store).snapshot().state
    assert refused_in(state.users[2].first_name) == ["U+200E", "U+200F", "U+061C", "U+001B"]


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_plans_drifts_and_history_show_no_refused_character(
    store: str, write_yaml: WriteYaml, output_format: str
) -> None:
    before, after = str(write_yaml(BEFORE, "before.yaml")), str(write_yaml(AFTER, "after.yaml"))
    reports = {
        "plan": run("plan", after, "--format", output_format, "--actor", RESELLER, "--store", store),
        "drift": run("drift", before, "--format", output_format, "--store", store),
    }
    run("apply", after, "--auto-approve", "--allow-mass-removal", "--actor", RESELLER, "--store", store)
    reports["history"] = run("history", "--format", output_format, "--store", store)
    for name, report in reports.items():
        assert refused_in(report) == [], f"{name}: {report}"
        assert "\ufffd" in report, f"{name} does not show the edited text at all: {report}"


def test_e_mails_show_no_refused_character(store: str, write_yaml: WriteYaml) -> None:
    after = str(write_yaml(AFTER, "after.yaml"))
    run("apply", after, "--auto-approve", "--allow-mass-removal", "--actor", RESELLER, "--store", store)
    messages = {entry.message.to: entry.message for entry in open_store(store).outbox()}
    mallory, bob = messages["mallory@acme.example"], messages["bob@acme.example"]
    assert mallory.subject.startswith("Access removed: AutoCAD, Revit\ufffdgpj.exe")
    assert mallory.text.startswith("Hello Mal\ufffdlory\ufffd\ufffd\ufffd[2J,")
    assert "from Design\ufffd Studio\ufffd to Design Studio" in bob.text
    for message in messages.values():
        for part in (message.subject, message.text, message.html):
            assert refused_in(part) == [], part
        email = to_email(message, "2025-03-01T09:30:00+00:00")
        assert str(email["Subject"]) == message.subject
    shown = run("outbox", "--full", "--store", store)
    assert refused_in(shown) == []
    assert "Subject: Access removed: AutoCAD, Revit\ufffdgpj.exe" in shown
