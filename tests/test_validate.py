"""Schema and domain rules: each with a failing example and the exact message a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACCOUNT, EXAMPLES, WriteYaml

from reconciler.core.errors import InvalidDesiredState
from reconciler.core.model import Access, Contract, Coordinator, Serial, Shipping, Team, User
from reconciler.loading import find_sources, load_desired_state, load_sources


def errors(*paths: Path) -> list[str]:
    """The problems found in `paths`, as printed, with file names relative to the first's folder."""
    with pytest.raises(InvalidDesiredState) as raised:
        load_desired_state([str(p) for p in paths])
    return [str(d).replace(str(paths[0].parent) + "/", "") for d in raised.value.diagnostics]


def test_by_file_each_file_has_its_part_and_together_they_are_the_account(write_yaml: WriteYaml) -> None:
    sources, _ = find_sources([str(EXAMPLES / "acme")])
    loaded = load_sources(sources, by_file=True)
    assert loaded.state == load_sources(sources).state
    assert [part.source.name for part in loaded.parts] == [source.name for source in sources]
    assert [part.keys for part in loaded.parts] == [
        ("version", "contracts"),
        ("version", "teams"),
        ("version", "users"),
    ]
    contracts, teams, users = (part.state for part in loaded.parts)
    assert contracts.contracts == loaded.state.contracts and not contracts.users and not contracts.teams
    assert teams.teams == loaded.state.teams and not teams.users
    assert users.users == loaded.state.users and not users.contracts
    alone, _ = find_sources([str(write_yaml(ACCOUNT))])
    one = load_sources(alone, by_file=True)
    assert [part.state for part in one.parts] == [one.state] and one.state == load_sources(alone).state


def edited(old: str, new: str) -> str:
    assert old in ACCOUNT, old
    return ACCOUNT.replace(old, new, 1)


def test_the_base_account_is_valid(write_yaml: WriteYaml) -> None:
    state = load_desired_state([str(write_yaml(ACCOUNT))])
    assert [c.number for c in state.contracts] == ["110001234567"]
    assert [u.email for u in state.users] == ["alice@acme.example", "bob@acme.example", "carol@acme.example"]


# --- the schema -------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "version: 1",
            "version: 2",
            "account.yaml:1:10: version: unsupported version 2; this reconciler reads version 1",
        ),
        (
            "version: 1",
            'version: "1"',
            "account.yaml:1:10: version: expected the number 1, got the text '1'; write it without quotes",
        ),
        (
            "        download: true",
            "        download: yes",
            "account.yaml:27:19: users[1].access[0].download: expected true or false, got the text 'yes'; "
            "YAML 1.2 reads yes, no, on and off as text",
        ),
        (
            '  - number: "110001234567"',
            "  - number: 110001234567",
            "account.yaml:3:13: contracts[0].number: expected text, got the number 110001234567; "
            "quote it so that YAML keeps it as written",
        ),
        (
            "    manager: alice@acme.example",
            "    manager: alice@",
            "account.yaml:4:14: contracts[0].manager: 'alice@' is not a valid e-mail address: "
            "there must be something after the @-sign",
        ),
        (
            "    manager: alice@acme.example",
            "    manager: [alice@acme.example, bob@acme.example]",
            "account.yaml:4:14: contracts[0].manager: a contract has exactly one Contract Manager (R1): "
            "give one e-mail address",
        ),
        (
            "    manager: alice@acme.example\n",
            "",
            "account.yaml:3:5: contracts[0].manager: required field 'manager' is missing",
        ),
        (
            "        product: AutoCAD",
            "        product: AutoCAD\n        colour: red",
            "account.yaml:12:9: contracts[0].serials[0].colour: unknown field 'colour'; "
            "expected one of: coordinator, group, number, product, protect, seats",
        ),
        (
            "        manage_users: true",
            "        manage_user: true",
            "account.yaml:7:9: contracts[0].coordinators[0].manage_user: unknown field 'manage_user'; "
            "did you mean 'manage_users'?",
        ),
        (
            "        seats: 2",
            "        seats: 0",
            "account.yaml:12:16: contracts[0].serials[0].seats: must be at least 1, not 0",
        ),
        (
            "        seats: 2",
            "        seats: 2.5",
            "account.yaml:12:16: contracts[0].serials[0].seats: expected a whole number, got the number 2.5",
        ),
        (
            '      - number: "399-12345679"',
            '      - number: "39912345679"',
            "account.yaml:15:17: contracts[0].serials[1].number: '39912345679' is not a serial number "
            '(like "399-12345678", quoted)',
        ),
        (
            '  - number: "110001234567"',
            '  - number: "11-0001"',
            "account.yaml:3:13: contracts[0].number: '11-0001' is not a contract number (6 to 20 digits, quoted)",
        ),
        (
            "country: US",
            "country: USA",
            "account.yaml:8:66: contracts[0].coordinators[0].shipping.country: 'USA' is not a two-letter "
            "country code (like US, GB or NO)",
        ),
        (
            "    first_name: Carol",
            '    first_name: "Carol\\r\\nBcc: all@acme.example"',
            "account.yaml:29:17: users[2].first_name: must be one line of text; it contains the control "
            "character U+000D",
        ),
        (
            "        group: Design Studio",
            '        group: ""',
            "account.yaml:13:16: contracts[0].serials[0].group: must not be empty",
        ),
        (
            "    last_name: Smith",
            "    last_name: " + "S" * 201,
            "account.yaml:30:16: users[2].last_name: is 201 characters long; at most 200 are allowed",
        ),
    ],
    ids=[
        "version",
        "version-quoted",
        "yes-is-not-a-boolean",
        "unquoted-contract-number",
        "bad-email",
        "two-managers-R1",
        "missing-field",
        "unknown-field",
        "unknown-field-suggestion",
        "no-seats",
        "fractional-seats",
        "serial-format",
        "contract-format",
        "country-code",
        "header-injection",
        "empty-group",
        "long-name",
    ],
)
def test_schema_errors(write_yaml: WriteYaml, old: str, new: str, expected: str) -> None:
    assert errors(write_yaml(edited(old, new))) == [expected]


def test_a_file_that_is_not_a_mapping(write_yaml: WriteYaml) -> None:
    assert errors(write_yaml("- version: 1\n")) == [
        "account.yaml:1:1: the file must be a mapping with `version`, `contracts` and `users`"
    ]


def test_a_missing_version(write_yaml: WriteYaml) -> None:
    assert errors(write_yaml("users: []\n")) == [
        "account.yaml:1:1: version: required field 'version' is missing"
    ]


def test_every_schema_error_at_once_sorted_by_line(write_yaml: WriteYaml) -> None:
    text = edited("        seats: 2", "        seats: -1").replace(
        "    last_name: Smith", "    last_nam: Smith"
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:12:16: contracts[0].serials[0].seats: must be at least 1, not -1",
        "account.yaml:28:5: users[2].last_name: the user 'carol@acme.example' has no last_name; give first_name "
        "and last_name",
        "account.yaml:30:5: users[2].last_nam: unknown field 'last_nam'; did you mean 'last_name'?",
    ]


# --- the domain rules -------------------------------------------------------


def test_manager_must_be_a_declared_user(write_yaml: WriteYaml) -> None:
    text = edited("    manager: alice@acme.example", "    manager: zoe@acme.example")
    assert errors(write_yaml(text)) == [
        "account.yaml:4:14: contracts[0].manager: the Contract Manager 'zoe@acme.example' is not a declared "
        "user; add them under `users`"
    ]


def test_coordinator_must_be_a_declared_user(write_yaml: WriteYaml) -> None:
    text = edited("      - email: bob@acme.example", "      - email: zed@acme.example").replace(
        "        coordinator: bob@acme.example\n", ""
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:6:16: contracts[0].coordinators[0].email: the Software Coordinator 'zed@acme.example' "
        "is not a declared user; add them under `users`"
    ]


def test_coordinator_named_twice_on_a_contract(write_yaml: WriteYaml) -> None:
    text = edited("    serials:", "      - email: BOB@acme.example\n    serials:")
    assert errors(write_yaml(text)) == [
        "account.yaml:9:16: contracts[0].coordinators[1].email: 'bob@acme.example' is named twice as a "
        "coordinator of this contract"
    ]


def test_serial_coordinator_must_be_a_coordinator_of_its_contract(write_yaml: WriteYaml) -> None:
    text = edited("        coordinator: bob@acme.example", "        coordinator: carol@acme.example")
    assert errors(write_yaml(text)) == [
        "account.yaml:14:22: contracts[0].serials[0].coordinator: 'carol@acme.example' is not a coordinator "
        "of this contract; name them under the contract's `coordinators` first"
    ]


def test_serial_coordinator_that_is_the_manager(write_yaml: WriteYaml) -> None:
    text = edited("        coordinator: bob@acme.example", "        coordinator: Alice@acme.example")
    assert errors(write_yaml(text)) == [
        "account.yaml:14:22: contracts[0].serials[0].coordinator: 'Alice@acme.example' is the Contract "
        "Manager, who coordinates every serial not given to a Software Coordinator (R4); leave `coordinator` out"
    ]


def test_access_to_an_undeclared_serial(write_yaml: WriteYaml) -> None:
    text = edited('      - serial: "399-12345679"', '      - serial: "399-99999999"')
    assert errors(write_yaml(text)) == [
        "account.yaml:32:17: users[2].access[0].serial: no contract declares the serial '399-99999999'"
    ]


def test_access_listed_twice(write_yaml: WriteYaml) -> None:
    text = edited(
        '      - serial: "399-12345679"', '      - serial: "399-12345679"\n      - serial: "399-12345679"'
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:33:17: users[2].access[1].serial: access to the serial '399-12345679' is listed twice "
        "for this user"
    ]


def test_seats_are_never_over_assigned(write_yaml: WriteYaml) -> None:
    text = edited(
        "    first_name: Alice\n    last_name: Moreau\n",
        '    first_name: Alice\n    last_name: Moreau\n    access:\n      - serial: "399-12345679"\n',
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:17:16: contracts[0].serials[1].seats: the serial '399-12345679' has 1 seats but 2 users "
        "are given access to it (R8); add seats or remove access"
    ]


def test_users_are_unique_without_regard_to_case(write_yaml: WriteYaml) -> None:
    text = ACCOUNT + "  - email: Carol@ACME.example\n    first_name: C\n    last_name: S\n"
    assert errors(write_yaml(text)) == [
        "account.yaml:33:12: users[3].email: the user 'carol@acme.example' is declared twice (e-mails ignore "
        "case); first at account.yaml:28:12"
    ]


def test_contract_numbers_are_unique(write_yaml: WriteYaml) -> None:
    text = edited("\nusers:", '\n  - number: "110001234567"\n    manager: alice@acme.example\nusers:')
    assert errors(write_yaml(text)) == [
        "account.yaml:18:13: contracts[1].number: the contract '110001234567' is declared twice; "
        "first at account.yaml:3:13"
    ]


def test_serial_numbers_are_unique_across_contracts(write_yaml: WriteYaml) -> None:
    second = (
        '  - number: "110009999999"\n    manager: alice@acme.example\n    serials:\n'
        '      - {number: "399-12345678", product: Maya, seats: 1}\nusers:'
    )
    assert errors(write_yaml(edited("\nusers:", "\n" + second))) == [
        "account.yaml:21:18: contracts[1].serials[0].number: the serial '399-12345678' is declared twice; "
        "first at account.yaml:10:17"
    ]


def test_every_rule_is_reported_at_once(write_yaml: WriteYaml) -> None:
    text = edited("    manager: alice@acme.example", "    manager: zoe@acme.example").replace(
        '      - serial: "399-12345679"', '      - serial: "399-00000000"'
    )
    assert len(errors(write_yaml(text))) == 2


# --- a folder of files ------------------------------------------------------


def split_account(write_yaml: WriteYaml, users_extra: str = "") -> Path:
    """The base account as a folder: contracts in one file, users in a subfolder, and noise."""
    head, users = ACCOUNT.split("\nusers:\n")
    write_yaml(head + "\n", "acct/contracts.yaml")
    write_yaml("version: 1\nusers:\n" + users + users_extra, "acct/people/users.yml")
    write_yaml("not: yaml to read", "acct/notes.txt")
    write_yaml("version: 2", "acct/.hidden/ignored.yaml")
    return write_yaml("version: 1\n", "acct/only-a-version.yaml").parent


def test_a_folder_is_merged(write_yaml: WriteYaml) -> None:
    folder = split_account(write_yaml)
    state = load_desired_state([str(folder)])
    assert len(state.contracts) == 1
    assert len(state.users) == 3


def test_a_duplicate_across_files_names_both_files(write_yaml: WriteYaml) -> None:
    folder = split_account(write_yaml)
    write_yaml(
        "version: 1\nusers:\n  - {email: Bob@acme.example, first_name: B, last_name: O}\n", "acct/z.yaml"
    )
    write_yaml(
        'version: 1\ncontracts:\n  - {number: "110001234567", manager: bob@acme.example}\n', "acct/y.yaml"
    )
    assert errors(folder) == [
        "acct/y.yaml:3:14: contracts[0].number: the contract '110001234567' is declared twice; "
        "first at acct/contracts.yaml:3:13",
        "acct/z.yaml:3:13: users[0].email: the user 'bob@acme.example' is declared twice "
        "(e-mails ignore case); first at acct/people/users.yml:6:12",
    ]


def test_the_same_file_twice_is_read_once(write_yaml: WriteYaml) -> None:
    """Named twice, a file is still one file: not each of its records declared twice."""
    path = write_yaml(ACCOUNT)
    assert load_desired_state([str(path), str(path)]) == load_desired_state([str(path)])
    copy = write_yaml(ACCOUNT, "copy.yaml")  # another file with the same records is a duplicate
    assert any(
        "contracts[0].number: the contract '110001234567' is declared twice" in e for e in errors(path, copy)
    )


def test_an_empty_folder(tmp_path: Path) -> None:
    assert errors(tmp_path / "x") == ["x: cannot read: No such file or directory"]
    (tmp_path / "empty").mkdir()
    assert errors(tmp_path / "empty") == ["empty: no .yaml or .yml files in this folder"]


def test_problems_in_several_files_are_all_reported(write_yaml: WriteYaml) -> None:
    one = write_yaml("version: 1\nusers: [\n", "one.yaml")
    two = write_yaml("version: 3\n", "two.yaml")
    found = errors(one, two)
    assert [line.split(":")[0] for line in found] == ["one.yaml", "two.yaml"]


# --- the model --------------------------------------------------------------


def test_the_model_is_normalised(write_yaml: WriteYaml) -> None:
    text = edited("    manager: alice@acme.example", "    manager: ALICE@Acme.Example")
    state = load_desired_state([str(write_yaml(text))])
    [contract] = state.contracts
    assert contract == Contract(
        number="110001234567",
        manager="alice@acme.example",
        coordinators=(Coordinator("bob@acme.example", True, Shipping("Acme HQ", "1 Main St", "US")),),
        serials=(
            Serial("399-12345678", "AutoCAD", 2, "Design Studio", "bob@acme.example"),
            Serial("399-12345679", "Revit", 1),
        ),
    )
    assert contract.coordinator_of(contract.serials[1]) == "alice@acme.example"
    assert state.users[1] == User(
        "bob@acme.example", "Bob", "Okafor", (Access("399-12345678", download=True),)
    )


# --- characters that reorder or hide text ------------------------------------

#: Each character nobody may write in text, named by the brief's categories, with what the message says
#: it does. Written out here, not read from reconciler/core/characters.py, so the test states the policy.
REORDERS = "which reorders or hides text; remove it"
INVISIBLE = "which is invisible; remove it"
REFUSED_CHARACTERS = [
    ("\u202a", "LEFT-TO-RIGHT EMBEDDING", REORDERS),
    ("\u202b", "RIGHT-TO-LEFT EMBEDDING", REORDERS),
    ("\u202c", "POP DIRECTIONAL FORMATTING", REORDERS),
    ("\u202d", "LEFT-TO-RIGHT OVERRIDE", REORDERS),
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE", REORDERS),
    ("\u2066", "LEFT-TO-RIGHT ISOLATE", REORDERS),
    ("\u2067", "RIGHT-TO-LEFT ISOLATE", REORDERS),
    ("\u2068", "FIRST STRONG ISOLATE", REORDERS),
    ("\u2069", "POP DIRECTIONAL ISOLATE", REORDERS),
    ("\u200e", "LEFT-TO-RIGHT MARK", REORDERS),
    ("\u200f", "RIGHT-TO-LEFT MARK", REORDERS),
    ("\u061c", "ARABIC LETTER MARK", REORDERS),
    ("\u206a", "INHIBIT SYMMETRIC SWAPPING", REORDERS),
    ("\ufff9", "INTERLINEAR ANNOTATION ANCHOR", REORDERS),
    ("\u200b", "ZERO WIDTH SPACE", INVISIBLE),
    ("\u2060", "WORD JOINER", INVISIBLE),
    ("\u2061", "FUNCTION APPLICATION", INVISIBLE),
    ("\u2062", "INVISIBLE TIMES", INVISIBLE),
    ("\u2063", "INVISIBLE SEPARATOR", INVISIBLE),
    ("\u2064", "INVISIBLE PLUS", INVISIBLE),
    ("\u2065", "an unassigned code point", INVISIBLE),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE", INVISIBLE),
    ("\u180e", "MONGOLIAN VOWEL SEPARATOR", INVISIBLE),
    ("\u00ad", "SOFT HYPHEN", INVISIBLE),
    ("\u034f", "COMBINING GRAPHEME JOINER", INVISIBLE),
    ("\u115f", "HANGUL CHOSEONG FILLER", INVISIBLE),
    ("\u3164", "HANGUL FILLER", INVISIBLE),
    ("\uffa0", "HALFWIDTH HANGUL FILLER", INVISIBLE),
    ("\u17b4", "KHMER VOWEL INHERENT AQ", INVISIBLE),
    ("\U0001d173", "MUSICAL SYMBOL BEGIN BEAM", INVISIBLE),
    ("\U000e0001", "LANGUAGE TAG", INVISIBLE),
    ("\U000e0041", "TAG LATIN CAPITAL LETTER A", INVISIBLE),
    ("\U000e007f", "CANCEL TAG", INVISIBLE),
]
#: Every user-written text field of the base account: the line YAML has it on, and where its value starts.
TEXT_FIELDS = [
    ("    first_name: Carol", "users[2].first_name", "29:17"),
    ("        product: AutoCAD", "contracts[0].serials[0].product", "11:18"),
    ("        group: Design Studio", "contracts[0].serials[0].group", "13:16"),
    (
        "shipping: {name: Acme HQ,",
        "contracts[0].coordinators[0].shipping.name",
        "8:26",
    ),
    (
        'address: "1 Main St"',
        "contracts[0].coordinators[0].shipping.address",
        "8:44",
    ),
]


def _with_character(line: str, escape: str) -> str:
    """`line` of the base account with `escape` (a YAML double-quoted escape) inside its value."""
    if line.startswith("shipping"):
        return line.replace("Acme HQ", f'"Acme{escape} HQ"')
    if line.startswith("address"):
        return line.replace("1 Main", f"1{escape} Main")
    key, value = line.split(": ", 1)
    return f'{key}: "{value[:2]}{escape}{value[2:]}"'


@pytest.mark.parametrize(
    ("line", "path", "place"), TEXT_FIELDS, ids=[f[1].rsplit(".")[-1] for f in TEXT_FIELDS]
)
@pytest.mark.parametrize(
    ("char", "name", "does"), REFUSED_CHARACTERS, ids=[f"U+{ord(c[0]):04X}" for c in REFUSED_CHARACTERS]
)
def test_text_fields_refuse_characters_that_reorder_or_hide_text(
    write_yaml: WriteYaml, line: str, path: str, place: str, char: str, name: str, does: str
) -> None:
    escape = f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    text = edited(line, _with_character(line, escape))
    assert errors(write_yaml(text)) == [
        f"account.yaml:{place}: {path}: contains U+{ord(char):04X} ({name}), {does}"
    ]


def test_a_character_written_as_itself_is_refused_too(write_yaml: WriteYaml) -> None:
    text = edited("    first_name: Carol", "    first_name: Car\u200bol")
    assert errors(write_yaml(text)) == [
        "account.yaml:29:17: users[2].first_name: contains U+200B (ZERO WIDTH SPACE), which is invisible; "
        "remove it"
    ]


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with a ZERO WIDTH NON-JOINER
        "\u0915\u094d\u200d\u0937",  # Devanagari, with a ZERO WIDTH JOINER
        "\u0d15\u0d4d\u200d",  # a Malayalam chillu, with a ZERO WIDTH JOINER
        "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # an emoji family, joined by ZWJ
        "\u2764\ufe0f",  # HEAVY BLACK HEART with VARIATION SELECTOR-16, as phones type it
        "\u845b\U000e0100",  # an ideographic variation sequence, as Japanese names use
        "\u1820\u180b",  # Mongolian, with a free variation selector
        "Ren\u00e9e\u00a0Smith",  # a no-break space: visible as a space
    ],
    ids=["zwnj", "zwj", "chillu", "emoji", "vs16", "ivs", "mongolian-fvs", "nbsp"],
)
def test_joiners_and_variation_selectors_are_allowed_in_names(write_yaml: WriteYaml, name: str) -> None:
    text = edited("    first_name: Carol", f'    first_name: "{name}"')
    state = load_desired_state([str(write_yaml(text))])
    assert state.users[2].first_name == name


def test_a_line_feed_at_the_end_is_refused_too(write_yaml: WriteYaml) -> None:
    # Python's `$` matches before a final line feed; the schema's pattern must not end with it.
    text = edited("        product: AutoCAD", '        product: "AutoCAD\\n"')
    assert errors(write_yaml(text)) == [
        "account.yaml:11:18: contracts[0].serials[0].product: must be one line of text; it contains the "
        "control character U+000A"
    ]


# --- teams ------------------------------------------------------------------

#: The base account with a team: Bob holds 399-12345678 directly and through the team, Alice only
#: through it, so its 2 seats are just enough.
TEAMS = """\
teams:
  - name: Design Studio
    description: Architects in Oslo
    members: [alice@acme.example, bob@acme.example]
    access:
      - serial: "399-12345678"
        download: true
"""
TEAMED = ACCOUNT + TEAMS


def teamed(old: str, new: str) -> str:
    assert old in TEAMS, old
    return ACCOUNT + TEAMS.replace(old, new, 1)


def test_an_account_with_a_team_is_valid_and_a_user_with_two_grants_takes_one_seat(
    write_yaml: WriteYaml,
) -> None:
    state = load_desired_state([str(write_yaml(TEAMED))])
    assert state.teams == (
        Team(
            "Design Studio",
            "Architects in Oslo",
            ("alice@acme.example", "bob@acme.example"),
            (Access("399-12345678", download=True),),
        ),
    )


def test_team_names_are_unique_without_regard_to_case(write_yaml: WriteYaml) -> None:
    assert errors(write_yaml(TEAMED + "  - name: DESIGN studio\n")) == [
        "account.yaml:40:11: teams[1].name: the team 'DESIGN studio' is declared twice (team names ignore "
        "case); first at account.yaml:34:11"
    ]


def test_a_team_declared_in_two_files_names_both(write_yaml: WriteYaml) -> None:
    folder = split_account(write_yaml)
    write_yaml("version: 1\n" + TEAMS, "acct/teams/oslo.yaml")
    write_yaml(
        "version: 1\nteams:\n  - {name: design studio, members: [carol@acme.example]}\n", "acct/z.yaml"
    )
    assert errors(folder) == [
        "acct/z.yaml:3:12: teams[0].name: the team 'design studio' is declared twice (team names ignore "
        "case); first at acct/teams/oslo.yaml:3:11"
    ]


def test_a_team_member_must_be_a_declared_user(write_yaml: WriteYaml) -> None:
    text = teamed("bob@acme.example]", "zoe@acme.example]")
    assert errors(write_yaml(text)) == [
        "account.yaml:36:35: teams[0].members[1]: the team member 'zoe@acme.example' is not a declared user; "
        "add them under `users`"
    ]


def test_a_team_member_listed_twice(write_yaml: WriteYaml) -> None:
    text = teamed("bob@acme.example]", "bob@acme.example, Alice@ACME.example]")
    assert errors(write_yaml(text)) == [
        "account.yaml:36:53: teams[0].members[2]: 'alice@acme.example' is listed twice as a member of this team"
    ]


def test_team_access_to_an_undeclared_serial(write_yaml: WriteYaml) -> None:
    text = teamed('      - serial: "399-12345678"', '      - serial: "399-99999999"')
    assert errors(write_yaml(text)) == [
        "account.yaml:38:17: teams[0].access[0].serial: no contract declares the serial '399-99999999'"
    ]


def test_team_access_listed_twice(write_yaml: WriteYaml) -> None:
    text = TEAMED + '      - serial: "399-12345678"\n'
    assert errors(write_yaml(text)) == [
        "account.yaml:40:17: teams[0].access[1].serial: access to the serial '399-12345678' is listed twice "
        "for this team"
    ]


def test_a_team_that_over_fills_a_serial_names_itself_and_the_counts(write_yaml: WriteYaml) -> None:
    text = teamed("bob@acme.example]", "bob@acme.example, carol@acme.example]")
    assert errors(write_yaml(text)) == [
        "account.yaml:12:16: contracts[0].serials[0].seats: the serial '399-12345678' has 2 seats but 3 users "
        "have access to it (R8): 1 directly, 3 through the team 'Design Studio' (a user with access more "
        "than one way counts once); add seats, remove access, or take members off a team"
    ]


def test_each_team_that_gives_an_over_filled_serial_is_named(write_yaml: WriteYaml) -> None:
    # Revit's one seat is Carol's directly; two teams give it to Alice and to Bob besides.
    text = TEAMED + (
        '  - {name: Oslo, members: [bob@acme.example], access: [{serial: "399-12345679"}]}\n'
        '  - {name: bergen, members: [alice@acme.example], access: [{serial: "399-12345679"}]}\n'
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:17:16: contracts[0].serials[1].seats: the serial '399-12345679' has 1 seat but 3 users "
        "have access to it (R8): 1 directly, 1 through the team 'bergen', 1 through the team 'Oslo'; "
        "add seats, remove access, or take members off a team"
    ]


def test_a_serial_only_a_team_gives_is_counted_too(write_yaml: WriteYaml) -> None:
    text = edited('    access:\n      - serial: "399-12345679"\n', "") + (
        "teams:\n  - {name: Revit users, members: [alice@acme.example, carol@acme.example], "
        'access: [{serial: "399-12345679"}]}\n'
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:17:16: contracts[0].serials[1].seats: the serial '399-12345679' has 1 seat but 2 users "
        "have access to it (R8): 2 through the team 'Revit users'; add seats, remove access, or take members "
        "off a team"
    ]


def test_a_team_without_members_leaves_the_seat_count_as_it_was(write_yaml: WriteYaml) -> None:
    text = (
        edited(
            "    first_name: Alice\n    last_name: Moreau\n",
            '    first_name: Alice\n    last_name: Moreau\n    access:\n      - serial: "399-12345679"\n',
        )
        + 'teams:\n  - {name: Nobody yet, access: [{serial: "399-12345679"}]}\n'
    )
    assert errors(write_yaml(text)) == [
        "account.yaml:17:16: contracts[0].serials[1].seats: the serial '399-12345679' has 1 seats but 2 users "
        "are given access to it (R8); add seats or remove access"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  - name: Design Studio",
            "  - name: 0755",
            "account.yaml:34:11: teams[0].name: expected text, got the number 755; quote it so that YAML keeps "
            "it as written",
        ),
        (
            "    description: Architects in Oslo",
            '    description: "Architects\\r\\nBcc: all@acme.example"',
            "account.yaml:35:18: teams[0].description: must be one line of text; it contains the control "
            "character U+000D",
        ),
    ],
    ids=["yaml-1.1-octal", "header-injection"],
)
def test_team_text_is_text_like_every_name(write_yaml: WriteYaml, old: str, new: str, expected: str) -> None:
    assert errors(write_yaml(teamed(old, new))) == [expected]
