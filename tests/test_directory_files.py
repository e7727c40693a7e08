"""The directory's file and the hand-written files make one account; what each may say, and the errors.

`acme/account.yaml` is written by hand: the `directory:` block, the contract, two people the directory
does not know (Alice, Bob), direct access for Ann, who is a directory user, and the team Design Studio,
mapped to a directory group. `acme/people/directory.yaml` is the directory's file, as `directory pull`
writes it: Ann and Cy, with their ids and names, and Design Studio's members. INLINE is the same
account written by hand in one file. Every test runs `reconciler validate` (or `plan`) as a user does,
from the folder that holds `acme`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, apply_yaml

from reconciler.cli import cli
from reconciler.core.model import (
    Access,
    DesiredState,
    Directory,
    DirectoryAttributes,
    Flavour,
    Team,
    User,
    build_state,
)
from reconciler.loading import find_sources, load_desired_state, load_sources, output_path

ANN_ID = "3f2a1c9e-0001-4d7b-9a51-acme00000001"
CY_ID = "3f2a1c9e-0002-4d7b-9a51-acme00000002"

ACCOUNT = """\
version: 1
directory:
  kind: ldap
  url: ldaps://dc1.acme.example
  bind_dn: cn=reconciler,ou=svc,dc=acme,dc=example
  base_dn: dc=acme,dc=example
  flavour: active_directory
  output: people/directory.yaml
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - {email: bob@acme.example, manage_users: true}
    serials:
      - {number: "399-12345678", product: AutoCAD, seats: 3, coordinator: bob@acme.example}
      - {number: "399-12345679", product: Revit, seats: 2}
users:
  - {email: alice@acme.example, first_name: Alice, last_name: Moreau}
  - {email: bob@acme.example, first_name: Bob, last_name: Okafor}
  - email: Ann@acme.example
    access: [{serial: "399-12345679", download: true}]
    protect: true
teams:
  - name: Design Studio
    directory_group: "cn=Design Studio,ou=Groups,dc=acme,dc=example"
    access: [{serial: "399-12345678"}]
"""
# Lines of ACCOUNT that messages name.
ANN_LINE, BOB_LINE, GROUP_LINE = 20, 19, 25

PEOPLE = f"""\
# Written by `reconciler directory pull`: do not edit.
version: 1
users:
  - id: {ANN_ID}
    email: ann@acme.example
    first_name: Ann
    last_name: Lee
  - id: {CY_ID}
    email: cy@acme.example
    first_name: Cy
    last_name: Berg
teams:
  - name: design studio
    members: [ann@acme.example, cy@acme.example]
"""
# Lines of PEOPLE that messages name.
ANN_ID_LINE, ANN_EMAIL_LINE, CY_ID_LINE, PEOPLE_TEAM_LINE = 4, 5, 8, 13

INLINE = (
    ACCOUNT[: ACCOUNT.index("directory:")]
    + ACCOUNT[ACCOUNT.index("contracts:") : ACCOUNT.index("  - email: Ann")]
    + f"""\
  - email: Ann@acme.example
    id: {ANN_ID}
    first_name: Ann
    last_name: Lee
    access: [{{serial: "399-12345679", download: true}}]
    protect: true
  - {{email: cy@acme.example, id: {CY_ID}, first_name: Cy, last_name: Berg}}
teams:
  - name: Design Studio
    members: [ann@acme.example, cy@acme.example]
    access: [{{serial: "399-12345678"}}]
"""
)

HAND = "acme/account.yaml"
GENERATED = "acme/people/directory.yaml"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the commands run in, which holds `acme`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, account: str = ACCOUNT, people: str | None = PEOPLE) -> Path:
    """The account `acme` in `folder`: the hand-written file and, unless None, the directory's."""
    (folder / "acme" / "people").mkdir(parents=True, exist_ok=True)
    (folder / HAND).write_text(account)
    if people is not None:
        (folder / GENERATED).write_text(people)
    else:
        (folder / GENERATED).unlink(missing_ok=True)
    return folder / "acme"


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def validate(*paths: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *paths])


def invalid(*paths: str) -> list[str]:
    """The problems `reconciler validate` prints for `paths`, one a line; it must exit 1."""
    result = validate(*paths)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert result.stderr.startswith(f"Invalid: {len(lines)} error"), result.stderr
    return lines


def directory_of(*paths: str) -> Directory:
    directory = load_desired_state(paths).directory
    assert directory is not None
    return directory


# --- one account from two kinds of file ---------------------------------------------------------------


def test_the_split_account_is_valid_and_counts_as_the_inline_one(here: Path) -> None:
    write(here)
    (here / "inline.yaml").write_text(INLINE)
    split, inline = validate("acme"), validate("inline.yaml")
    assert (split.exit_code, inline.exit_code) == (0, 0), split.output + inline.output
    assert (
        split.output == inline.output == "Valid: 1 contract, 2 serials, 4 users, 1 team, 3 access grants.\n"
    )


def without_provenance(state: DesiredState) -> DesiredState:
    """`state` without what says where its people come from: the directory, and each team's group."""
    return dataclasses.replace(
        state, directory=None, teams=tuple(dataclasses.replace(t, directory_group=None) for t in state.teams)
    )


def test_the_merged_model_is_the_inline_one(here: Path) -> None:
    write(here)
    (here / "inline.yaml").write_text(INLINE)
    split = load_desired_state(["acme"])
    inline = load_desired_state(["inline.yaml"])
    assert inline.directory is None and split.directory is not None
    assert without_provenance(split) == inline
    assert split.users == inline.users and split.contracts == inline.contracts
    # Ann: names and id from the directory, her direct access and protection from the hand-written file.
    ann = next(user for user in split.users if user.email == "ann@acme.example")
    assert ann == User(
        "ann@acme.example", "Ann", "Lee", (Access("399-12345679", download=True),), protect=True, id=ANN_ID
    )
    # Design Studio: its name, group and access from the hand-written file, its members from the directory.
    assert split.teams == (
        Team(
            "Design Studio",
            members=("ann@acme.example", "cy@acme.example"),
            access=(Access("399-12345678"),),
            directory_group="cn=Design Studio,ou=Groups,dc=acme,dc=example",
        ),
    )


def test_the_order_of_the_files_does_not_matter(here: Path) -> None:
    write(here)
    sources, _ = find_sources(["acme"])
    assert [source.name for source in sources] == [HAND, GENERATED]
    forwards, backwards = load_sources(sources).state, load_sources(sources[::-1]).state
    assert forwards is not None and forwards == backwards
    assert forwards == load_desired_state([GENERATED, f"./{HAND}"])  # the file however it is named


def test_the_directory_record(here: Path) -> None:
    account = edited(
        ACCOUNT,
        "  flavour: active_directory\n",
        "  flavour: openldap\n  attributes: {email: userPrincipalName, member: uniqueMember}\n",
    )
    write(here, account)
    directory = directory_of("acme")
    assert directory == Directory(
        url="ldaps://dc1.acme.example",
        base_dn="dc=acme,dc=example",
        flavour=Flavour.OPENLDAP,
        output="people/directory.yaml",
        attributes=DirectoryAttributes("entryUUID", "userPrincipalName", "givenName", "sn", "uniqueMember"),
        bind_dn="cn=reconciler,ou=svc,dc=acme,dc=example",
        timeout=30.0,
        declared_in="acme",
    )
    assert output_path(directory) == Path(GENERATED)
    assert output_path(directory_of(str(here / "acme"))) == here / GENERATED


def test_each_file_alone_is_its_own_part(here: Path) -> None:
    """`fmt` lays each file out as its part: a hand-written part may hold a user with no names and a
    team with no members, and the directory's file alone is users with names and teams with members."""
    write(here)
    sources, _ = find_sources(["acme"])
    loaded = load_sources(sources, by_file=True)
    assert loaded.state == load_desired_state(["acme"])
    hand, people = (part.state for part in loaded.parts)
    assert User("ann@acme.example", None, None, (Access("399-12345679", True),), protect=True) in hand.users
    assert hand.teams[0].members == () and hand.teams[0].directory_group is not None
    assert hand.directory == loaded.state.directory
    assert [user.first_name for user in people.users] == ["Ann", "Cy"] and people.directory is None
    assert people.teams == (Team("design studio", members=("ann@acme.example", "cy@acme.example")),)


def test_build_state_merges_the_directorys_file_given_apart() -> None:
    hand = {
        "users": [{"email": "ANN@x.example", "access": [{"serial": "1"}]}],
        "teams": [{"name": "T", "directory_group": "cn=T", "access": [{"serial": "1"}]}, {"name": "U"}],
    }
    people = {
        "users": [{"id": "1", "email": "ann@x.example", "first_name": "A", "last_name": "L"}],
        "teams": [{"name": "t", "members": ["ANN@x.example"]}, {"name": "U", "members": ["ann@x.example"]}],
    }
    state = build_state([hand], people)
    assert state.users == (User("ann@x.example", "A", "L", (Access("1"),), id="1"),)
    # Only a team with a directory_group takes its members from the directory's file.
    assert state.teams == (
        Team("T", members=("ann@x.example",), access=(Access("1"),), directory_group="cn=T"),
        Team("U"),
    )


def test_plan_of_the_split_account_is_the_plan_of_the_inline_one(here: Path, store_url: str) -> None:
    # The store holds the account as it was: Dee in the team rather than Cy, Ann without Revit.
    apply_yaml(
        store_url,
        edited(
            INLINE.replace("[ann@acme.example, cy@acme.example]", "[ann@acme.example, dee@acme.example]")
            .replace('    access: [{serial: "399-12345679", download: true}]\n', "")
            .replace("    protect: true\n", ""),
            "teams:",
            "  - {email: dee@acme.example, first_name: Dee, last_name: Ray}\nteams:",
        ),
    )
    write(here)
    (here / "inline.yaml").write_text(INLINE)

    def plan(path: str, output: str) -> Result:
        args = ["plan", path, "--store", store_url, "--actor", RESELLER, "--format", output]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return result

    for output in ("text", "markdown"):
        assert plan("acme", output).stdout_bytes == plan("inline.yaml", output).stdout_bytes, output
    assert (
        "team.member_add" in plan("acme", "json").stdout and "cy@acme.example" in plan("acme", "text").stdout
    )
    # The JSON plan is the same plan, but for the fingerprint of the YAML it was made from (and the
    # checksum over it): the split files say more than the inline one, where the people come from.
    split, inline = (json.loads(plan(path, "json").stdout) for path in ("acme", "inline.yaml"))
    assert split["desired_digest"] != inline["desired_digest"]
    for fingerprinted in (split, inline):
        del fingerprinted["desired_digest"], fingerprinted["checksum"]
    assert split == inline


# --- ownership: what the directory owns is not written by hand ---------------------------------------


def test_a_directory_users_names_written_by_hand(here: Path) -> None:
    write(
        here,
        edited(ACCOUNT, "  - email: Ann@acme.example\n", "  - email: Ann@acme.example\n    last_name: L\n"),
    )
    assert invalid("acme") == [
        f"{HAND}:{ANN_LINE + 1}:16: users[2].last_name: the names of 'ann@acme.example' come from the "
        f"directory, at {GENERATED}:{ANN_EMAIL_LINE}:12; leave first_name and last_name out here"
    ]


def test_members_of_a_directory_group_team_written_by_hand(here: Path) -> None:
    account = edited(
        ACCOUNT,
        '    access: [{serial: "399-12345678"}]\n',
        '    members: [bob@acme.example]\n    access: [{serial: "399-12345678"}]\n',
    )
    write(here, account)
    assert invalid("acme") == [
        f"{HAND}:{GROUP_LINE + 1}:14: teams[0].members: the members of the team 'Design Studio' come from "
        f"the directory's file, at {GENERATED}:{PEOPLE_TEAM_LINE}:11; leave `members` out here"
    ]
    # With no entry of the team in the directory's file, the message points at the team's group.
    write(here, account, people=PEOPLE[: PEOPLE.index("teams:")])
    assert invalid("acme") == [
        f"{HAND}:{GROUP_LINE + 1}:14: teams[0].members: the members of the team 'Design Studio' come from "
        f"its directory group (at {HAND}:{GROUP_LINE}:22), which `reconciler directory pull` reads into the "
        "directory's file; leave `members` out here"
    ]


def test_a_team_of_the_directorys_file_no_hand_written_team_maps(here: Path) -> None:
    write(
        here,
        edited(
            ACCOUNT,
            '    directory_group: "cn=Design Studio,ou=Groups,dc=acme,dc=example"\n',
            "    members: [ann@acme.example]\n",
        ),
    )
    assert invalid("acme") == [
        f"{GENERATED}:{PEOPLE_TEAM_LINE}:11: teams[0].name: the team 'design studio' is not mapped to a "
        "directory group in the hand-written files; run `reconciler directory pull` to rewrite the file"
    ]


@pytest.mark.parametrize(
    ("old", "new", "at", "field"),
    [
        (
            "    first_name: Ann\n",
            '    first_name: Ann\n    access: [{serial: "399-12345679"}]\n',
            "7:5",
            "users[0].access",
        ),
        ("    last_name: Berg\n", "    last_name: Berg\n    protect: true\n", "12:5", "users[1].protect"),
        (
            "    members: [",
            '    access: [{serial: "399-12345679"}]\n    members: [',
            "14:5",
            "teams[0].access",
        ),
        ("version: 1\n", "version: 1\nunmanaged_users: keep\n", "3:1", "unmanaged_users"),
    ],
)
def test_the_directorys_file_holds_only_what_the_pull_writes(
    here: Path, old: str, new: str, at: str, field: str
) -> None:
    write(here, people=edited(PEOPLE, old, new))
    assert invalid("acme") == [
        f"{GENERATED}:{at}: {field}: the directory's file is written by `reconciler directory pull`; "
        f"move `{field.rsplit('.', 1)[-1]}` to a hand-written file"
    ]


def test_a_user_of_the_directorys_file_with_no_id(here: Path) -> None:
    # A hand-written id for them is not a second id: the directory's file has none to differ from.
    write(
        here,
        edited(ACCOUNT, "    protect: true\n", "    protect: true\n  - {email: cy@acme.example, id: x}\n"),
        people=edited(
            PEOPLE, f"  - id: {CY_ID}\n    email: cy@acme.example\n", "  - email: cy@acme.example\n"
        ),
    )
    assert invalid("acme") == [
        f"{GENERATED}:8:5: users[1].id: the directory's file gives every user id, email, first_name and "
        "last_name, and this one has no id: the file is written by `reconciler directory pull`; run it to "
        "write the file again"
    ]


def test_a_directory_user_given_direct_access_by_hand_is_allowed_and_merged(here: Path) -> None:
    write(here)
    state = load_desired_state(["acme"])
    ann = next(user for user in state.users if user.email == "ann@acme.example")
    assert (ann.first_name, ann.id, ann.access, ann.protect) == (
        "Ann",
        ANN_ID,
        (Access("399-12345679", True),),
        True,
    )
    # ... and so is repeating the directory's id for them.
    write(
        here,
        edited(ACCOUNT, "  - email: Ann@acme.example\n", f"  - email: Ann@acme.example\n    id: {ANN_ID}\n"),
    )
    assert load_desired_state(["acme"]) == state


# --- ids ----------------------------------------------------------------------------------------------


def test_two_users_with_one_id(here: Path) -> None:
    write(here, edited(ACCOUNT, "last_name: Okafor}", f"last_name: Okafor, id: {CY_ID}}}"))
    assert invalid("acme") == [
        f"{HAND}:{BOB_LINE}:71: users[1].id: two users with one id: 'bob@acme.example' has the id '{CY_ID}', as "
        f"'cy@acme.example' has at {GENERATED}:{CY_ID_LINE}:9; an id is one person's"
    ]


def test_two_users_with_one_id_in_an_account_with_no_directory(here: Path) -> None:
    inline = edited(INLINE, CY_ID, ANN_ID)
    (here / "inline.yaml").write_text(inline)
    assert invalid("inline.yaml") == [
        f"inline.yaml:19:34: users[3].id: two users with one id: 'cy@acme.example' has the id '{ANN_ID}', as "
        "'ann@acme.example' has at inline.yaml:14:9; an id is one person's"
    ]


def test_one_email_with_two_ids(here: Path) -> None:
    write(
        here,
        edited(ACCOUNT, "  - email: Ann@acme.example\n", "  - email: Ann@acme.example\n    id: other-id\n"),
    )
    assert invalid("acme") == [
        f"{HAND}:{ANN_LINE + 1}:9: users[2].id: one e-mail with two ids: 'ann@acme.example' has the id "
        f"'other-id' here and '{ANN_ID}' in the directory's file, at {GENERATED}:{ANN_ID_LINE}:9; leave `id` "
        "out here"
    ]


# --- names --------------------------------------------------------------------------------------------


def test_names_missing_on_a_user_the_directory_does_not_declare(here: Path) -> None:
    write(
        here,
        edited(
            ACCOUNT,
            "{email: bob@acme.example, first_name: Bob, last_name: Okafor}",
            "{email: bob@acme.example, first_name: Bob}",
        ),
    )
    assert invalid("acme") == [
        f"{HAND}:{BOB_LINE}:5: users[1].last_name: the user 'bob@acme.example' has no last_name; give first_name and "
        "last_name (only a user the directory's file declares may leave them out)"
    ]


def test_names_missing_when_the_directorys_file_was_not_read(here: Path) -> None:
    write(here, edited(ACCOUNT, "    protect: true\n", "    protect: true\n  - {email: dee@acme.example}\n"))
    assert invalid(HAND) == [
        f"{HAND}:{ANN_LINE}:5: users[2].first_name: the user 'ann@acme.example' has no first_name and no "
        f"last_name; give both (only a user the directory's file declares may leave them out, and that file, "
        f"'{GENERATED}', is not among the files read)",
        f"{HAND}:{ANN_LINE + 3}:5: users[3].first_name: the user 'dee@acme.example' has no first_name and no "
        f"last_name; give both (only a user the directory's file declares may leave them out, and that file, "
        f"'{GENERATED}', is not among the files read)",
        f"{HAND}:{GROUP_LINE + 1}:22: teams[0].directory_group: the directory's file '{GENERATED}' is not among "
        "the files read: read it too, or run `reconciler directory pull` to write it; without it the team "
        "'Design Studio' would have no members",
    ]


def test_names_missing_in_an_account_with_no_directory_are_told_with_its_other_problems(here: Path) -> None:
    (here / "a.yaml").write_text("version: 1\nusers:\n  - {email: a@acme.example, first_name: A}\n")
    (here / "b.yaml").write_text(
        "version: 1\nusers:\n  - {email: b@acme.example, first_name: 7, last_name: B}\n"
    )
    assert invalid("a.yaml", "b.yaml") == [
        "a.yaml:3:5: users[0].last_name: the user 'a@acme.example' has no last_name; give first_name and last_name",
        "b.yaml:3:41: users[0].first_name: expected text, got the number 7; quote it so that YAML keeps it as written",
    ]


# --- the directory block and its file -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ldaps://dc1.acme.example",
        "ldaps://10.0.0.5:3269",
        "ldap://127.0.0.1",
        "ldap://127.8.0.1:3389",
        "ldap://localhost:389",
        "ldap://LocalHost",
        "ldap://[::1]:389",
        "ldap://[::ffff:127.0.0.1]",
    ],
)
def test_a_url_that_is_allowed(here: Path, url: str) -> None:
    write(here, edited(ACCOUNT, "url: ldaps://dc1.acme.example", f"url: {url}"))
    result = validate("acme")
    assert result.exit_code == 0, result.output
    assert directory_of("acme").url == url


@pytest.mark.parametrize(
    "url",
    [
        "ldap://dc1.acme.example",
        "ldap://10.0.0.5:389",
        "ldap://[::2]",
        "ldap://128.0.0.1",
        "ldap://localhost.acme.example",
    ],
)
def test_ldap_in_clear_off_this_machine_is_refused(here: Path, url: str) -> None:
    write(here, edited(ACCOUNT, "url: ldaps://dc1.acme.example", f"url: {url}"))
    assert invalid("acme") == [
        f"{HAND}:4:8: directory.url: ldap:// sends the password in clear; use ldaps:// (ldap:// is allowed only "
        "to this machine)"
    ]


def test_a_port_past_65535_is_refused(here: Path) -> None:
    write(here, edited(ACCOUNT, "url: ldaps://dc1.acme.example", "url: ldaps://dc1.acme.example:70000"))
    assert invalid("acme") == [
        f"{HAND}:4:8: directory.url: 'ldaps://dc1.acme.example:70000' names no port from 1 to 65535; leave the "
        "port out for the usual one"
    ]


def test_two_directory_blocks(here: Path) -> None:
    write(here)
    block = ACCOUNT[ACCOUNT.index("directory:") : ACCOUNT.index("contracts:")]
    (here / "acme" / "more.yaml").write_text("version: 1\n" + block.replace("dc1", "dc2"))
    assert invalid("acme") == [
        f"acme/more.yaml:2:1: directory: the account has one directory, declared once; first at {HAND}:3:3"
    ]


def test_a_directory_group_without_a_directory(here: Path) -> None:
    account = ACCOUNT[: ACCOUNT.index("directory:")] + ACCOUNT[ACCOUNT.index("contracts:") :]
    account = edited(
        account,
        "  - email: Ann@acme.example\n",
        "  - email: Ann@acme.example\n    first_name: Ann\n    last_name: Lee\n",
    )
    write(here, account, people=None)
    group_line = account[: account.index("directory_group:")].count("\n") + 1
    assert invalid("acme") == [
        f"{HAND}:{group_line}:22: teams[0].directory_group: the team 'Design Studio' has a directory_group, but no file "
        "declares the `directory:` block to read it from; declare one, or leave directory_group out and list "
        "the team's members"
    ]


def test_the_directorys_file_missing(here: Path) -> None:
    write(here, people=None)
    lines = invalid("acme")
    assert lines[-1] == (
        f"{HAND}:{GROUP_LINE}:22: teams[0].directory_group: the directory's file '{GENERATED}' is not among the "
        "files read: read it too, or run `reconciler directory pull` to write it; without it the team "
        "'Design Studio' would have no members"
    )
    # Ann's entry, which the missing file would complete, says why it is incomplete.
    assert lines[:-1] == [
        f"{HAND}:{ANN_LINE}:5: users[2].first_name: the user 'ann@acme.example' has no first_name and no "
        f"last_name; give both (only a user the directory's file declares may leave them out, and that file, "
        f"'{GENERATED}', is not among the files read)"
    ]


def test_r8_counts_the_members_the_directory_gives(here: Path) -> None:
    write(here, edited(ACCOUNT, "product: AutoCAD, seats: 3", "product: AutoCAD, seats: 1"))
    assert invalid("acme") == [
        f"{HAND}:15:59: contracts[0].serials[0].seats: the serial '399-12345678' has 1 seat but 2 users have "
        "access to it (R8): 2 through the team 'Design Studio'; add seats, remove access, or take members off "
        "a team"
    ]


def test_a_member_of_a_directory_team_must_be_a_declared_user(here: Path) -> None:
    write(
        here,
        people=edited(PEOPLE, "[ann@acme.example, cy@acme.example]", "[ann@acme.example, zed@acme.example]"),
    )
    assert invalid("acme") == [
        f"{GENERATED}:14:33: teams[0].members[1]: the team member 'zed@acme.example' is not a declared user; "
        "add them under `users`"
    ]


def test_a_user_declared_twice_by_hand_or_by_the_directory(here: Path) -> None:
    write(here, edited(ACCOUNT, "    protect: true\n", "    protect: true\n  - {email: ann@acme.example}\n"))
    assert invalid("acme") == [
        f"{HAND}:{ANN_LINE + 3}:13: users[3].email: the user 'ann@acme.example' is declared twice (e-mails "
        f"ignore case); first at {HAND}:{ANN_LINE}:12"
    ]


def test_the_time_out_is_as_written_or_30_seconds(here: Path) -> None:
    write(
        here,
        edited(
            ACCOUNT, "  output: people/directory.yaml\n", "  output: people/directory.yaml\n  timeout: 2.5\n"
        ),
    )
    assert directory_of("acme").timeout == 2.5
    write(here)
    assert directory_of("acme").timeout == 30


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "url: ldaps://dc1.acme.example",
            "url: https://dc1.acme.example",
            "4:8: directory.url: 'https://dc1.acme.example' is not a directory server's URL; write ldaps://host "
            "or ldaps://host:port",
        ),
        (
            "output: people/directory.yaml",
            "output: people\\directory.yaml",
            "8:11: directory.output: 'people\\\\directory.yaml' is not the path of a .yaml or .yml file from this "
            "file's folder, with / between folders (like people/directory.yaml)",
        ),
        (
            "  flavour: active_directory\n",
            "  flavour: active_directory\n  attributes: {email: user principal}\n",
            "8:23: directory.attributes.email: 'user principal' is not an LDAP attribute's name: a letter, then "
            "letters, digits and hyphens (like mail)",
        ),
        (
            "base_dn: dc=acme,dc=example",
            "base_dn: acme.example",
            "6:12: directory.base_dn: 'acme.example' is not a distinguished name: attribute=value pairs from the "
            "entry up, like cn=Design Studio,ou=Groups,dc=acme,dc=example",
        ),
    ],
)
def test_the_blocks_fields_in_the_users_words(here: Path, old: str, new: str, expected: str) -> None:
    write(here, edited(ACCOUNT, old, new))
    assert invalid("acme") == [f"{HAND}:{expected}"]
