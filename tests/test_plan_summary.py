"""`plan --summary`, `show --summary`, apply's brief before its question on a short terminal, and where
a cut pull-request comment says the rest of the plan is: as a user runs them, on real stores."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, RESELLER, ROOT, WriteYaml, apply_yaml
from terminal import run_on_terminal

from reconciler.cli import cli
from reconciler.report.markdown import COMMENT_LIMIT, PLAN_MARKER
from reconciler.store import open_store

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from generate import write_account

ACME = str(EXAMPLES / "acme")

#: `plan examples/acme --summary --show 2` on a new store, after its first line (which names the lineage).
ACME_BRIEF = """\

By contract:
  contract        to add  to change  to remove  blocked
  (users, teams)      16          0          0        0
  110001234567        21          3          0        0
  110009876543        10          1          0        0

By kind, the first 2 of each:
  user.add: 13
    + user.add alice.moreau@acme.example: Alice Moreau
    + user.add bob.okafor@acme.example: Bob Okafor
      … and 11 more
  contract.create: 2
    + contract.create 110001234567: manager alice.moreau@acme.example, ends 2027-03-31
    + contract.create 110009876543: manager alice.moreau@acme.example
  coordinator.add: 3
    + coordinator.add bob.okafor@acme.example on 110001234567: manage_users yes, shipping Acme HQ, 1 Main St, Springfield, IL 62701, US
    + coordinator.add dana.lund@acme.example on 110001234567: shipping Acme Oslo, Karl Johans gate 1, 0154 Oslo, NO
      … and 1 more
  serial.create: 6
    + serial.create 399-12345678: product AutoCAD, seats 10, group Design Studio
    + serial.create 399-12345679: product Revit, seats 5, group Design Studio
      … and 4 more
  serial.assign_coordinator: 4
    ~ serial.assign_coordinator 399-12345678: coordinator (none) → bob.okafor@acme.example
    ~ serial.assign_coordinator 399-12345679: coordinator (none) → bob.okafor@acme.example
      … and 2 more
  team.create: 1
    + team.create team Design Studio: description Architects in the Springfield studio
  team.member_add: 2
    + team.member_add carol.smith@acme.example in team Design Studio
    + team.member_add farah.haddad@acme.example in team Design Studio: expires 2027-12-31
  team.access_grant: 2
    + team.access_grant team Design Studio on 399-12345678
    + team.access_grant team Design Studio on 399-12345679
  access.grant: 18
    + access.grant alice.moreau@acme.example on 399-12345678: download yes
    + access.grant bob.okafor@acme.example on 399-12345678: download yes
      … and 16 more

Plan: 47 to add, 4 to change, 0 to remove, 0 blocked.
E-mail: 13 people will hear of 35 changes, in one message each.
"""


def plan(store_url: str, *args: str, actor: str = RESELLER) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["plan", *args, "--actor", actor, "--store", store_url])
    return result.exit_code, result.stdout, result.stderr


def test_plan_summary_of_the_example(store_url: str, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    code, out, _ = plan(store_url, ACME, "--summary", "--show", "2", "--out", str(saved))
    lineage = open_store(store_url).snapshot().lineage
    assert code == 0
    assert out == (
        f"Plan for store {lineage} at revision 0, as {RESELLER}, in brief:\n"
        + ACME_BRIEF
        + "In brief: 17 of 51 actions shown. Run the same command without --summary to see every action, "
        f"or `reconciler show {saved}`.\n"
        f"Saved the plan to {saved}; apply it with `reconciler apply {saved}`.\n"
    )
    # The saved plan is whole, and `show --summary` of it says the same, byte for byte, but how to see all.
    shown = CliRunner().invoke(cli, ["show", str(saved), "--summary", "--show", "2"])
    assert shown.exit_code == 0
    assert shown.stdout == (
        f"Plan for store {lineage} at revision 0, as {RESELLER}, in brief:\n"
        + ACME_BRIEF
        + "In brief: 17 of 51 actions shown. Run the same command without --summary to see every action.\n"
    )
    assert len(CliRunner().invoke(cli, ["show", str(saved)]).stdout.splitlines()) == 2 + 51 + 3


def test_the_same_plan_gives_the_same_summary(store_url: str) -> None:
    first = plan(store_url, ACME, "--summary")
    assert first[0] == 0 and "By kind, the first 5 of each:\n" in first[1]
    assert plan(store_url, ACME, "--summary") == first
    markdown = plan(store_url, ACME, "--summary", "--format", "markdown")
    assert plan(store_url, ACME, "--summary", "--format", "markdown") == markdown


def test_a_summary_that_shows_everything_says_so(store_url: str, write_yaml: WriteYaml) -> None:
    code, out, _ = plan(store_url, str(write_yaml(ACCOUNT)), "--summary")
    assert code == 0
    assert out.endswith(
        "Plan: 9 to add, 1 to change, 0 to remove, 0 blocked.\n"
        "E-mail: 3 people will hear of 6 changes, in one message each.\n"
        "In brief: all 10 actions shown.\n"
    )
    assert "… and" not in out


def test_show_0_only_counts(store_url: str) -> None:
    code, out, _ = plan(store_url, ACME, "--summary", "--show", "0")
    assert code == 0
    kinds = out.split("By kind:\n", 1)[1].split("\n\n", 1)[0]
    assert kinds.splitlines() == [
        "  user.add: 13",
        "  contract.create: 2",
        "  coordinator.add: 3",
        "  serial.create: 6",
        "  serial.assign_coordinator: 4",
        "  team.create: 1",
        "  team.member_add: 2",
        "  team.access_grant: 2",
        "  access.grant: 18",
    ]
    assert out.endswith(
        "In brief: 0 of 51 actions shown. Run the same command without --summary to see every action.\n"
    )


def test_every_blocked_action_is_in_the_summary_with_its_reason(
    store_url: str, write_yaml: WriteYaml
) -> None:
    apply_yaml(store_url, ACCOUNT)
    # Alice manages the contract: she may not name its new manager (the reseller's), nor add serials.
    changed = ACCOUNT.replace("manager: alice@acme.example", "manager: bob@acme.example").replace(
        "        seats: 1\n",
        '        seats: 1\n      - number: "399-12345680"\n        product: Maya\n        seats: 1\n',
    )
    code, out, _ = plan(
        store_url, str(write_yaml(changed)), "--summary", "--show", "0", actor="alice@acme.example"
    )
    assert code == 3
    lines = out.splitlines()
    assert "  contract.manager_change: 1 (1 blocked, below)" in lines
    assert "  serial.create: 1 (1 blocked, below)" in lines
    at = lines.index("Blocked: 2 actions the actor may not perform, every one:")
    assert (
        lines[at + 1]
        == "  ~ contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example"
    )
    assert lines[at + 2] == (
        f"      blocked: only a reseller ({RESELLER}) may change the Contract Manager of contract 110001234567; "
        "a Contract Manager can only request it (apply --request asks the reseller)"
    )
    assert lines[at + 3] == "  + serial.create 399-12345680: product Maya, seats 1"
    assert lines[at + 4] == (
        f"      blocked: only a reseller ({RESELLER}) may add Maya (serial 399-12345680); "
        "a Contract Manager can only request it (apply --request asks the reseller)"
    )
    assert lines[at + 5 :] == [
        "",
        "Plan: 1 to add, 1 to change, 0 to remove, 2 blocked.",
        "E-mail: 3 people will hear of 3 changes, in one message each.",
        "Blocked: 2 actions the actor may not perform: apply refuses the plan without --request, which "
        "applies the rest and asks whoever may perform them.",
        "In brief: all 2 actions shown.",
    ]
    markdown = plan(
        store_url, str(write_yaml(changed)), "--summary", "--format", "markdown", actor="alice@acme.example"
    )
    assert "#### Blocked: 2 actions the actor may not perform" in markdown[1]
    assert "| `contract.manager_change` | 110001234567 | the reseller |" in markdown[1]
    assert "- `serial.create`: 1, 1 blocked (above)\n" in markdown[1]


def test_summary_in_markdown(store_url: str, tmp_path: Path) -> None:
    code, out, _ = plan(
        store_url, ACME, "--summary", "--show", "1", "--format", "markdown", "--out", str(tmp_path / "p.json")
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [
        PLAN_MARKER,
        "### reconciler plan, in brief: 47 to add, 4 to change, 0 to remove, 0 blocked",
    ]
    assert (
        "**In brief:** 9 of 51 actions are shown. Run the same command without `--summary` to see every action; "
        "`reconciler show p.json` prints every action of the saved plan."
    ) in lines
    table = lines[lines.index("#### By contract") + 2 : lines.index("#### By contract") + 7]
    assert table == [
        "| contract | to add | to change | to remove | blocked |",
        "| --- | ---: | ---: | ---: | ---: |",
        "| (users, teams) | 16 | 0 | 0 | 0 |",
        "| 110001234567 | 21 | 3 | 0 | 0 |",
        "| 110009876543 | 10 | 1 | 0 | 0 |",
    ]
    at = lines.index("**`access.grant`**: 18, the first 1 shown")
    assert lines[at + 1 : at + 5] == [
        "",
        "```diff",
        "+ alice.moreau@acme.example on 399-12345678: download yes",
        "```",
    ]
    assert "**`team.create`**: 1" in lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--summary", "--format", "json"],
            "--summary is for --format text or markdown: the json plan is always",
        ),
        (
            ["--summary", "--format", "html"],
            "--summary is for --format text or markdown: the html plan is always",
        ),
        (["--show", "3"], "--show N says how much of the plan --summary shows: add --summary"),
        (["--summary", "--show", "-1"], "Invalid value for '--show'"),
    ],
)
def test_summary_refuses_what_it_does_not_go_with(store_url: str, args: list[str], message: str) -> None:
    code, out, err = plan(store_url, ACME, *args)
    assert code == 1
    assert out == ""
    assert message in err


def _big_account(tmp_path: Path, users: int) -> Path:
    path = tmp_path / "big.yaml"
    with path.open("w") as out:
        write_account(out, users, contracts=5, serials_per_contract=10)
    return path


def test_a_cut_comment_says_where_the_rest_is(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = str(_big_account(tmp_path, 600))  # 2,485 actions: too many for a comment
    code, out, _ = plan(store_url, account, "--format", "markdown")
    assert code == 0 and len(out.encode()) <= COMMENT_LIMIT
    elsewhere = "Run the same command with `--format text` or `--format html` to see every action."
    assert "actions are not shown here. " + elsewhere + "\n" in out
    assert out.endswith(f" more actions not shown. {elsewhere}\n")
    # In GitHub Actions, the plan goes to the job summary (whole, here), and the comment links to the run.
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/licences")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    code, out, _ = plan(store_url, account, "--format", "markdown", "--out", str(tmp_path / "plan.json"))
    assert code == 0 and len(out.encode()) <= COMMENT_LIMIT
    where = (
        "The job summary of [this run](https://github.com/acme/licences/actions/runs/4242) has all of it; "
        "`reconciler show plan.json` prints every action of the saved plan."
    )
    cut = out.split("> Cut to fit: ", 1)[1].split(" of 2,485 actions", 1)[0]
    assert f"> Cut to fit: {cut} of 2,485 actions are not shown here. {where}\n" in out
    assert out.endswith(f"**… cut here:** {cut} more actions not shown. {where}\n")
    written = summary.read_text()
    assert written.startswith(PLAN_MARKER) and "Cut to fit" not in written
    assert written.count("\n+ ") == 2_485 - 25  # every add; the assignments are `!` changes


def test_a_job_summary_too_long_for_the_plan_does_not_send_readers_to_itself(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reconciler.report.markdown.SUMMARY_LIMIT", 20_000)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/licences")
    monkeypatch.setenv("GITHUB_RUN_ID", "7")
    account = str(_big_account(tmp_path, 600))
    code, out, _ = plan(store_url, account, "--format", "markdown", "--out", str(tmp_path / "plan.json"))
    assert code == 0
    assert (
        "The job summary of [this run](https://github.com/acme/licences/actions/runs/7) has more of it; "
        "`reconciler show plan.json` prints every action of the saved plan.\n"
    ) in out
    written = (tmp_path / "summary.md").read_text()
    assert (
        "are not shown here. `reconciler show plan.json` prints every action of the saved plan.\n" in written
    )
    assert "job summary" not in written


def _seen(output: bytes) -> str:
    """What a terminal shows, as text: without its colours, with plain line ends."""
    return re.sub(r"\x1b\[[0-9;]*m", "", output.decode()).replace("\r\n", "\n")


def _terminal_env(store_url: str, lines: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RECONCILER_STORE": store_url,
        "RECONCILER_ACTOR": RESELLER,
        "LINES": str(lines),
        "COLUMNS": "200",
    }


def test_apply_on_a_short_terminal_shows_the_plan_in_brief(store_url: str, write_yaml: WriteYaml) -> None:
    path = write_yaml(ACCOUNT)  # 10 actions: 16 lines of plan
    env = _terminal_env(store_url, 12)
    code, output = run_on_terminal(
        ["apply", str(path)], env, prompt=b"Apply these 10 actions? [y/N]", answer=b"n\n"
    )
    shown = _seen(output)
    assert code == 1
    assert ", in brief:\n\nBy contract:\n" in shown
    assert (
        "In brief: all 10 actions shown.\nApply these 10 actions? [y/N]: n\nError: not applied: cancelled\n"
    ) in shown
    assert open_store(store_url).snapshot().revision == 0


def test_apply_of_a_long_plan_says_how_to_read_all_of_it_first(store_url: str, tmp_path: Path) -> None:
    account = _big_account(tmp_path, 100)  # 485 actions
    env = _terminal_env(store_url, 40)
    code, output = run_on_terminal(
        ["apply", str(account)], env, prompt=b"Apply these 485 actions? [y/N]", answer=b"n\n"
    )
    shown = _seen(output)
    assert code == 1
    assert "  user.add: 100\n    + user.add user000000@corp.example: First0 Last0\n" in shown
    assert (
        "In brief: 30 of 485 actions shown. The whole plan is 490 lines, more than the terminal shows. "
        f"To read every action first, answer no and save the plan with `reconciler plan {account} --out plan.json` "
        "(with this command's options), read it with `reconciler show plan.json`, and apply just what you read "
        "with `reconciler apply plan.json`.\nApply these 485 actions? [y/N]: n\n"
    ) in shown
    saved = tmp_path / "plan.json"
    assert (
        CliRunner()
        .invoke(cli, ["plan", str(account), "--actor", RESELLER, "--store", store_url, "--out", str(saved)])
        .exit_code
        == 0
    )
    code, output = run_on_terminal(
        ["apply", str(saved)], env, prompt=b"Apply these 485 actions? [y/N]", answer=b"y\n"
    )
    shown = _seen(output)
    assert code == 0
    assert f"To read every action first, answer no and run `reconciler show {saved}`.\nApply these" in shown
    assert "The store is at revision 1." in shown


def test_apply_shows_the_whole_plan_when_it_fits_or_does_not_ask(
    store_url: str, write_yaml: WriteYaml
) -> None:
    path = write_yaml(ACCOUNT)
    code, output = run_on_terminal(
        ["apply", str(path)],
        _terminal_env(store_url, 18),
        prompt=b"Apply these 10 actions? [y/N]",
        answer=b"n\n",
    )
    assert code == 1
    assert "in brief" not in _seen(output) and "  + user.add carol@acme.example: Carol Smith\n" in _seen(
        output
    )
    # --auto-approve on the same short terminal: the whole plan, as CI logs have it.
    code, output = run_on_terminal(["apply", str(path), "--auto-approve"], _terminal_env(store_url, 5))
    assert code == 0
    assert "in brief" not in _seen(output)
    assert "  + access.grant carol@acme.example on 399-12345679\n" in _seen(output)
