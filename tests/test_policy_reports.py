"""What the policy rules said, as each plan report shows it, through the command line.

An account applied as the reseller, then changed and planned as Bob, a Serial
Coordinator: a grant with download rights a rule denies, a seat change a rule
cannot be evaluated for (the contract says no `ends`), two new users a rule
warns of (its message holds `<b>` and `|`), a plan that needs two approving
reviews, and a grant Bob may not give, blocked for lack of permission. Text,
in brief, markdown and HTML show a policy section (denied, could not be
evaluated, warnings, the reviews), and tell the denied actions, which no
`--request` can ask for, from the one the actor may not perform. A rule that
holds for many records lists its first ones and counts the rest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, WriteYaml
from test_html import structure

from reconciler.cli import cli
from reconciler.report.attention import LISTED
from reconciler.report.fitting import FOLD_AFTER

BOB = "bob@acme.example"
#: ACCOUNT changed: Revit gets seats, Dan a grant with downloads, Erin a Revit grant (Bob coordinates
#: AutoCAD, not Revit), and the rules.
CHANGED = ACCOUNT.replace("seats: 1\n", "seats: 3\n") + (
    """\
  - email: dan@acme.example
    first_name: Dan
    last_name: Diaz
    access:
      - serial: "399-12345678"
        download: true
  - email: erin@acme.example
    first_name: Erin
    last_name: Ek
    access:
      - serial: "399-12345679"
policies:
  - id: no-download
    applies_to: grant
    when: grant.download
    effect: deny
    message: no download rights
  - id: renewal-soon
    applies_to: serial
    when: contract.days_left < 30
    effect: deny
    message: the contract ends soon
  - id: new-users
    applies_to: user
    when: user.new
    effect: warn
    message: "check <b>new</b> | users"
  - id: two-reviews
    applies_to: plan
    when: plan.users_added > 0
    effect: require_approvals
    approvals: 2
"""
)
#: Why the seat change is blocked: the contract has no `ends`, so `contract.days_left` has no value.
UNEVALUATED = (
    "renewal-soon could not be evaluated: contract.days_left has no value for this record (days from "
    "today to the contract's `ends`; no value when the contract does not say when it ends); test for it "
    'first, as `contract.ends != "" && …` (serial 399-12345679)'
)
DENIED_NOTE = (
    "2 actions break policy rules (no-download, renewal-soon): apply refuses the plan, even with "
    "--request, which cannot ask anyone to break a rule; change the YAML or the rule."
)
BLOCKED_NOTE = (
    "1 action the actor may not perform: apply refuses the plan while a rule denies an action; then "
    "--request asks whoever may perform it."
)
APPROVALS = "This plan needs 2 approving reviews (policy two-reviews)."


@pytest.fixture
def store(runner: CliRunner, tmp_path: Path) -> str:
    """A SQLite store with ACCOUNT applied as the reseller (the reports read no store of their own)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]).exit_code == 0
    base = tmp_path / "base.yaml"
    base.write_text(ACCOUNT, encoding="utf-8")
    applied = runner.invoke(cli, ["apply", str(base), "--auto-approve", "--actor", RESELLER, "--store", url])
    assert applied.exit_code == 0, applied.output
    return url


@pytest.fixture
def changed(write_yaml: WriteYaml) -> Path:
    return write_yaml(CHANGED, "acct/account.yaml")


def _plan(runner: CliRunner, path: Path, store: str, *extra: str, actor: str = BOB, code: int = 3) -> str:
    result = runner.invoke(cli, ["plan", str(path), "--store", store, "--actor", actor, *extra])
    assert result.exit_code == code, result.output  # a denied action blocks the plan: exit 3
    return str(result.stdout)


def _placed(path: Path, said: str) -> str:
    """A pattern of `said` after its place, `PATH:LINE:COLUMN: `, where the verdict's record is written
    (the numbers are loading's to find)."""
    return rf"{re.escape(str(path))}:[0-9]+:[0-9]+: {re.escape(said)}"


def _one(pattern: str, text: str) -> str:
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, text)
    return str(found[0])


# --- text -----------------------------------------------------------------------------------------


def test_text_lists_what_the_rules_said_and_tells_denied_from_blocked(
    runner: CliRunner, store: str, changed: Path
) -> None:
    text = _plan(runner, changed, store)
    section = text[text.index("\nPolicy: ") : text.index("\nPlan: ")]
    lines = section.splitlines()
    assert lines[:3] == ["", "Policy: 4 rules over 6 records:", "  Denied (1):"]
    deny = "deny no-download: no download rights (access dan@acme.example on 399-12345678)"
    assert re.fullmatch("    " + _placed(changed, deny), lines[3]), lines[3]
    assert lines[4] == "  Could not be evaluated (1):"
    assert re.fullmatch("    " + _placed(changed, UNEVALUATED), lines[5]), lines[5]
    assert lines[6] == "  Warnings (2):"
    for line, user in zip(lines[7:9], ("dan", "erin"), strict=True):
        warn = f"warn new-users: check <b>new</b> | users (user {user}@acme.example)"
        assert re.fullmatch("    " + _placed(changed, warn), line), line
    assert lines[9:] == ["  " + APPROVALS]
    assert f"\n  {APPROVALS}\n\nPlan: " in text
    # The denied actions say why on their own lines, as every blocked action does.
    assert (
        "  + access.grant dan@acme.example on 399-12345678: download yes\n"
        "      blocked: policy no-download denies it: no download rights "
        "(access dan@acme.example on 399-12345678)\n"
    ) in text
    # The end: the denied actions are not --request's to ask for; the one Bob may not give is.
    assert text.endswith(
        "Plan: 4 to add, 1 to change, 0 to remove, 3 blocked.\n"
        "E-mail: 2 people will hear of 4 changes, in one message each.\n"
        f"Denied: {DENIED_NOTE}\n"
        f"Blocked: {BLOCKED_NOTE}\n"
    )


def test_the_brief_lists_the_rules_and_every_action_the_actor_may_not_perform(
    runner: CliRunner, store: str, changed: Path
) -> None:
    text = _plan(runner, changed, store, "--summary")
    assert "  access.grant: 2 (1 blocked, 1 denied by policy, below)\n" in text
    assert "  serial.seats_change: 1 (1 denied by policy, below)\n" in text
    assert "\nPolicy: 4 rules over 6 records:\n  Denied (1):\n" in text
    assert "\n  Warnings (2):\n" in text
    assert f"\n  {APPROVALS}\n" in text
    # Only the action a request could ask for is listed as blocked; the policy section tells the rest.
    assert (
        "\nBlocked: 1 action the actor may not perform, every one:\n"
        "  + access.grant erin@acme.example on 399-12345679\n"
        "      blocked: only the Contract Manager of contract 110001234567 (alice@acme.example) or a "
        "reseller (orders@cadpartners.example) may give erin@acme.example access to Revit "
        "(serial 399-12345679)\n\n"
    ) in text
    assert text.index("\nPolicy: ") < text.index("\nBlocked: 1 action")
    assert f"\nDenied: {DENIED_NOTE}\nBlocked: {BLOCKED_NOTE}\n" in text
    assert text.endswith(
        "\nIn brief: 3 of 5 actions shown. Run the same command without --summary to see every action.\n"
    )


# --- markdown -------------------------------------------------------------------------------------


def test_markdown_lists_what_the_rules_said_escaped(runner: CliRunner, store: str, changed: Path) -> None:
    markdown = _plan(runner, changed, store, "--format", "markdown")
    at = "@\u200d"  # an address made inert: no autolink, no mention
    place = rf"`{re.escape(str(changed))}:[0-9]+:[0-9]+`"
    deny = _one(
        rf"(?m)^- {place}: deny `no-download`: no download rights \(access dan{at}acme\.example on "
        r"399-12345678\)$",
        markdown,
    )
    # What users wrote renders as written: no bold, no table cell, no mention.
    warn = _one(
        rf"(?m)^- {place}: warn `new-users`: check &lt;b&gt;new&lt;/b&gt; \\\| users \(user erin{at}acme\.example\)$",
        markdown,
    )
    assert "<b>new</b>" not in markdown
    assert f"**{APPROVALS}**\n" in markdown
    section = markdown[markdown.index("#### Policy: 4 rules over 6 records\n") :]
    assert (
        section.index("**Denied: 1 record**\n\n")
        < section.index(deny)
        < section.index("**Could not be evaluated: 1 record**\n\n")
        < section.index("**Warnings: 2 records**\n\n")
        < section.index(warn)
        < section.index(APPROVALS)
    )
    assert f"\n> **Denied:** {DENIED_NOTE}\n" in markdown
    assert f"\n> **Blocked:** {BLOCKED_NOTE}\n" in markdown
    # The blocked table is the one action a request could ask for; the diff marks each denied one.
    assert "#### Blocked: 1 action the actor may not perform\n" in markdown
    blocked = markdown[markdown.index("#### Blocked: ") : markdown.index("#### Users")]
    assert "dan" not in blocked and f"| `access.grant` | erin{at}acme.example on 399-12345679 |" in blocked
    assert "+ dan@acme.example on 399-12345678: download yes   (denied by policy no-download)\n" in markdown
    assert markdown.index("#### Policy") < markdown.index("#### Blocked")


# --- HTML -----------------------------------------------------------------------------------------


def test_html_lists_what_the_rules_said_escaped(runner: CliRunner, store: str, changed: Path) -> None:
    html = _plan(runner, changed, store, "--format", "html")
    structure(html)
    place = rf"<code><bdi>{re.escape(str(changed))}:[0-9]+:[0-9]+</bdi></code>"
    _one(
        rf'<tr><td data-label="where">{place}</td><td data-label="rule">deny <code>no-download</code></td>'
        r'<td data-label="message"><bdi>no download rights</bdi></td><td data-label="record">'
        r"<bdi>access dan@acme\.example on 399-12345678</bdi></td></tr>",
        html,
    )
    _one(
        rf'<tr><td data-label="where">{place}</td><td data-label="rule">warn <code>new-users</code></td>'
        r'<td data-label="message"><bdi>check &lt;b&gt;new&lt;/b&gt; \| users</bdi></td>'
        r'<td data-label="record"><bdi>user erin@acme\.example</bdi></td></tr>',
        html,
    )
    assert "<b>new</b>" not in html
    assert '<td data-label="rule"><code>renewal-soon</code> could not be evaluated</td>' in html
    assert f"<p><b>{APPROVALS}</b></p>" in html
    assert f'<p class="note warning"><b>Denied:</b> {DENIED_NOTE}</p>' in html
    assert f'<p class="note warning"><b>Blocked:</b> {BLOCKED_NOTE}</p>' in html
    assert "<h2>Blocked: 1 action the actor may not perform</h2>" in html
    assert html.index("<h2>Policy: 4 rules over 6 records</h2>") < html.index("<h2>Blocked: 1 action")


# --- JSON -----------------------------------------------------------------------------------------


def test_json_is_the_plan_file_with_what_the_rules_said(runner: CliRunner, store: str, changed: Path) -> None:
    data = json.loads(_plan(runner, changed, store, "--format", "json"))
    policy = data["policy"]
    assert (policy["required_approvals"], policy["approvals_from"]) == (2, ["two-reviews"])
    said = sorted((v["effect"], v["rule"], v["record"]) for v in policy["verdicts"])
    assert said == [
        ("deny", "no-download", "access dan@acme.example on 399-12345678"),
        ("error", "renewal-soon", "serial 399-12345679"),
        ("require_approvals", "two-reviews", "the plan"),
        ("warn", "new-users", "user dan@acme.example"),
        ("warn", "new-users", "user erin@acme.example"),
    ]
    assert sorted(a["denied"] for a in data["actions"] if "denied" in a) == ["no-download", "renewal-soon"]


# --- many records ---------------------------------------------------------------------------------


def test_a_rule_that_holds_for_many_records_lists_the_first_and_counts_the_rest(
    runner: CliRunner, tmp_path: Path, write_yaml: WriteYaml
) -> None:
    many = LISTED + 3
    users = "".join(
        f"  - email: u{n:02}@acme.example\n    first_name: U\n    last_name: N{n}\n" for n in range(many)
    )
    rules = (
        "policies:\n  - id: every-user\n    applies_to: user\n    when: user.new\n    effect: warn\n"
        "    message: new\n"
    )
    path = write_yaml(f"version: 1\nusers:\n{users}{rules}", "many/account.yaml")
    url = f"sqlite:///{tmp_path / 'many.db'}"
    assert runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]).exit_code == 0
    text = _plan(runner, path, url, actor=RESELLER, code=0)
    warned = re.findall(r"(?m)^    .*: warn every-user: new \(user u[0-9]+@acme\.example\)$", text)
    assert [w.rsplit("(user ", 1)[1] for w in warned] == [f"u{n:02}@acme.example)" for n in range(LISTED)]
    assert f"\n  Warnings ({many}):\n" in text
    assert "\n    … and 3 more of every-user\n" in text
    markdown = _plan(runner, path, url, "--format", "markdown", actor=RESELLER, code=0)
    assert LISTED + 1 > FOLD_AFTER  # so the part is folded
    assert f"<details><summary>Warnings: {many} records</summary>\n\n" in markdown
    assert "\n- … and 3 more of every-user\n\n</details>\n" in markdown
    assert markdown.count(": warn `every-user`: new (user ") == LISTED
    html = _plan(runner, path, url, "--format", "html", actor=RESELLER, code=0)
    structure(html)
    assert '<tr><td colspan="4" class="muted">… and 3 more of every-user</td></tr>' in html
    assert html.count('<td data-label="rule">warn <code>every-user</code></td>') == LISTED
