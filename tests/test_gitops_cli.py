"""`drift`, `history`, `show` and the GitHub job summary, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, ROOT, Backend, WriteYaml, apply_yaml

from reconciler.cli import cli
from reconciler.core.model import build_state
from reconciler.core.records import Difference
from reconciler.engine.drift import find_drift
from reconciler.report.markdown import COMMENT_LIMIT, DRIFT_MARKER, PLAN_MARKER
from reconciler.store import open_store

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from generate import write_account


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def set_added_at(backend: Backend, store_url: str, when: dict[str, str]) -> None:
    """Back-date when users were added, as if they had been invited long ago."""
    for email, at in when.items():
        backend.query(store_url, f"UPDATE users SET added_at = '{at}' WHERE email = '{email}'")


def test_drift_exit_codes(store_url: str, write_yaml: WriteYaml) -> None:
    path = str(write_yaml(ACCOUNT))
    apply_yaml(store_url, ACCOUNT)
    assert run("drift", path, "--store", store_url) == (
        0,
        f"Drift of store {open_store(store_url).snapshot().lineage} at revision 1 from git:\n\n"
        "No drift. The store matches git.\n\n"
        "Drift: 0 only in the store, 0 only in git, 0 different.\n",
        "",
    )
    changed = write_yaml(ACCOUNT.replace("seats: 2", "seats: 3"), "changed.yaml")
    code, out, _ = run("drift", str(changed), "--store", store_url)
    assert code == 2
    assert "  ~ serial 399-12345678: seats 3 → 2\n" in out
    code, _, err = run("drift", str(write_yaml("version: 2\n", "bad.yaml")), "--store", store_url)
    assert code == 1 and "unsupported version 2" in err
    code, _, err = run("drift", path, "--store", f"sqlite:///{Path(path).parent}/none.db")
    assert code == 1 and "Error: no store at" in err
    code, _, err = run("drift", path, "--stale-invites", "-1", "--store", store_url)
    assert code == 1 and "-1 is not in the range 0<=x<=36500" in err


def test_stale_invites_are_drift_only_when_asked_for(
    backend: Backend, store_url: str, write_yaml: WriteYaml
) -> None:
    path = str(write_yaml(ACCOUNT))
    apply_yaml(store_url, ACCOUNT)
    set_added_at(backend, store_url, {"bob@acme.example": "2020-01-01T00:00:00+00:00"})
    assert run("users", "activate", "alice@acme.example", "--store", store_url)[0] == 0
    assert run("drift", path, "--store", store_url)[0] == 0
    code, out, _ = run("drift", path, "--stale-invites", "30", "--format", "json", "--store", store_url)
    assert code == 2
    assert json.loads(out)["stale_invites"] == [
        {"user": "bob@acme.example", "invited_at": "2020-01-01T00:00:00+00:00"}
    ]
    code, out, _ = run("drift", path, "--stale-invites", "30", "--format", "markdown", "--store", store_url)
    assert code == 2 and out.startswith(
        DRIFT_MARKER + "\n### reconciler drift: the store matches git, but some"
    )


def test_stale_invites_depend_on_the_now_given() -> None:
    from reconciler.core.records import Snapshot

    snapshot = Snapshot(
        "l",
        1,
        frozenset(),
        build_state([]),
        user_status={"a@x.example": "invited", "b@x.example": "invited", "c@x.example": "active"},
        user_added={
            "a@x.example": "2024-01-01T12:00:00+00:00",
            "b@x.example": "2024-01-20T12:00:00+00:00",
            "c@x.example": "2020-01-01T00:00:00+00:00",
        },
    )
    at = datetime(2024, 1, 31, 12, tzinfo=UTC)
    stale = find_drift(build_state([]), snapshot, at, stale_after_days=30).stale_invites
    assert [invite.user for invite in stale] == ["a@x.example"]  # 30 days exactly is stale
    assert (
        find_drift(build_state([]), snapshot, at, stale_after_days=11).stale_invites[1].user == "b@x.example"
    )
    assert find_drift(build_state([]), snapshot, at).stale_invites == ()
    naive = datetime(2024, 1, 31, 12)  # taken as UTC, as the store writes
    assert find_drift(build_state([]), snapshot, naive, stale_after_days=30).stale_invites == stale


def test_drift_merges_changes_to_one_record_and_carries_a_new_serials_coordinator(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(
        store_url, ACCOUNT.replace("seats: 2\n        group: Design Studio", "seats: 2\n        group: Old")
    )
    from reconciler.loading import load_desired_state

    desired = load_desired_state([str(write_yaml(ACCOUNT.replace("seats: 2", "seats: 5")))])
    drift = find_drift(desired, open_store(store_url).snapshot(), datetime.now(UTC))
    assert drift.differ == (
        Difference(
            "serial",
            {"contract": "110001234567", "serial": "399-12345678"},
            {"seats": 2, "group": "Old"},
            {"seats": 5, "group": "Design Studio"},
        ),
    )
    empty = find_drift(
        desired,
        open_store(store_url).snapshot().__class__("l", 0, frozenset(), build_state([])),
        datetime.now(UTC),
    )
    serial = next(
        d for d in empty.only_in_git if d.target.get("serial") == "399-12345678" and d.record == "serial"
    )
    assert serial.git == {
        "product": "AutoCAD",
        "seats": 5,
        "group": "Design Studio",
        "coordinator": "bob@acme.example",
    }
    assert not empty.differ  # the serial's coordinator is part of it, not a change


def test_history_shows_each_apply_newest_first(store_url: str) -> None:
    assert run("history", "--store", store_url) == (0, "Nothing has been applied to this store yet.\n", "")
    apply_yaml(store_url, ACCOUNT)
    apply_yaml(store_url, ACCOUNT.replace("seats: 2", "seats: 3"))
    _, out, _ = run("history", "--format", "json", "--store", store_url)
    applies = json.loads(out)["applies"]
    assert [(a["revision"], a["actor"], len(a["actions"])) for a in applies] == [
        (2, RESELLER, 1),
        (1, RESELLER, 10),
    ]
    assert applies[0]["actions"] == [
        {
            "kind": "serial.seats_change",
            "target": {"contract": "110001234567", "serial": "399-12345678"},
            "before": {"seats": 2},
            "after": {"seats": 3},
            "adopted": False,
        }
    ]
    assert [a["adopted"] for a in applies] == [False, False]
    datetime.fromisoformat(applies[0]["at"])
    assert run("history", "--limit", "1", "--store", store_url)[0] == 0
    _, out, _ = run("history", "--limit", "1", "--store", store_url)
    assert out.startswith(f"Revision 2, applied by {RESELLER} at ")
    assert out.endswith(": 1 action\n  ~ serial.seats_change 399-12345678: seats 2 → 3\n")
    _, out, _ = run("history", "--limit", "1", "--format", "markdown", "--store", store_url)
    assert "```diff\n! serial.seats_change 399-12345678: seats 2 → 3\n```" in out
    assert run("history", "--limit", "0", "--store", store_url)[0] == 1


def test_show_renders_a_saved_plan_as_plan_printed_it(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    path, out = str(write_yaml(ACCOUNT)), str(tmp_path / "plan.json")
    for output_format in ("json", "markdown"):
        _, printed, _ = run(
            "plan", path, "--out", out, "--format", output_format, "--actor", RESELLER, "--store", store_url
        )
        assert run("show", out, "--format", output_format) == (0, printed, "")
    _, printed, _ = run("plan", path, "--actor", RESELLER, "--store", store_url)
    assert run("show", out)[1] == printed
    assert run("show", str(tmp_path / "missing.json"))[0] == 1


def test_markdown_plan_prints_only_the_report(store_url: str, write_yaml: WriteYaml, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    code, printed, _ = run(
        "plan",
        str(write_yaml(ACCOUNT)),
        "--format",
        "markdown",
        "--out",
        str(out),
        "--actor",
        RESELLER,
        "--store",
        store_url,
    )
    assert code == 0
    assert printed.startswith(PLAN_MARKER + "\n") and "Saved the plan" not in printed
    assert json.loads(out.read_text())["summary"]["add"] == 9


def test_in_github_actions_the_full_report_goes_to_the_job_summary(store_url: str, tmp_path: Path) -> None:
    """A real process with GITHUB_STEP_SUMMARY set, on an account whose report is too long for a comment."""
    account = tmp_path / "big.yaml"
    with account.open("w") as out:
        write_account(out, 600, contracts=5, serials_per_contract=10)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RECONCILER_STORE": store_url,
        "RECONCILER_ACTOR": RESELLER,
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    reconciler = [sys.executable, "-m", "reconciler"]
    plan = subprocess.run(
        [*reconciler, "plan", str(account), "--format", "markdown", "--out", str(tmp_path / "p.json")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr
    assert len(plan.stdout.encode()) <= COMMENT_LIMIT
    assert "> Cut to fit:" in plan.stdout
    written = summary.read_text()
    assert written.startswith("earlier step\n" + PLAN_MARKER)
    assert "Cut to fit" not in written and written.count("\n+ ") > 2_000
    applied = subprocess.run(
        [*reconciler, "apply", str(tmp_path / "p.json"), "--auto-approve"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert "### Applied, now at revision 1: " in summary.read_text()
    drift = subprocess.run(
        [*reconciler, "drift", str(account)], env=env, capture_output=True, text=True, check=False
    )
    assert drift.returncode == 0, drift.stderr
    assert summary.read_text().endswith(
        "### reconciler drift: none, the store matches git\n\n"
        f"Store {open_store(store_url).snapshot().lineage} at revision 1, compared with git.\n\n"
        "| only in the store | only in git | different |\n|---:|---:|---:|\n| 0 | 0 | 0 |\n\n"
    )
    summary.chmod(0o400)
    if os.access(summary, os.W_OK):  # root writes anyway
        return
    again = subprocess.run(
        [*reconciler, "drift", str(account)], env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0
    assert again.stderr.startswith(f"Warning: could not add the report to the job summary {summary}")
