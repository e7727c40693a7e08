"""`fmt --drop-expired`: what expired, and whose removal the store already holds, leaves the files.

Each test applies an account while nothing has ended, then applies it again after some dates have
passed (the plan takes those entries away), through the command line as a user runs it; then
`fmt --drop-expired` takes out of the files exactly the entries the store no longer holds, keeps
every other comment, leaves what the store still holds with a note, and a second run changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RESELLER, WriteYaml
from test_directory_files import ACCOUNT as DIRECTORY_ACCOUNT
from test_directory_files import edited, write

from reconciler.cli import cli
from reconciler.core.model import Access, DesiredState, Team, User
from reconciler.engine.expiry import Ended, ended, split_applied, without

USERS = """\
# yaml-language-server: $schema=desired-state.schema.json
# c1 the people
version: 1
contracts:
  - number: "110001234567"  # c2 the contract
    manager: alice@acme.example
    ends: "2027-12-31"
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 10
      - number: "399-12345679"
        product: Revit
        seats: 10
users:
  # c3 the manager
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345678"
        download: true
        expires: "2027-01-15"
      # c4 Revit for good
      - serial: "399-12345679"
  - email: dan@acme.example
    first_name: Dan
    last_name: Diaz
    expires: "2027-02-01"
  - email: eve@acme.example  # c5 Eve
    first_name: Eve
    last_name: Evans
    access:
      - serial: "399-12345679"
        expires: "2027-06-30"
"""
TEAMS = """\
version: 1
teams:
  # c6 the temps
  - name: Temps
    members:
      - dan@acme.example
      - email: eve@acme.example
        expires: "2027-03-01"
      - alice@acme.example  # c7 Alice stays
    access:
      - serial: "399-12345678"
"""
COMMENT = re.compile(r"# c\d+ [a-z A-Z]+")


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def account(runner: CliRunner, write_yaml: WriteYaml, store_url: str) -> Path:
    """The account in two files, applied on 2027-01-01, then on 2027-02-02: Carol's AutoCAD and Dan
    have gone from the store; Eve's place in Temps (until 2027-03-01) has not ended yet."""
    write_yaml(USERS, "account/users.yaml")
    folder = write_yaml(TEAMS, "account/teams.yaml").parent
    for today in ("2027-01-01", "2027-02-02"):
        code, out, err = run(
            runner,
            *("apply", str(folder), "--today", today, "--auto-approve", "--max-removal-ratio", "1"),
            *("--store", store_url, "--actor", RESELLER),
        )
        assert code == 0, out + err
    return folder


def drop(runner: CliRunner, folder: Path, store_url: str, today: str, *args: str) -> tuple[int, str, str]:
    return run(runner, "fmt", "--drop-expired", str(folder), "--today", today, "--store", store_url, *args)


def test_only_what_the_store_no_longer_holds_is_dropped_and_every_other_comment_stays(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    users, teams = account / "users.yaml", account / "teams.yaml"
    before = Counter(COMMENT.findall(users.read_text() + teams.read_text()))
    # On 2027-03-05 Eve's place in Temps has ended too, but no apply has taken it away yet.
    code, out, err = drop(runner, account, store_url, "2027-03-05")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"dropped from {teams}: dan@acme.example in team Temps (expired 2027-02-01)",
        f"dropped from {users}: the access of carol@acme.example to serial 399-12345678 (expired 2027-01-15)",
        f"dropped from {users}: the user dan@acme.example (expired 2027-02-01)",
        "kept eve@acme.example in team Temps (expired 2027-03-01): the store still holds it, so the apply "
        "that takes it away has not run yet",
        "3 expired entries dropped, 1 kept.",
        f"reformatted {teams}",
        f"reformatted {users}",
        "2 files reformatted, 0 unchanged.",
    ]
    text = users.read_text()
    assert "dan@acme.example" not in text + teams.read_text()
    assert '- serial: "399-12345678"' not in text  # Carol's AutoCAD; her Revit stays
    assert text.count('serial: "399-12345679"') == 2 and 'expires: "2027-06-30"' in text
    assert 'email: eve@acme.example\n        expires: "2027-03-01"' in teams.read_text()
    assert Counter(COMMENT.findall(users.read_text() + teams.read_text())) == before
    assert text.startswith("# yaml-language-server: $schema=desired-state.schema.json\n# c1 the people\n")


def test_a_second_run_changes_nothing(runner: CliRunner, account: Path, store_url: str) -> None:
    assert drop(runner, account, store_url, "2027-03-05")[0] == 0
    files = {path: path.read_bytes() for path in account.iterdir()}
    code, out, _ = drop(runner, account, store_url, "2027-03-05")
    assert code == 0
    assert out.endswith("0 expired entries dropped, 1 kept.\n0 files reformatted, 2 unchanged.\n")
    assert {path: path.read_bytes() for path in account.iterdir()} == files
    assert drop(runner, account, store_url, "2027-03-05", "--check")[0] == 0


def test_the_files_it_leaves_plan_to_no_change(runner: CliRunner, account: Path, store_url: str) -> None:
    assert drop(runner, account, store_url, "2027-02-02")[0] == 0
    code, out, _ = run(
        runner,
        *("plan", str(account), "--today", "2027-02-02", "--detailed-exitcode"),
        *("--store", store_url, "--actor", RESELLER),
    )
    assert code == 0, out


def test_check_says_what_would_be_dropped_writes_nothing_and_exits_2(
    runner: CliRunner, account: Path, store_url: str
) -> None:
    files = {path: path.read_bytes() for path in account.iterdir()}
    code, out, err = drop(runner, account, store_url, "2027-02-02", "--check")
    assert code == 2
    assert sorted(out.splitlines()) == sorted([str(account / "users.yaml"), str(account / "teams.yaml")])
    assert f"would drop from {account / 'users.yaml'}: the user dan@acme.example (expired 2027-02-01)" in err
    assert "3 expired entries would be dropped.\n" in err
    assert {path: path.read_bytes() for path in account.iterdir()} == files


def test_nothing_the_store_still_holds_is_dropped(
    runner: CliRunner, write_yaml: WriteYaml, store_url: str
) -> None:
    """Applied before anything ended, and not since: every date has passed, none is applied."""
    path = write_yaml(USERS)
    code, out, _ = run(
        runner,
        *("apply", str(path), "--today", "2027-01-01", "--auto-approve"),
        *("--store", store_url, "--actor", RESELLER),
    )
    assert code == 0, out
    before = path.read_bytes()
    code, out, _ = drop(runner, path, store_url, "2027-12-31")
    assert code == 0
    assert out.count("kept ") == 3 and "0 expired entries dropped, 3 kept." in out
    assert "the apply that takes it away has not run yet" in out
    assert path.read_bytes() == before  # already in the layout: not even written


def test_without_drop_expired_fmt_reads_no_store(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(USERS)
    code, _, err = run(runner, "fmt", str(path), "--store", "postgresql://nobody@127.0.0.1:1/none")
    assert (code, err) == (0, "")
    code, _, err = run(runner, "fmt", "--drop-expired", str(path), "--store", "sqlite:///no/such/store.db")
    assert code == 1 and err.startswith("Error: ")


# --- the pure part: which entries, and the account without them ----------------------------------------

CAROL = User("carol@x.example", "C", "S", (Access("1", expires="2027-01-15"), Access("2")))
DAN = User("dan@x.example", "D", "D", expires="2027-02-01")
EVE = User("eve@x.example", "E", "E")
TEMPS = Team(
    "Temps",
    members=("dan@x.example", "eve@x.example"),
    member_expires=(("eve@x.example", "2027-03-01"),),
)
STATE = DesiredState(users=(CAROL, DAN, EVE), teams=(TEMPS,))


def test_ended_lists_each_entry_once() -> None:
    assert ended(STATE, "2027-03-02") == [
        Ended("carol@x.example", "2027-01-15", serial="1"),
        Ended("dan@x.example", "2027-02-01"),
        Ended("eve@x.example", "2027-03-01", team="Temps"),
    ]
    assert ended(STATE, "2027-01-15") == []


def test_split_applied_looks_only_at_presence() -> None:
    entries = ended(STATE, "2027-03-02")
    store = DesiredState(
        users=(CAROL, EVE), teams=(Team("TEMPS", members=("dan@x.example", "eve@x.example")),)
    )
    applied, held = split_applied(entries, store)
    assert applied == [Ended("dan@x.example", "2027-02-01")]
    assert held == [
        Ended("carol@x.example", "2027-01-15", serial="1"),
        Ended("eve@x.example", "2027-03-01", team="Temps"),
    ]


def test_without_takes_out_the_entries_and_a_gone_users_memberships() -> None:
    state, held = without(
        STATE, [Ended("dan@x.example", "2027-02-01"), Ended("carol@x.example", "x", serial="1")]
    )
    assert held == [
        Ended("carol@x.example", "x", serial="1"),
        Ended("dan@x.example", "2027-02-01"),
        Ended("dan@x.example", "2027-02-01", team="Temps"),
    ]
    assert [user.email for user in state.users] == ["carol@x.example", "eve@x.example"]
    assert state.users[0].access == (Access("2"),)
    assert state.teams[0].members == ("eve@x.example",)
    assert state.teams[0].member_expires == (("eve@x.example", "2027-03-01"),)
    assert without(state, [Ended("nobody@x.example", "2027-01-01")]) == (state, [])


def test_a_user_the_directorys_file_declares_too_stays(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    """Taken out of the hand-written file, Ann would come back from the directory's, for good."""
    monkeypatch.chdir(tmp_path)
    folder = write(
        tmp_path,
        edited(DIRECTORY_ACCOUNT, "    protect: true\n", '    protect: true\n    expires: "2027-01-31"\n'),
    )
    files = {path: path.read_bytes() for path in folder.rglob("*.yaml")}
    code, out, _ = drop(runner, folder, store_url, "2027-02-01")
    assert code == 0
    assert out.splitlines()[0] == (
        "kept the user ann@acme.example (expired 2027-01-31): the directory's file declares them too; "
        "take them out of the directory group"
    )
    assert "0 expired entries dropped, 1 kept." in out
    assert "ann@acme.example" in (folder / "account.yaml").read_text().lower()
    assert {path: path.read_bytes() for path in folder.rglob("*.yaml")}.keys() == files.keys()
