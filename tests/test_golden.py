"""Golden files: the text, markdown and JSON reports of plans and drifts, byte for byte.

Each case is a folder under tests/golden/ holding its input YAML and the
expected reports (`plan.txt`, `plan.md`, `plan.json`, or `drift.*`). The
store is made the way a user makes it (init, apply) with a fixed lineage and
fixed invitation dates, so the reports depend on the case alone. When a
report changes on purpose, regenerate and read the diff before committing:

    UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, RESELLER, ROOT

from reconciler.cli import cli

GOLDEN = ROOT / "tests" / "golden"
LINEAGE = "5b0c3f1e-0000-4000-8000-000000000001"
ADDED_AT = "2024-01-15T09:00:00+00:00"
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}
ALICE = "alice.moreau@acme.example"


@dataclass(frozen=True)
class Case:
    name: str
    command: str
    desired: Path
    exit_code: int
    actor: str = RESELLER
    store: Path | None = None
    invited: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


CASES = (
    # The quick start: the example account planned into a new store by the reseller.
    Case("example-plan", "plan", EXAMPLES / "acme", 0),
    # Alice, the CM, edits the applied example: some of it is hers to do, some is blocked.
    Case(
        "example-change-as-cm",
        "plan",
        GOLDEN / "example-change-as-cm" / "account",
        3,
        ALICE,
        EXAMPLES / "acme",
    ),
    # Names, groups and products written to attack a pull-request comment.
    Case("hostile-names", "plan", GOLDEN / "hostile-names" / "account.yaml", 0),
    # The directory changed two people's e-mail: one change of address each, nobody invited.
    Case(
        "change-email",
        "plan",
        GOLDEN / "change-email" / "account",
        0,
        store=GOLDEN / "change-email" / "store",
    ),
    # Five people deleted from the YAML at once: the removal guard trips, and says so.
    # Apply would refuse it as it stands, so plan exits 3 (blocked), as for a blocked action.
    Case("mass-removal", "plan", GOLDEN / "mass-removal" / "account", 3, store=EXAMPLES / "acme"),
    # The day after every date of the account: what expired is taken away, each removal saying so, and
    # listed in a section of its own; Bob may not take away the Revit access a team gave (blocked).
    Case(
        "expired",
        "plan",
        GOLDEN / "expired" / "account.yaml",
        3,
        "bob@acme.example",
        GOLDEN / "expired" / "store.yaml",
        args=("--today", "2027-03-02"),
    ),
    # The store was changed outside git; two users never signed in.
    Case(
        "drift",
        "drift",
        EXAMPLES / "acme",
        2,
        store=GOLDEN / "drift" / "store",
        invited=("erik.nilsen@acme.example", "julia.santos@acme.example"),
        args=("--stale-invites", "30"),
    ),
    # The store matches git.
    Case(
        "drift-none", "drift", EXAMPLES / "acme", 0, store=EXAMPLES / "acme", args=("--stale-invites", "30")
    ),
)


def make_store(folder: Path, case: Case) -> str:
    """A store as the case describes it, made through the command line, with fixed lineage and dates."""
    url = f"sqlite:///{folder / 'store.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]).exit_code == 0
    with sqlite3.connect(folder / "store.db") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'lineage'", (LINEAGE,))
    if case.store is not None:
        applied = runner.invoke(
            cli, ["apply", str(case.store), "--auto-approve", "--actor", RESELLER, "--store", url]
        )
        assert applied.exit_code == 0, applied.output
        with sqlite3.connect(folder / "store.db") as db:
            db.execute("UPDATE users SET added_at = ?", (ADDED_AT,))
            emails = [email for (email,) in db.execute("SELECT email FROM users ORDER BY email")]
        for email in emails:
            if email not in case.invited:
                assert runner.invoke(cli, ["users", "activate", email, "--store", url]).exit_code == 0
    return url


def report(case: Case, url: str, output_format: str) -> str:
    args = [case.command, str(case.desired), *case.args, "--format", output_format, "--store", url]
    if case.command == "plan":
        args += ["--actor", case.actor]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == case.exit_code, result.output
    return result.stdout


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden(case: Case, tmp_path: Path) -> None:
    url = make_store(tmp_path, case)
    for output_format, suffix in FORMATS.items():
        actual = report(case, url, output_format)
        expected = GOLDEN / case.name / f"{case.command}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            expected.parent.mkdir(parents=True, exist_ok=True)
            expected.write_text(actual, encoding="utf-8")
        assert expected.exists(), f"no {expected}; run with UPDATE_GOLDEN=1 to write it"
        assert actual == expected.read_text(encoding="utf-8"), f"{expected} differs; see the module docstring"


def test_the_docs_show_the_example_reports_as_they_are() -> None:
    pull_requests = (ROOT / "docs" / "pull-requests.md").read_text(encoding="utf-8")
    assert "```{include} ../tests/golden/example-plan/plan.md\n```" in pull_requests  # the file itself
    drift = (GOLDEN / "drift" / "drift.txt").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "drift-and-history.md").read_text(encoding="utf-8")
    assert drift.split("\n", 1)[1] in page  # all but the line naming the lineage
