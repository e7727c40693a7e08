"""The store's own chores and the audit log's questions: users activate in bulk, resellers add and
remove, history by user, day and kind with where each apply came from. On SQLite and PostgreSQL,
through the command line as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, Backend, WriteYaml, apply_yaml

from reconciler.cli import cli
from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.commands.source import source_of
from reconciler.core.records import Source
from reconciler.store import open_store

BOB, CAROL, ALICE = "bob@acme.example", "carol@acme.example", "alice@acme.example"
OTHER = "support@cadpartners.example"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- users activate ----------------------------------------------------------------------------------


def test_activate_takes_several_addresses_and_names_the_unknown(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    code, out, err = run(
        "users", "activate", "Carol@acme.example", BOB, "zed@acme.example", "--store", store_url
    )
    assert (code, out) == (1, "Activated 2 users.\n")
    assert err == "Error: 1 address is no user of this store: zed@acme.example.\n"
    code, out, err = run("users", "activate", CAROL, "--store", store_url)
    assert (code, out, err) == (0, "Activated 0 users; 1 was active already.\n", "")
    status = open_store(store_url).snapshot().user_status
    assert (status[CAROL], status[BOB], status[ALICE]) == ("active", "active", "invited")


def test_activate_reads_a_list_or_the_portals_csv(store_url: str, tmp_path: Path) -> None:
    apply_yaml(store_url, ACCOUNT)
    listed = tmp_path / "signed-in.txt"
    listed.write_text(f"# signed in yesterday\n{CAROL}\n\n  {BOB}  \n", encoding="utf-8")
    code, out, _ = run(
        "users", "activate", "--from", str(listed), "--store", store_url, "--actor", "sync@acme.example"
    )
    assert (code, out) == (0, "Activated 2 users.\n")
    portal = tmp_path / "portal.csv"
    portal.write_text(
        "\ufeffFirst name;Last name;Email address\nAlice;Moreau;ALICE@acme.example\n", encoding="utf-8"
    )
    code, out, _ = run("users", "activate", "--from", str(portal), "--store", store_url)
    assert (code, out) == (0, f"{ALICE} is active.\n")
    [alice, bob_and_carol, _] = open_store(store_url).history(10)
    assert (alice.actor, [c.target for c in alice.changes]) == ("sign-in", [{"user": ALICE}])
    assert (bob_and_carol.actor, [c.target["user"] for c in bob_and_carol.changes]) == (
        "sync@acme.example",
        [CAROL, BOB],
    )
    assert alice.revision == bob_and_carol.revision == 1  # a sign-in does not make saved plans stale


def test_a_file_with_a_line_that_is_no_address_activates_nobody(store_url: str, tmp_path: Path) -> None:
    apply_yaml(store_url, ACCOUNT)
    listed = tmp_path / "list.txt"
    listed.write_text(f"{CAROL}\nnot an address\n{BOB}\nbob at acme\n", encoding="utf-8")
    code, _, err = run("users", "activate", "--from", str(listed), "--store", store_url)
    assert code == 1
    assert err == (
        f"Error: {listed} has lines without an e-mail address; nothing was activated:\n"
        f"{listed}:2: 'not an address' is not an e-mail address\n"
        f"{listed}:4: 'bob at acme' is not an e-mail address\n"
    )
    assert set(open_store(store_url).snapshot().user_status.values()) == {"invited"}
    assert run("users", "activate", "--store", store_url)[0] == 1


# --- resellers add | remove ----------------------------------------------------------------------------


def test_a_reseller_adds_and_removes_resellers_and_the_revision_moves(store_url: str, tmp_path: Path) -> None:
    account = tmp_path / "account.yaml"
    account.write_text(ACCOUNT, encoding="utf-8")
    assert (
        run(
            "plan",
            str(account),
            "--out",
            str(tmp_path / "plan.json"),
            "--store",
            store_url,
            "--actor",
            RESELLER,
        )[0]
        == 0
    )
    code, out, _ = run(
        "resellers", "add", "Support@CADpartners.example", "--actor", RESELLER, "--store", store_url
    )
    assert (code, out) == (
        0,
        f"Resellers: added {OTHER}. The store is at revision 1.\nThe resellers are now {RESELLER}, {OTHER}.\n",
    )
    # The saved plan was judged with the resellers as they were: it is stale now.
    stale = CliRunner().invoke(
        cli,
        ["apply", str(tmp_path / "plan.json"), "--auto-approve", "--store", store_url, "--actor", RESELLER],
    )
    assert stale.exit_code == 1 and "revision" in stale.stderr
    code, out, _ = run("resellers", "remove", RESELLER, "--actor", OTHER, "--store", store_url)
    assert (code, out) == (
        0,
        f"Resellers: removed {RESELLER}. The store is at revision 2.\nThe resellers are now {OTHER}.\n",
    )
    assert open_store(store_url).snapshot().resellers == {OTHER}
    [removed, added] = open_store(store_url).history(5, kinds=("reseller",))
    assert [
        (a.revision, a.actor, [(str(c.kind), c.target) for c in a.changes]) for a in (removed, added)
    ] == [
        (2, OTHER, [("reseller.remove", {"reseller": RESELLER})]),
        (1, RESELLER, [("reseller.add", {"reseller": OTHER})]),
    ]
    assert run("resellers", "list", "--store", store_url)[1] == f"{OTHER}\n"


def test_only_a_reseller_changes_resellers_and_never_the_last(backend: Backend, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    before = backend.contents(store_url)
    code, _, err = run("resellers", "add", OTHER, "--actor", ALICE, "--store", store_url)
    assert code == 3
    assert err == (
        f"Error: {ALICE} is not a reseller of this store ({RESELLER}); only a reseller may add or remove "
        "one. Nothing was changed\n"
    )
    code, _, err = run("resellers", "remove", RESELLER, "--actor", RESELLER, "--store", store_url)
    assert code == 1
    assert err == (
        f"Error: not removed: {RESELLER} is the last reseller of this store, and a store needs one to name "
        "the others. Add another with `reconciler resellers add EMAIL` first; nothing was changed\n"
    )
    assert run("resellers", "add", "nobody", "--actor", RESELLER, "--store", store_url)[0] == 1
    code, out, _ = run("resellers", "add", RESELLER, "--actor", RESELLER, "--store", store_url)
    assert (code, out) == (
        0,
        f"Nothing to change: the resellers were already so.\nThe resellers are now {RESELLER}.\n",
    )
    assert backend.contents(store_url) == before


# --- history: by user, day and kind, and where each apply came from -------------------------------------


def test_history_keeps_the_changes_that_match_and_the_applies_that_have_any(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    apply_yaml(store_url, ACCOUNT.replace("seats: 2", "seats: 3"))
    apply_yaml(
        store_url, ACCOUNT.replace("seats: 2", "seats: 3").replace("download: true", "download: false")
    )
    code, out, _ = run("history", "--user", "BOB@acme.example", "--store", store_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == [f"Only the entries concerning {BOB}.", "", lines[2]]
    assert lines[2].startswith(f"Revision 3, applied by {RESELLER} at ") and lines[2].endswith(": 1 action")
    assert lines[3] == f"  ~ access.update {BOB} on 399-12345678: download yes → no"
    assert lines[5].startswith("Revision 1, applied by") and lines[5].endswith(": 4 actions")
    assert lines[6:] == [
        f"  + user.add {BOB}: Bob Okafor",
        f"  + coordinator.add {BOB} on 110001234567: manage_users yes, shipping Acme HQ, 1 Main St, US",
        f"  ~ serial.assign_coordinator 399-12345678: coordinator (none) → {BOB}",
        f"  + access.grant {BOB} on 399-12345678: download yes",
    ]
    code, out, _ = run("history", "--kind", "serial.seats_change", "--format", "json", "--store", store_url)
    [applied] = json.loads(out)["applies"]
    assert (applied["revision"], [a["kind"] for a in applied["actions"]]) == (2, ["serial.seats_change"])
    code, out, _ = run(
        "history", "--kind", "access", "--kind", "serial", "--limit", "2", "--store", store_url
    )
    assert [line.split(",")[0] for line in out.splitlines() if line.startswith("Revision")] == [
        "Revision 3",
        "Revision 2",
    ]
    assert run("history", "--since", "2999-01-01", "--store", store_url)[1] == "No entry since 2999-01-01.\n"
    assert run("history", "--since", "2000-01-01", "--store", store_url)[1].count("Revision") == 3
    code, _, err = run("history", "--kind", "acess", "--store", store_url)
    assert code == 1 and "'acess' is no kind of change; use one of access, contract" in err
    assert run("history", "--since", "yesterday", "--store", store_url)[0] == 1


def test_an_apply_keeps_the_commit_and_pull_request_it_came_from(store_url: str, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"head_commit": {"message": "Merge pull request #7 from acme/dana\n\nAdd Dana"}})
    )
    environ = {
        "GITHUB_SHA": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/licences",
        "GITHUB_RUN_ID": "42",
        "GITHUB_EVENT_PATH": str(event),
    }
    source = source_of(environ, "  nightly  ")
    assert source == Source(
        commit="1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
        commit_url="https://github.com/acme/licences/commit/1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
        pull_request="https://github.com/acme/licences/pull/7",
        run="https://github.com/acme/licences/actions/runs/42",
        text="nightly",
    )
    from conftest import plan_yaml

    run_apply(open_store(store_url), plan_yaml(store_url, ACCOUNT), RESELLER, ApplyOptions(source=source))
    open_store(store_url).activate_users([CAROL], RESELLER)
    activated, applied = open_store(store_url).history(5)
    assert (activated.source, applied.source) == (None, source)
    text = run("history", "--store", store_url)[1]
    assert (
        "  from commit 1a2b3c4d5e6f, pull request https://github.com/acme/licences/pull/7, "
        "run https://github.com/acme/licences/actions/runs/42, nightly\n"
    ) in text
    assert f"  ~ user.activate {CAROL}: status invited → active (signed in)\n" in text
    markdown = run("history", "--format", "markdown", "--store", store_url)[1]
    assert (
        "From commit [1a2b3c4d5e6f](https://github.com/acme/licences/commit/1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b), "
        "pull request https://github.com/acme/licences/pull/7, [the run](https://github.com/acme/licences/actions/runs/42), "
        "nightly."
    ) in markdown
    applies = json.loads(run("history", "--format", "json", "--store", store_url)[1])["applies"]
    assert [a["source"] for a in applies] == [None, source.as_dict()]
    assert applies[0]["actions"] == [
        {"kind": "user.activate", "target": {"user": CAROL}, "before": None, "after": None, "adopted": False}
    ]


def test_a_pull_requests_own_run_names_its_head_and_the_pull_request(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"pull_request": {"html_url": "https://github.com/acme/licences/pull/9", "head": {"sha": "feed"}}}
        )
    )
    environ = {"GITHUB_SHA": "merge", "GITHUB_REF": "refs/pull/9/merge", "GITHUB_EVENT_PATH": str(event)}
    assert source_of(environ) == Source(commit="feed", pull_request="https://github.com/acme/licences/pull/9")
    squashed = tmp_path / "push.json"
    squashed.write_text(json.dumps({"head_commit": {"message": "Add Dana (#12)"}}))
    pushed = {
        "GITHUB_SERVER_URL": "https://ghe.example",
        "GITHUB_REPOSITORY": "a/b",
        "GITHUB_EVENT_PATH": str(squashed),
    }
    assert source_of(pushed) == Source(pull_request="https://ghe.example/a/b/pull/12")
    assert source_of({}) is None
    assert source_of({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}, "by hand") == Source(
        text="by hand"
    )


def test_apply_records_its_source_from_the_command_line(store_url: str, write_yaml: WriteYaml) -> None:
    path = write_yaml(ACCOUNT)
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", str(path), "--auto-approve", "--source", "ticket 4711"],
        env={"PATH": "/usr/bin:/bin", "RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [applied] = open_store(store_url).history(1)
    assert applied.source == Source(text="ticket 4711")


@pytest.mark.parametrize("limit", [1, 2])
def test_a_chore_counts_as_one_entry_of_the_limit(store_url: str, limit: int) -> None:
    apply_yaml(store_url, ACCOUNT)
    open_store(store_url).activate_users([CAROL], RESELLER)
    found = open_store(store_url).history(limit)
    assert [len(a.changes) for a in found] == [1, 10][:limit]
