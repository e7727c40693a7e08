"""`users show EMAIL`: what one user has, and why, on a real store, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from conftest import RESELLER, ROOT, apply_yaml, plan_yaml
from memory_store import open_any_store

from reconciler.cli import cli
from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.core.errors import InputError
from reconciler.core.records import Source
from reconciler.engine.people import user_overview

#: Before: Carol has Design Studio's access only. Bob coordinates 399-12345678 and may manage users;
#: Dana coordinates 399-12345680 and may not; 399-12345679 names no coordinator, so Alice, its
#: Contract Manager, coordinates it (R4). Erin has Inventor, downloads included, through Review alone.
BEFORE = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: bob@acme.example
        manage_users: true
        shipping: {name: Acme HQ, address: "1 Main St", country: US}
      - email: dana@acme.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 5
        group: Design Studio
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 5
      - number: "399-12345680"
        product: Inventor
        seats: 5
        coordinator: dana@acme.example
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
  - email: dana@acme.example
    first_name: Dana
    last_name: Lund
  - email: erin@acme.example
    first_name: Erin
    last_name: Walsh
    id: 3f2a9c1e-0d4b-4c6e-9a7f-5b8d2e1c0a93
    protect: true
teams:
  - name: Design Studio
    description: Architects in Oslo
    members: [carol@acme.example]
    access:
      - serial: "399-12345678"
        download: true
      - serial: "399-12345679"
  - name: Review
    members: [erin@acme.example]
    access:
      - serial: "399-12345680"
        download: true
"""
#: After: Carol also has a grant of her own on 399-12345678, without downloads (the team gives them).
AFTER = BEFORE.replace(
    "    last_name: Smith\n",
    '    last_name: Smith\n    access:\n      - serial: "399-12345678"\n',
)
CAROL = "carol@acme.example"
#: Who marks a user active when they first sign in: the portal.
PORTAL = "portal@acme.example"
SOURCE = Source(
    commit="1a2b3c4d5e6f7a8b9c0d",
    pull_request="https://github.com/acme/licences/pull/7",
    text="Carol joins the AutoCAD pilot",
)


@pytest.fixture
def account(store_url: str) -> str:
    """The store with BEFORE applied, then AFTER applied from a pull request, then Carol signed in."""
    apply_yaml(store_url, BEFORE)
    store = open_any_store(store_url)
    run_apply(store, plan_yaml(store_url, AFTER), RESELLER, ApplyOptions(source=SOURCE))
    store.activate_users([CAROL], PORTAL)
    return store_url


def show(store_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["users", "show", *args, "--store", store_url])
    return result.exit_code, result.stdout, result.stderr


def test_a_user_with_a_grant_of_their_own_and_a_teams_is_shown_whole(account: str) -> None:
    store = open_any_store(account)
    snapshot = store.user_snapshot(CAROL)
    newest, first = store.history(10, user=CAROL)[0], store.history(10, user=CAROL)[-1]
    lineage, added = snapshot.lineage, snapshot.user_added[CAROL]
    code, out, err = show(account, CAROL)
    assert (code, err) == (0, "")
    assert out == textwrap.dedent(
        f"""\
        User carol@acme.example (Carol Smith)
          Status: active, added {added}
          Teams:  Design Studio (Architects in Oslo)
          Store:  {lineage} at revision 2

        Roles: none (an end user, who administers nothing)

        Access to 2 serials:
          399-12345678 AutoCAD, contract 110001234567, group Design Studio
            via:         direct, team Design Studio
            download:    yes (team Design Studio)
            coordinator: bob@acme.example (Bob Okafor)
          399-12345679 Revit, contract 110001234567
            via:         team Design Studio
            download:    no
            coordinator: alice@acme.example (Alice Moreau), the Contract Manager (the serial names no Software Coordinator)

        Last changes, newest first:
          Revision 2, outside a plan, by {PORTAL} at {newest.at}
            ~ user.activate carol@acme.example: status invited → active (signed in)
          Revision 2, applied by {RESELLER} at {store.history(10, user=CAROL)[1].at}
            from commit 1a2b3c4d5e6f, pull request https://github.com/acme/licences/pull/7, Carol joins the AutoCAD pilot
            ~ access.update carol@acme.example on 399-12345678: direct_download (none) → no, via team:Design Studio → direct, team:Design Studio
          Revision 1, applied by {RESELLER} at {first.at}
            + user.add carol@acme.example: Carol Smith
            + team.member_add carol@acme.example in team Design Studio
            + access.grant carol@acme.example on 399-12345678: download yes, via team:Design Studio
            + access.grant carol@acme.example on 399-12345679: via team:Design Studio
        """
    )


def test_an_address_is_found_in_any_case(account: str) -> None:
    assert show(account, "Carol@ACME.example") == show(account, CAROL)
    assert show(account, "Carol@ACME.example")[1].startswith("User carol@acme.example (Carol Smith)\n")


def test_download_through_a_team_alone_and_an_invited_protected_user(account: str) -> None:
    code, out, _ = show(account, "erin@acme.example")
    assert code == 0
    assert out.startswith("User erin@acme.example (Erin Walsh)\n  Status:       invited, added ")
    assert "  Directory id: 3f2a9c1e-0d4b-4c6e-9a7f-5b8d2e1c0a93\n" in out
    assert "  Protected:    yes: no plan removes them while the store says so\n" in out
    assert "  Teams:        Review\n" in out
    assert (
        "Access to 1 serial:\n"
        "  399-12345680 Inventor, contract 110001234567\n"
        "    via:         team Review\n"
        "    download:    yes (team Review)\n"
        "    coordinator: dana@acme.example (Dana Lund)\n"
    ) in out


def test_a_coordinator_who_may_manage_users_and_one_who_may_not(account: str) -> None:
    _, bob, _ = show(account, "bob@acme.example")
    assert (
        "Roles:\n"
        "  Software Coordinator on contract 110001234567, may manage users\n"
        "    Contract Manager: alice@acme.example (Alice Moreau)\n"
        "    ships to:         Acme HQ, 1 Main St, US\n"
        "    coordinates:      399-12345678 AutoCAD, group Design Studio\n"
        "\n"
        "Access to 1 serial:\n"
        "  399-12345678 AutoCAD, contract 110001234567, group Design Studio\n"
        "    via:         direct\n"
        "    download:    yes (direct)\n"
        "    coordinator: bob@acme.example (Bob Okafor)\n"
    ) in bob
    assert "    + coordinator.add bob@acme.example on 110001234567: manage_users yes, shipping Acme HQ" in bob
    _, dana, _ = show(account, "dana@acme.example")
    assert (
        "Roles:\n"
        "  Software Coordinator on contract 110001234567, may not manage users\n"
        "    Contract Manager: alice@acme.example (Alice Moreau)\n"
        "    coordinates:      399-12345680 Inventor\n"
        "\n"
        "Access: none\n"
    ) in dana


def test_a_contract_manager_coordinates_the_serials_that_name_nobody(account: str) -> None:
    code, out, _ = show(account, "alice@acme.example")
    assert code == 0
    assert (
        "Roles:\n"
        "  Contract Manager of contract 110001234567, and so coordinator of its serials that name no "
        "Software Coordinator\n"
        "\n"
        "Access: none\n"
    ) in out
    # The contract's creation named her its manager: it concerns her.
    assert "    + contract.create 110001234567: manager alice@acme.example\n" in out
    # And a serial she coordinates by R4 says so where a user holds it.
    _, carol, _ = show(account, CAROL)
    assert "coordinator: alice@acme.example (Alice Moreau), the Contract Manager (the serial" in carol


def test_an_unknown_address_is_an_error_naming_it(account: str) -> None:
    code, out, err = show(account, "Zed@acme.example")
    assert (code, out) == (1, "")
    assert err == (
        "Error: the store has no user zed@acme.example; check the address "
        "(`reconciler export --format csv` lists every user)\n"
    )


def test_json_says_each_field(account: str) -> None:
    store = open_any_store(account)
    snapshot = store.user_snapshot(CAROL)
    applies = store.history(10, user=CAROL)
    code, out, _ = show(account, CAROL, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["access", "format_version", "history", "roles", "store", "teams", "user"]
    assert data["format_version"] == 1
    assert data["store"] == {"lineage": snapshot.lineage, "revision": 2}
    assert data["user"] == {
        "email": CAROL,
        "first_name": "Carol",
        "last_name": "Smith",
        "status": "active",
        "added_at": snapshot.user_added[CAROL],
        "directory_id": None,
        "protected": False,
    }
    assert data["roles"] == {"reseller": False, "contract_manager": [], "software_coordinator": []}
    assert data["teams"] == [{"name": "Design Studio", "description": "Architects in Oslo"}]
    assert data["access"] == [
        {
            "serial": "399-12345678",
            "product": "AutoCAD",
            "contract": "110001234567",
            "group": "Design Studio",
            "coordinator": {"email": "bob@acme.example", "name": "Bob Okafor", "by_manager": False},
            "via": ["direct", "team:Design Studio"],
            "download": True,
            "download_via": ["team:Design Studio"],
            "direct_download": False,
        },
        {
            "serial": "399-12345679",
            "product": "Revit",
            "contract": "110001234567",
            "group": None,
            "coordinator": {"email": "alice@acme.example", "name": "Alice Moreau", "by_manager": True},
            "via": ["team:Design Studio"],
            "download": False,
            "download_via": [],
            "direct_download": None,
        },
    ]
    chore, pulled, first = data["history"]
    assert chore == {
        "revision": 2,
        "actor": PORTAL,
        "at": applies[0].at,
        "adopted": False,
        "source": None,
        "actions": [
            {
                "kind": "user.activate",
                "target": {"user": CAROL},
                "before": None,
                "after": None,
                "adopted": False,
            }
        ],
    }
    assert pulled["revision"] == 2
    assert pulled["source"] == {
        "commit": "1a2b3c4d5e6f7a8b9c0d",
        "pull_request": "https://github.com/acme/licences/pull/7",
        "text": "Carol joins the AutoCAD pilot",
    }
    assert pulled["actions"] == [
        {
            "kind": "access.update",
            "target": {"contract": "110001234567", "serial": "399-12345678", "user": CAROL},
            "before": {"download": True, "via": ["team:Design Studio"]},
            "after": {"download": True, "direct_download": False, "via": ["direct", "team:Design Studio"]},
            "adopted": False,
        }
    ]
    assert (first["revision"], first["source"]) == (1, None)
    assert [action["kind"] for action in first["actions"]] == [
        "user.add",
        "team.member_add",
        "access.grant",
        "access.grant",
    ]


def test_json_of_a_coordinator_names_their_serials_and_shipping(account: str) -> None:
    _, out, _ = show(account, "bob@acme.example", "--format", "json")
    roles = json.loads(out)["roles"]
    assert roles == {
        "reseller": False,
        "contract_manager": [],
        "software_coordinator": [
            {
                "contract": "110001234567",
                "manager": {"email": "alice@acme.example", "name": "Alice Moreau"},
                "manage_users": True,
                "shipping": {"name": "Acme HQ", "address": "1 Main St", "country": "US"},
                "serials": [
                    {
                        "serial": "399-12345678",
                        "product": "AutoCAD",
                        "contract": "110001234567",
                        "group": "Design Studio",
                        "coordinator": {
                            "email": "bob@acme.example",
                            "name": "Bob Okafor",
                            "by_manager": False,
                        },
                    }
                ],
            }
        ],
    }
    _, alice, _ = show(account, "alice@acme.example", "--format", "json")
    assert json.loads(alice)["roles"]["contract_manager"] == ["110001234567"]


def test_a_reseller_who_is_a_user_is_shown_as_one(store_url: str) -> None:
    apply_yaml(
        store_url,
        BEFORE.replace(
            "users:\n", f"users:\n  - email: {RESELLER}\n    first_name: Olga\n    last_name: Orders\n", 1
        ),
    )
    code, out, _ = show(store_url, RESELLER.upper())
    assert code == 0
    assert "Roles:\n  reseller: may do everything in this store\n\nAccess: none\n" in out


def test_the_user_snapshot_shows_what_the_whole_store_does(any_store_url: str) -> None:
    """What users show reads (the user's part of the store) is all it needs: every user's overview
    from it is the overview from the whole store, on every store."""
    apply_yaml(any_store_url, BEFORE)
    store = open_any_store(any_store_url)
    whole = store.snapshot()
    for user in whole.state.users:
        assert user_overview(store.user_snapshot(user.email), user.email) == user_overview(whole, user.email)
    carol = user_overview(store.user_snapshot(CAROL), CAROL)
    assert [(g.serial.number, g.via, g.download_via) for g in carol.grants] == [
        ("399-12345678", ("team:Design Studio",), ("team:Design Studio",)),
        ("399-12345679", ("team:Design Studio",), ()),
    ]
    with pytest.raises(InputError, match=r"no user zed@acme\.example"):
        user_overview(store.user_snapshot("zed@acme.example"), "zed@acme.example")


def test_a_real_process_answers_and_fails_cleanly(account: str) -> None:
    env = {**os.environ, "RECONCILER_STORE": account}
    env.pop("RECONCILER_DEBUG", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "users", "show", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )

    found = run(CAROL)
    assert (found.returncode, found.stderr) == (0, "")
    assert found.stdout == show(account, CAROL)[1]
    missing = run("nobody@acme.example", "--format", "json")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.startswith("Error: the store has no user nobody@acme.example;")
    assert "Traceback" not in missing.stderr
