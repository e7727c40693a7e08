"""`apply PATH... --adopt`: an account that already lives in the portal, brought under git without
telling anyone, as a user runs it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, RESELLER, ROOT, Backend, WriteYaml, apply_yaml
from terminal import run_on_terminal

from reconciler.cli import cli
from reconciler.store import open_store

ACME = str(EXAMPLES / "acme")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def adopt(
    store_url: str, *paths: str, actor: str = RESELLER, more: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    return run("apply", *paths, "--adopt", "--auto-approve", "--actor", actor, "--store", store_url, *more)


def test_adopting_the_example_account_invites_nobody_and_plans_to_no_change(store_url: str) -> None:
    code, out, err = adopt(store_url, ACME)
    assert (code, err) == (0, "")
    store = open_store(store_url)
    snapshot = store.snapshot()
    count = len(store.history(1)[0].changes)
    assert out.endswith(
        "\nAdopting: these records are kept as already there; every user active, nobody e-mailed, "
        "nothing removed.\n"
        f"Adopt complete: {count} records recorded as already there, every user active, no e-mail "
        "queued. The store is at revision 1.\n"
    )
    assert "E-mail:" not in out  # the plan shown tells nobody
    assert len(snapshot.state.users) == 13
    assert set(snapshot.user_status.values()) == {"active"}
    assert store.outbox() == []
    assert run("plan", ACME, "--detailed-exitcode", "--actor", RESELLER, "--store", store_url)[0] == 0
    assert run("drift", ACME, "--store", store_url)[0] == 0
    assert run("drift", ACME, "--stale-invites", "0", "--store", store_url)[0] == 0  # nobody is invited

    code, out, _ = run("history", "--store", store_url)
    lines = out.splitlines()
    assert lines[0].startswith(f"Revision 1, adopted by {RESELLER} at ")
    assert lines[0].endswith(f": {count} records recorded as already there, nobody told")
    assert lines[1] == "  + user.add alice.moreau@acme.example: Alice Moreau (adopted)"
    assert len(lines) == 1 + count and all(line.endswith(" (adopted)") for line in lines[1:])

    _, out, _ = run("history", "--format", "json", "--store", store_url)
    [applied] = json.loads(out)["applies"]
    assert (applied["revision"], applied["actor"], applied["adopted"]) == (1, RESELLER, True)
    assert len(applied["actions"]) == count and all(a["adopted"] is True for a in applied["actions"])

    _, out, _ = run("history", "--format", "markdown", "--store", store_url)
    assert f"recorded as already there, nobody told.\n\n<details><summary>{count} adopted records" in out
    assert "\n+ user.add alice.moreau@acme.example: Alice Moreau   (adopted)\n" in out


def test_adopting_into_a_store_with_an_account_exits_1_and_changes_nothing(
    backend: Backend, store_url: str
) -> None:
    apply_yaml(store_url, ACCOUNT)
    before = backend.contents(store_url)
    code, out, err = adopt(store_url, ACME)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: not adopted: {open_store(store_url).url} already holds an account (3 users, 1 contract), "
        "and --adopt records one only into a store that has none; nothing was changed. Plan and apply "
        "the YAML without --adopt (each new user is then invited), or adopt it into a new store made "
        "with `reconciler init --reseller EMAIL`\n"
    )
    assert backend.contents(store_url) == before


def test_only_a_reseller_adopts(backend: Backend, store_url: str) -> None:
    before = backend.contents(store_url)
    assert adopt(store_url, ACME, actor="alice.moreau@acme.example") == (
        1,
        "",
        "Error: not adopted: alice.moreau@acme.example is not a reseller of this store "
        f"({RESELLER}), and only a reseller may record an account as already existing; nothing was "
        "changed. Ask a reseller to run `reconciler apply PATH... --adopt`\n",
    )
    assert backend.contents(store_url) == before


def test_adopt_takes_yaml_not_a_saved_plan(backend: Backend, store_url: str, tmp_path: Path) -> None:
    saved = str(tmp_path / "plan.json")
    assert run("plan", ACME, "--out", saved, "--actor", RESELLER, "--store", store_url)[0] == 0
    before = backend.contents(store_url)
    assert adopt(store_url, saved) == (
        1,
        "",
        f"Error: --adopt takes the desired-state YAML, not a saved plan ({saved}): a saved plan was "
        "judged to be applied with its e-mail. Run `reconciler apply PATH... --adopt` on the YAML itself\n",
    )
    assert backend.contents(store_url) == before


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ("--target", "user:carol.smith@acme.example"),
            "--adopt records the whole desired state: with --target the rest would be applied later, "
            "and its users invited. Drop --target",
        ),
        (
            ("--request",),
            "--adopt and --request do not go together: only a reseller adopts, and a reseller may do "
            "every action, so nothing is blocked to request. Drop --request",
        ),
    ],
)
def test_adopt_records_all_of_the_yaml(store_url: str, option: tuple[str, ...], message: str) -> None:
    assert adopt(store_url, ACME, more=option) == (1, "", f"Error: {message}\n")
    assert open_store(store_url).snapshot().revision == 0


def test_adopt_without_auto_approve_shows_the_plan_and_refuses_off_a_terminal(
    store_url: str, write_yaml: WriteYaml
) -> None:
    path = str(write_yaml(ACCOUNT))
    planned = run("plan", path, "--actor", RESELLER, "--store", store_url)[1]
    assert "E-mail: 3 people" in planned
    assert run("apply", path, "--adopt", "--actor", RESELLER, "--store", store_url) == (
        1,
        # The plan as `plan` shows it, less the e-mail it would send when applied.
        re.sub(r"E-mail: 3 people will hear of 6 changes.*\n", "", planned)
        + "Adopting: these records are kept as already there; every user active, nobody e-mailed, "
        "nothing removed.\n",
        "Error: not adopted: apply asks before changing anything; pass --auto-approve to run unattended\n",
    )
    assert open_store(store_url).snapshot().revision == 0


@pytest.mark.parametrize(("answer", "revision"), [(b"y\n", 1), (b"\n", 0)])
def test_adopt_asks_on_a_terminal(
    store_url: str, write_yaml: WriteYaml, answer: bytes, revision: int
) -> None:
    path = write_yaml(ACCOUNT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER}
    code, output = run_on_terminal(
        ["apply", str(path), "--adopt"], env, prompt=b"Adopt these 10 actions? [y/N]", answer=answer
    )
    assert code == (0 if revision else 1)
    assert b"nobody e-mailed" in output
    assert open_store(store_url).snapshot().revision == revision
    assert open_store(store_url).outbox() == []


# --- the whole way in, as docs/adopting.md ("Adopting an existing account") walks it -------------


def test_from_the_portals_csv_to_a_first_plan_that_changes_nothing(store_url: str, tmp_path: Path) -> None:
    """docs/adopting.md's four steps: import the portal's users with the contracts written by hand, validate,
    adopt into a new store, plan: no change, nobody invited."""
    account = tmp_path / "account"
    account.mkdir()
    (account / "contracts.yaml").write_text(
        (EXAMPLES / "acme" / "contracts.yaml").read_text(encoding="utf-8")
    )
    portal = tmp_path / "portal-users.csv"
    portal.write_text(
        "First name,Last name,Email address\r\n"
        "Alice,Moreau,alice.moreau@acme.example\r\n"
        "Bob,Okafor,bob.okafor@acme.example\r\n"
        "Dana,Lund,Dana.Lund@acme.example\r\n"
        'Ødegård,"Smith, Jr.",carol.smith@acme.example\r\n',
        encoding="utf-8",
    )
    users = account / "users.yaml"
    code, _, err = run(
        "import", "csv", str(portal), "--contracts", str(account / "contracts.yaml"), "--out", str(users)
    )
    assert (code, err) == (0, f"Imported 4 users with 0 grants of their own into {users}.\n")
    assert run("validate", str(account))[0] == 0
    code, out, err = adopt(store_url, str(account))
    assert (code, err) == (0, "")
    store = open_store(store_url)
    assert set(store.snapshot().user_status.values()) == {"active"}
    assert store.outbox() == []
    code, out, _ = run("plan", str(account), "--detailed-exitcode", "--actor", RESELLER, "--store", store_url)
    assert code == 0, out
    assert out.endswith("Plan: 0 to add, 0 to change, 0 to remove, 0 blocked.\n")


def test_an_account_moved_to_a_new_store_by_csv_keeps_every_grant_and_tells_nobody(
    store_url: str, tmp_path: Path
) -> None:
    """From one store to another without teams: export the users as CSV, import them with the contracts,
    adopt the result into an empty store, and it plans to no change there."""
    old = f"sqlite:///{tmp_path / 'old.db'}"
    open_store(old).initialize([RESELLER])
    apply_yaml(old, ACCOUNT)
    exported = tmp_path / "users.csv"
    code, csv_text, _ = run("export", "--format", "csv", "--store", old)
    assert code == 0
    exported.write_text(csv_text, encoding="utf-8")
    account = tmp_path / "account"
    account.mkdir()
    contracts = yaml.safe_load(ACCOUNT)
    contracts.pop("users")
    (account / "contracts.yaml").write_text(yaml.safe_dump(contracts), encoding="utf-8")
    code, _, err = run(
        "import",
        "csv",
        str(exported),
        "--contracts",
        str(account / "contracts.yaml"),
        "--out",
        str(account / "users.yaml"),
    )
    assert code == 0, err
    assert adopt(store_url, str(account))[0] == 0
    store = open_store(store_url)
    assert store.snapshot().grants == open_store(old).snapshot().grants
    assert store.outbox() == []
    code, out, _ = run("plan", str(account), "--detailed-exitcode", "--actor", RESELLER, "--store", store_url)
    assert code == 0, out
