"""What expired, as each report shows it, and dates through `export` and the CSV and back.

A plan of an account whose dates have passed (`plan --today`) says on each
removal why (`expired DAY`) and lists what expired in a section of its own,
in text, in brief, in markdown, in JSON and in HTML; a blocked one keeps its
block reason. `export` writes the dates where the schema puts them, quoted,
and a plan of the export changes nothing; `export --format csv` writes them
and `import csv` reads them back, and a bad date in a CSV is an error on its
row and column. Run on SQLite and PostgreSQL, through the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import RESELLER, WriteYaml
from test_html import ALLOWED, structure

from reconciler.cli import cli
from reconciler.core.kinds import Effect, Kind
from reconciler.core.model import build_state
from reconciler.core.plan import Action
from reconciler.core.wording import details, sentence
from reconciler.loading.events import parse
from reconciler.loading.files import Source

ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    ends: 2027-12-31
    coordinators:
      - email: bob@acme.example
        manage_users: true
      - email: sam@acme.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 10
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 10
        coordinator: sam@acme.example
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
  - email: sam@acme.example
    first_name: Sam
    last_name: Ng
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345678"
        download: true
        expires: 2027-01-15
      - serial: "399-12345679"
  - email: dan@acme.example
    first_name: Dan
    last_name: Diaz
    expires: "2027-02-01"
    access:
      - serial: "399-12345678"
  - email: eve@acme.example
    first_name: Eve
    last_name: Evans
teams:
  - name: Temps
    members:
      - {email: eve@acme.example, expires: 2027-03-01}
      - dan@acme.example
    access:
      - serial: "399-12345679"
"""
#: Bob coordinates AutoCAD and may manage users: the Revit access a team gave is not his to take away.
BOB = "bob@acme.example"
#: The day after every date of the account.
AFTER = "2027-03-02"
REVIT_BLOCKED = (
    "only the Contract Manager of contract 110001234567 (alice@acme.example) or a reseller "
    "(orders@cadpartners.example) may take {user}'s access to Revit (serial 399-12345679) away"
)


def _run(runner: CliRunner, args: list[str], store_url: str, actor: str = RESELLER) -> Any:
    return runner.invoke(cli, [*args, "--store", store_url, "--actor", actor])


@pytest.fixture
def applied(runner: CliRunner, write_yaml: WriteYaml, store_url: str) -> Path:
    """The account applied on 2027-01-15, the first of its last days: nothing has ended yet."""
    path = write_yaml(ACCOUNT)
    result = _run(runner, ["apply", str(path), "--today", "2027-01-15", "--auto-approve"], store_url)
    assert result.exit_code == 0, result.output
    return path


def _report(runner: CliRunner, path: Path, store_url: str, *extra: str) -> str:
    """The plan of `path` the day after everything ended, as Bob, in the format `extra` asks."""
    args = ["plan", str(path), "--today", AFTER, "--max-removal-ratio", "1", *extra]
    result = _run(runner, args, store_url, BOB)
    assert result.exit_code == 3, result.output  # two removals are Bob's to ask for, not to make
    return str(result.stdout)


# --- plan reports ---------------------------------------------------------------------------------


def test_text_marks_each_expired_removal_and_lists_them_by_day(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    lines = _report(runner, applied, store_url).splitlines()
    waits = "      held back: waits on access.revoke {} on 399-12345679, which is blocked"
    assert lines[2:16] == [
        "  - team.member_remove dan@acme.example in team Temps (expired 2027-02-01)",
        waits.format("dan@acme.example"),
        "  - team.member_remove eve@acme.example in team Temps (expired 2027-03-01)",
        waits.format("eve@acme.example"),
        "  - access.revoke carol@acme.example on 399-12345678 (expired 2027-01-15)",
        "  - access.revoke dan@acme.example on 399-12345678 (expired 2027-02-01)",
        "  - access.revoke dan@acme.example on 399-12345679: via team:Temps (expired 2027-02-01)",
        "      blocked: " + REVIT_BLOCKED.format(user="dan@acme.example"),
        "  - access.revoke eve@acme.example on 399-12345679: via team:Temps (expired 2027-03-01)",
        "      blocked: " + REVIT_BLOCKED.format(user="eve@acme.example"),
        "  - user.remove dan@acme.example (expired 2027-02-01)",
        waits.format("dan@acme.example"),
        "",
        "Expired: 7 entries taken away after their last day:",
    ]
    assert lines[16:24] == [
        "  - access.revoke carol@acme.example on 399-12345678: expired 2027-01-15",
        "  - team.member_remove dan@acme.example in team Temps: expired 2027-02-01",
        "  - access.revoke dan@acme.example on 399-12345678: expired 2027-02-01",
        "  - access.revoke dan@acme.example on 399-12345679: expired 2027-02-01 (blocked)",
        "  - user.remove dan@acme.example: expired 2027-02-01",
        "  - team.member_remove eve@acme.example in team Temps: expired 2027-03-01",
        "  - access.revoke eve@acme.example on 399-12345679: expired 2027-03-01 (blocked)",
        "",
    ]
    assert lines[24] == "Plan: 0 to add, 0 to change, 7 to remove, 2 blocked."


def test_the_brief_counts_what_expired_by_day_and_marks_each_action_it_shows(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    text = _report(runner, applied, store_url, "--summary", "--show", "1")
    assert "    - team.member_remove dan@acme.example in team Temps (expired 2027-02-01)\n" in text
    assert (
        "\nExpired: 7 entries taken away after their last day, counted by that day:\n"
        "  2027-01-15: 1\n"
        "  2027-02-01: 4\n"
        "  2027-03-01: 2\n"
        "\nBlocked: 2 actions the actor may not perform, every one:\n"
        "  - access.revoke dan@acme.example on 399-12345679: via team:Temps (expired 2027-02-01)\n"
        "      blocked: " + REVIT_BLOCKED.format(user="dan@acme.example") + "\n"
    ) in text
    markdown = _report(runner, applied, store_url, "--summary", "--format", "markdown")
    assert (
        "#### Expired: 7 entries taken away after their last day\n\n"
        "| last day | entries |\n| --- | ---: |\n"
        "| 2027-01-15 | 1 |\n| 2027-02-01 | 4 |\n| 2027-03-01 | 2 |\n"
    ) in markdown


def test_markdown_has_a_section_of_what_expired_and_says_it_on_each_line(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    markdown = _report(runner, applied, store_url, "--format", "markdown")
    at = "@\u200d"  # a mention made inert
    section = (
        "#### Expired: 7 entries taken away after their last day\n\n"
        "Each was given until a day (`expires`) that has passed; the removal guard counts them as any "
        "removal.\n\n"
        "| action | on | last day |\n"
        "| --- | --- | --- |\n"
        f"| `access.revoke` | carol{at}acme.example on 399-12345678 | 2027-01-15 |\n"
        f"| `team.member_remove` | dan{at}acme.example in team Temps | 2027-02-01 |\n"
        f"| `access.revoke` | dan{at}acme.example on 399-12345678 | 2027-02-01 |\n"
        f"| `access.revoke` (blocked) | dan{at}acme.example on 399-12345679 | 2027-02-01 |\n"
        f"| `user.remove` | dan{at}acme.example | 2027-02-01 |\n"
        f"| `team.member_remove` | eve{at}acme.example in team Temps | 2027-03-01 |\n"
        f"| `access.revoke` (blocked) | eve{at}acme.example on 399-12345679 | 2027-03-01 |\n"
    )
    assert section in markdown
    # After the blocked actions, before the groups.
    assert markdown.index("#### Blocked") < markdown.index(section) < markdown.index("#### Users")
    # The removed record's own last day goes without saying: the line says when it ended.
    assert "- carol@acme.example on 399-12345678: download yes   (expired 2027-01-15)\n" in markdown
    assert "- dan@acme.example: Dan Diaz   (expired 2027-02-01)   (held back: waits on" in markdown
    assert (
        "- eve@acme.example on 399-12345679: via team:Temps   (expired 2027-03-01)   (blocked)\n" in markdown
    )
    # A blocked removal of what expired keeps its reason: who may perform it.
    blocked_row = REVIT_BLOCKED.format(user="eve@acme.example").replace("@", at)
    assert f"| the Contract Manager | {blocked_row} |\n" in markdown


def test_json_gives_each_removal_its_day_and_a_blocked_one_its_block_reason(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    plan = json.loads(_report(runner, applied, store_url, "--format", "json"))
    found = {
        (a["kind"], a["target"]["user"], a["target"].get("serial", a["target"].get("team"))): (
            a["expired"],
            a["permitted"],
            a["reason"],
        )
        for a in plan["actions"]
    }
    assert found == {
        ("team.member_remove", "dan@acme.example", "Temps"): ("2027-02-01", True, "expired 2027-02-01"),
        ("team.member_remove", "eve@acme.example", "Temps"): ("2027-03-01", True, "expired 2027-03-01"),
        ("access.revoke", "carol@acme.example", "399-12345678"): ("2027-01-15", True, "expired 2027-01-15"),
        ("access.revoke", "dan@acme.example", "399-12345678"): ("2027-02-01", True, "expired 2027-02-01"),
        ("access.revoke", "dan@acme.example", "399-12345679"): (
            "2027-02-01",
            False,
            REVIT_BLOCKED.format(user="dan@acme.example"),
        ),
        ("access.revoke", "eve@acme.example", "399-12345679"): (
            "2027-03-01",
            False,
            REVIT_BLOCKED.format(user="eve@acme.example"),
        ),
        ("user.remove", "dan@acme.example", None): ("2027-02-01", True, "expired 2027-02-01"),
    }


def test_html_leads_each_expired_removal_with_why_and_has_its_section(
    runner: CliRunner, applied: Path, store_url: str
) -> None:
    page = _report(runner, applied, store_url, "--format", "html")
    parsed = structure(page)
    assert set(parsed.tags) <= ALLOWED
    assert page.count("<h2>Expired: 7 entries taken away after their last day</h2>") == 1
    section = page[page.index('<section class="expired-box">') :]
    section = section[: section.index("</section>")]
    assert section.count("<tr class=") == 7
    assert section.count('<span class="tag blocked">blocked</span>') == 2
    carol = (
        "Take <bdi>Carol</bdi> <bdi>Smith</bdi>&#39;s access to <bdi>AutoCAD</bdi> (serial "
        "<bdi>399-12345678</bdi>) away (expired 2027-01-15)"
    )
    assert f'<td data-label="action" class="sentence"><span class="said">{carol}</span>' in section
    assert '<td data-label="last day">2027-01-15</td>' in section
    # The same sentence leads the action where its contract's group lists it.
    assert page.count(carol) == 2
    # The blocked removal keeps its reason, in the blocked box, which comes first.
    assert page.index('class="blocked-box"') < page.index('class="expired-box"')
    assert '<td data-label="why">only the Contract Manager of contract 110001234567' in page


def test_a_moved_or_dropped_team_membership_date_reads_in_every_report(
    runner: CliRunner, applied: Path, store_url: str, write_yaml: WriteYaml
) -> None:
    moved = write_yaml(ACCOUNT.replace("expires: 2027-03-01}", "expires: 2027-04-01}"), "moved.yaml")
    args = ["plan", str(moved), "--today", "2027-01-15"]
    text = _run(runner, args, store_url).stdout
    assert "  ~ team.member_update eve@acme.example in team Temps: expires 2027-03-01 → 2027-04-01\n" in text
    assert "Expired" not in text
    markdown = _run(runner, [*args, "--format", "markdown"], store_url).stdout
    assert "**members**: 1 to change\n\n```diff\n! eve@acme.example in team Temps: expires 2027-03-01 → " in (
        markdown
    )
    page = _run(runner, [*args, "--format", "html"], store_url).stdout
    assert (
        "Change the end of <bdi>Eve</bdi> <bdi>Evans</bdi>&#39;s place in team <bdi>Temps</bdi>, until "
        "<bdi>2027-04-01</bdi> (was until <bdi>2027-03-01</bdi>)"
    ) in page
    plan = json.loads(_run(runner, [*args, "--format", "json"], store_url).stdout)
    [action] = plan["actions"]
    assert (action["kind"], action["before"], action["after"]) == (
        "team.member_update",
        {"expires": "2027-03-01"},
        {"expires": "2027-04-01"},
    )
    dropped = write_yaml(
        ACCOUNT.replace("{email: eve@acme.example, expires: 2027-03-01}", "eve@acme.example"), "dropped.yaml"
    )
    text = _run(runner, ["plan", str(dropped), "--today", "2027-01-15"], store_url).stdout
    assert "  ~ team.member_update eve@acme.example in team Temps: expires 2027-03-01 → (none)\n" in text


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_reads_with_a_date_set_moved_and_expired(kind: Kind) -> None:
    target = {"contract": "1", "serial": "399-12345678", "coordinator": "b@x.example", "user": "u@x.example"}
    target |= {"team": "T"}
    record = {"first_name": "U", "last_name": "X", "coordinator": None, "download": False}
    before, after = {**record, "expires": "2027-03-01"}, {**record, "expires": "2027-04-01"}
    if kind.effect is Effect.REMOVE:
        action = Action(kind, target, before, None, expired="2027-03-01")
        assert sentence(action).endswith(" (expired 2027-03-01)")
    elif kind.effect is Effect.ADD:
        action = Action(kind, target, None, after)
        assert sentence(action).endswith(", until 2027-04-01")
        assert "expires 2027-04-01" in details(action)
    else:
        action = Action(kind, target, before, after)
        assert sentence(action).endswith(", until 2027-04-01 (was until 2027-03-01)")
        assert "expires 2027-03-01 → 2027-04-01" in details(action)
        dropped = Action(kind, target, before, record)
        assert sentence(dropped).endswith(", for good (was until 2027-03-01)")
        assert "expires 2027-03-01 → (none)" in details(dropped)
    assert "{" not in sentence(action)


# --- export ---------------------------------------------------------------------------------------


def test_export_writes_each_date_quoted_where_the_schema_puts_it_and_plans_to_no_change(
    runner: CliRunner, applied: Path, store_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["export", "--store", store_url])
    assert result.exit_code == 0, result.output
    exported = result.stdout
    assert (
        "  - email: carol@acme.example\n"
        "    first_name: Carol\n"
        "    last_name: Smith\n"
        "    access:\n"
        '      - serial: "399-12345678"\n'
        "        download: true\n"
        '        expires: "2027-01-15"\n'
        '      - serial: "399-12345679"\n'
    ) in exported
    assert (
        '  - email: dan@acme.example\n    first_name: Dan\n    last_name: Diaz\n    expires: "2027-02-01"\n'
    ) in exported
    assert (
        "    members:\n"
        "      - dan@acme.example\n"
        "      - email: eve@acme.example\n"
        '        expires: "2027-03-01"\n'
    ) in exported
    # YAML 1.1 (PyYAML) reads each date as the text it is, as YAML 1.2 does.
    document = yaml.safe_load(exported)
    assert document["users"][2]["access"][0]["expires"] == "2027-01-15"
    assert document["teams"][0]["members"][1] == {"email": "eve@acme.example", "expires": "2027-03-01"}
    path = tmp_path / "exported.yaml"
    path.write_text(exported, encoding="utf-8")
    for today in ("2027-01-15", AFTER):  # the same plan as of the file it came from, on any day
        of_export = _run(runner, ["plan", str(path), "--today", today, "--format", "json"], store_url)
        of_file = _run(runner, ["plan", str(applied), "--today", today, "--format", "json"], store_url)
        assert json.loads(of_export.stdout)["actions"] == json.loads(of_file.stdout)["actions"]
    assert json.loads(of_export.stdout)["actions"]  # after the dates, something is taken away
    unchanged = _run(runner, ["plan", str(path), "--today", "2027-01-15", "--detailed-exitcode"], store_url)
    assert unchanged.exit_code == 0, unchanged.output
    # The export is in fmt's layout already; a protected user's date comes after `protect`.
    assert runner.invoke(cli, ["fmt", "--check", str(path)]).exit_code == 0


def test_fmt_keeps_the_comments_of_a_dated_member_and_orders_the_dates_as_export_does(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    path = write_yaml(
        ACCOUNT.replace(
            '    first_name: Dan\n    last_name: Diaz\n    expires: "2027-02-01"\n',
            '    expires: "2027-02-01"  # leaves in February\n    protect: true\n'
            "    first_name: Dan\n    last_name: Diaz\n",
        ).replace(
            "      - {email: eve@acme.example, expires: 2027-03-01}\n",
            "      # a temp\n      - {email: Eve@acme.example, expires: 2027-03-01}  # till March\n",
        )
    )
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert (
        "  - email: dan@acme.example\n"
        "    first_name: Dan\n"
        "    last_name: Diaz\n"
        "    protect: true\n"
        '    expires: "2027-02-01"  # leaves in February\n'
    ) in text
    assert (
        "    members:\n"
        "      - dan@acme.example\n"
        "      # a temp\n"
        "      - email: eve@acme.example  # till March\n"
        '        expires: "2027-03-01"\n'
    ) in text


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_export_writes_the_dates_and_import_reads_them_back(
    runner: CliRunner, applied: Path, store_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["export", "--format", "csv", "--store", store_url])
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")
    rows = text.split("\r\n")
    assert rows[0].endswith(",download,via,expires,user_expires")
    assert (
        "carol@acme.example,Carol,Smith,invited,110001234567,399-12345678,AutoCAD,,true,direct,2027-01-15,"
        in rows
    )
    assert "carol@acme.example,Carol,Smith,invited,110001234567,399-12345679,Revit,,false,direct,," in rows
    assert (
        "dan@acme.example,Dan,Diaz,invited,110001234567,399-12345678,AutoCAD,,false,direct,,2027-02-01"
        in rows
    )
    assert (
        "dan@acme.example,Dan,Diaz,invited,110001234567,399-12345679,Revit,,false,team:Temps,,2027-02-01"
        in rows
    )
    csv_path = tmp_path / "users.csv"
    csv_path.write_text(text, encoding="utf-8", newline="")
    imported = runner.invoke(cli, ["import", "csv", str(csv_path)])
    assert imported.exit_code == 0, imported.output
    # The users come back with their own dates, as the YAML had them (team memberships stay in the YAML).
    read = build_state([parse(Source("users.yaml", imported.stdout.encode())).document]).users
    declared = build_state([parse(Source("account.yaml", ACCOUNT.encode())).document]).users
    assert read == declared


def test_bad_dates_in_a_csv_are_errors_on_their_row_and_column(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    path = write_yaml(
        "email,first_name,last_name,serial,download,via,expires,user_expires\n"
        "carol@acme.example,Carol,Smith,399-12345678,true,direct,31/03/2027,\n"
        "dan@acme.example,Dan,Diaz,,,,,2027-02-30\n"
        "erin@acme.example,Erin,Eng,399-12345678,true,direct,2027-03-31,2027-05-01\n"
        "erin@acme.example,Erin,Eng,399-12345679,true,direct,,2027-05-02\n"
        "fay@acme.example,Fay,Fox,399-12345678,false,direct,2027-03-31,\n"
        "fay@acme.example,Fay,Fox,399-12345678,false,direct,,\n",
        "users.csv",
    )
    result = runner.invoke(cli, ["import", "csv", str(path)])
    assert (result.exit_code, result.stdout) == (1, "")
    not_a_date = (
        "is not a date: write the last day as YYYY-MM-DD, like 2027-03-31, a day the calendar has (in a "
        "spreadsheet, format the column as text so that it keeps that form)"
    )
    assert result.stderr.splitlines() == [
        f"{path}:2:7: expires: '31/03/2027' {not_a_date}",
        f"{path}:3:8: user_expires: '2027-02-30' {not_a_date}",
        f"{path}:5:8: user_expires: 'erin@acme.example' expires 2027-05-02 here but 2027-05-01 at {path}:4; "
        "one person has one last day: give their rows the same one",
        f"{path}:7:7: expires: access to the serial '399-12345678' for 'fay@acme.example' is for good here "
        f"but until 2027-03-31 at {path}:6; keep one",
        "Invalid: 4 errors in 1 file.",
    ]


def test_a_date_past_the_contracts_end_is_placed_on_its_csv_cell(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    contracts = write_yaml(ACCOUNT.partition("users:\n")[0], "contracts.yaml")
    path = write_yaml(
        "email,first_name,last_name,serial,expires,user_expires\n"
        "alice@acme.example,Alice,Moreau,,,\n"
        "bob@acme.example,Bob,Okafor,,,\n"
        "sam@acme.example,Sam,Ng,,,\n"
        "carol@acme.example,Carol,Smith,399-12345678,2028-01-31,\n",
        "users.csv",
    )
    result = runner.invoke(cli, ["import", "csv", str(path), "--contracts", str(contracts)])
    assert result.exit_code == 1, result.output
    [problem, total] = result.stderr.splitlines()
    assert problem.startswith(f"{path}:5:5: expires: ") and "2027-12-31" in problem, problem
    assert total == "Invalid: 1 error in 1 file."
