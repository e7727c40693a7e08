"""The report of a run over many accounts (report/accounts.py): text, markdown, JSON and HTML.

Plans, drifts and usage reports are made by the engine from YAML and memory
stores, as one run over a workspace's accounts makes them; the accounts that
have none (blocked, failed) carry a reason and details.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import ACCOUNT, RESELLER, apply_yaml, plan_yaml
from markdown_it import MarkdownIt
from memory_store import forget, open_any_store
from test_html import ALLOWED, CSP_META, structure

from reconciler.core.model import DesiredState, build_state
from reconciler.core.plan import Plan
from reconciler.core.planfile import dump_plan
from reconciler.core.records import Drift, Usage
from reconciler.core.workspace import AccountRun, AccountStatus
from reconciler.engine.drift import find_drift
from reconciler.engine.usage import seat_usage
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report import text
from reconciler.report.accounts import (
    DRIFTS_MARKER,
    ELSEWHERE,
    PLANS_MARKER,
    drifts_html,
    drifts_json,
    drifts_markdown,
    drifts_text,
    plans_html,
    plans_json,
    plans_markdown,
    plans_text,
    usages_html,
    usages_json,
    usages_markdown,
    usages_text,
)
from reconciler.report.escaping import in_html, inert
from reconciler.report.html import drift_part, plan_html, plan_part, usage_part
from reconciler.report.json import drift_json, usage_json
from reconciler.report.markdown import COMMENT_LIMIT, PLAN_MARKER

ZWJ = "\u200d"
#: GitHub refuses a comment longer than this many characters.
GITHUB_LIMIT = 65_536
#: The example account with its Contract Manager changed: the reseller's to do, blocked for alice.
NEW_MANAGER = ACCOUNT.replace("manager: alice@acme.example", "manager: bob@acme.example")
#: The example account without carol: her user and access are drift once the store has them.
WITHOUT_CAROL = ACCOUNT[: ACCOUNT.index("  - email: carol@acme.example")]
NOW = datetime(2026, 12, 1, tzinfo=UTC)
GONE = "the folder accounts/gone is gone: add `decommission: true` to its entry to remove its account"
INVALID = "accounts/broken is not valid"
PROBLEMS = (
    "accounts/broken/users.yaml:3:5: unknown field 'emial'",
    "accounts/broken/users.yaml:9:1: user bob@acme.example is declared twice",
)


@pytest.fixture
def new_store() -> Iterator[Any]:
    """Makes memory stores, each with RESELLER as its reseller; forgets them afterwards."""
    urls: list[str] = []

    def make() -> str:
        urls.append(f"memory://accounts-{uuid.uuid4().hex}")
        open_any_store(urls[-1]).initialize([RESELLER])
        return urls[-1]

    yield make
    for url in urls:
        forget(url)


def desired(yaml_text: str) -> DesiredState:
    return build_state([parse(Source("desired.yaml", yaml_text.encode())).document])


@pytest.fixture
def plans(new_store: Any) -> dict[str, Plan]:
    """A new account's plan (changes), an applied one's (none), a Contract Manager's blocked one."""
    applied = new_store()
    apply_yaml(applied, ACCOUNT)
    return {
        "changes": plan_yaml(new_store(), ACCOUNT),
        "none": plan_yaml(applied, ACCOUNT),
        "blocked": plan_yaml(applied, NEW_MANAGER, actor="alice@acme.example"),
    }


def plan_runs(plans: dict[str, Plan]) -> list[AccountRun[Plan]]:
    """One account of each kind, in the workspace's order: changed, unchanged, blocked, failed."""
    return [
        AccountRun("acme", AccountStatus.CHANGES, plans["changes"]),
        AccountRun("nordwind", AccountStatus.DONE, plans["none"]),
        AccountRun("gone", AccountStatus.BLOCKED, reason=GONE),
        AccountRun("broken", AccountStatus.ERROR, reason=INVALID, details=PROBLEMS),
    ]


# Text


def test_the_text_report_is_a_table_the_totals_then_each_account_with_something_to_say(
    plans: dict[str, Plan],
) -> None:
    # E-mails: one message to each person, however much they hear of (3 people, 6 changes).
    assert sum(len(action.notifications) for action in plans["changes"].actions) == 6
    lines = plans_text(plan_runs(plans))
    assert not isinstance(lines, str | list), "streamed line by line"
    assert list(lines) == [
        "account   to add  to change  to remove  blocked  e-mails  status",
        "acme           9          1          0        0        3  changes",
        "nordwind       0          0          0        0        0  no changes",
        "gone           -          -          -        -        -  blocked",
        "broken         -          -          -        -        -  error",
        "",
        "4 accounts: 1 failed, 1 blocked, 1 with changes, 1 unchanged. "
        "In all: 9 to add, 1 to change, 0 to remove, 0 blocked, 3 e-mails.",
        "",
        "== acme ==",
        *text.render_plan(plans["changes"]),
        "",
        "== gone ==",
        f"blocked: {GONE}",
        "",
        "== broken ==",
        f"error: {INVALID}",
        *(f"  {problem}" for problem in PROBLEMS),
    ]


def test_a_blocked_plan_says_why_and_shows_the_plan(plans: dict[str, Plan]) -> None:
    blocked = plans["blocked"]
    assert blocked.blocked  # the reseller's action, which alice may not perform
    runs = [AccountRun("acme", AccountStatus.BLOCKED, blocked, reason="1 action the actor may not perform")]
    counts = blocked.summary()
    people = {n.to for a in blocked.actions for n in a.notifications}
    lines = list(plans_text(runs))
    assert lines[1].split() == [
        "acme",
        *(str(counts[k]) for k in ("add", "change", "remove", "blocked")),
        str(len(people)),
        "blocked",
    ]
    at = lines.index("== acme ==")
    assert lines[at + 1 : at + 3] == ["blocked: 1 action the actor may not perform", ""]
    assert lines[at + 3 :] == list(text.render_plan(blocked))


def test_only_the_status_is_painted_and_the_columns_stay_aligned(plans: dict[str, Plan]) -> None:
    lines = list(plans_text(plan_runs(plans), lambda piece, colour: f"[{colour}]{piece}[/]"))
    assert lines[1].endswith("  [yellow]changes[/]") and lines[4].endswith("  [red]error[/]")
    assert lines[2].endswith("  [green]no changes[/]")
    plain = list(plans_text(plan_runs(plans)))
    assert [re.sub(r"\[/?[a-z]*\]", "", line) for line in lines[:5]] == plain[:5]
    assert f"[red]error: {INVALID}[/]" in lines and "== broken ==" in lines


def test_a_name_cannot_move_the_cursor_or_reorder_the_line(plans: dict[str, Plan]) -> None:
    runs = [AccountRun("evil\x1b[2J\u202e", AccountStatus.CHANGES, plans["changes"])]
    lines = list(plans_text(runs))
    assert not any("\x1b" in line or "\u202e" in line for line in lines)
    assert lines[1].startswith("evil\ufffd[2J\ufffd ") and "== evil\ufffd[2J\ufffd ==" in lines


@pytest.fixture
def drifts(new_store: Any) -> dict[str, Drift]:
    """The applied example compared with itself (no drift) and with git that no longer has carol."""
    url = new_store()
    apply_yaml(url, ACCOUNT)
    snapshot = open_any_store(url).snapshot()
    return {
        "none": find_drift(desired(ACCOUNT), snapshot, NOW),
        "found": find_drift(desired(WITHOUT_CAROL), snapshot, NOW),
    }


def test_drift_text_counts_differences_and_shows_only_the_accounts_that_drifted(
    drifts: dict[str, Drift],
) -> None:
    found = drifts["found"]
    differences = len(found.only_in_store) + len(found.only_in_git) + len(found.differ)
    assert differences == 2  # carol, and her access
    runs = [
        AccountRun("acme", AccountStatus.CHANGES, found),
        AccountRun("nordwind", AccountStatus.DONE, drifts["none"]),
    ]
    assert list(drifts_text(runs)) == [
        "account   differences  stale invites  status",
        "acme                2              0  drift",
        "nordwind            0              0  no drift",
        "",
        "2 accounts: 1 with drift, 1 matching git. In all: 2 differences, 0 stale invites.",
        "",
        "== acme ==",
        *text.render_drift(found),
    ]


@pytest.fixture
def usage(new_store: Any) -> Usage:
    url = new_store()
    apply_yaml(url, ACCOUNT)
    return seat_usage(open_any_store(url).snapshot(), NOW)


def test_usage_text_counts_seats_and_shows_every_account(usage: Usage) -> None:
    runs = [
        AccountRun("acme", AccountStatus.DONE, usage),
        AccountRun("broken", AccountStatus.ERROR, reason="the store cannot be reached"),
    ]
    lines = list(usages_text(runs))
    assert lines[:5] == [
        "account  contracts  serials  seats  assigned  free  full serials  contracts ending  status",
        "acme             1        2      3         2     1             1                 0  done",
        "broken           -        -      -         -     -             -                 -  error",
        "",
        "2 accounts: 1 failed, 1 done. "
        "In all: 1 contract, 2 serials, 3 seats, 2 assigned, 1 free, 1 full serial, 0 contracts ending.",
    ]
    # A usage report is read for itself: shown for an account that came out well too.
    assert lines[5:] == [
        "",
        "== acme ==",
        *text.render_usage(usage),
        "",
        "== broken ==",
        "error: the store cannot be reached",
    ]


# JSON


def test_json_holds_each_account_s_own_report_and_is_the_same_bytes_each_time(
    plans: dict[str, Plan],
) -> None:
    runs = plan_runs(plans)
    written = plans_json(runs)
    assert written == plans_json(plan_runs(plans))
    data = json.loads(written)
    assert written == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"  # keys sorted
    assert data["format_version"] == 1 and list(data) == ["accounts", "format_version"]
    acme, nordwind, gone, broken = data["accounts"]
    assert acme == {"name": "acme", "status": "changes", "plan": json.loads(dump_plan(plans["changes"]))}
    assert nordwind == {"name": "nordwind", "status": "done", "plan": json.loads(dump_plan(plans["none"]))}
    assert gone == {"name": "gone", "status": "blocked", "reason": GONE, "details": []}
    assert broken == {"name": "broken", "status": "error", "reason": INVALID, "details": list(PROBLEMS)}


def test_json_plans_are_sealed_with_the_key_as_their_files_are(plans: dict[str, Plan]) -> None:
    key = b"k" * 32
    acme = json.loads(plans_json(plan_runs(plans), key))["accounts"][0]["plan"]
    assert acme == json.loads(dump_plan(plans["changes"], key))
    assert acme["checksum"].startswith("hmac-sha256:")


def test_json_drift_and_usage_are_as_their_own_reports_write_them(
    drifts: dict[str, Drift], usage: Usage
) -> None:
    drift_runs = [AccountRun("acme", AccountStatus.CHANGES, drifts["found"], reason="drifted")]
    assert json.loads(drifts_json(drift_runs))["accounts"] == [
        {
            "name": "acme",
            "status": "changes",
            "drift": json.loads(drift_json(drifts["found"])),
            "reason": "drifted",
            "details": [],
        }
    ]
    (account,) = json.loads(usages_json([AccountRun("acme", AccountStatus.DONE, usage)]))["accounts"]
    assert account == {"name": "acme", "status": "done", "usage": json.loads(usage_json(usage))}


# Markdown


def render(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def table_rows(markdown: str) -> list[str]:
    """The rows of the summary table: from below its header to the first line that is not a row."""
    lines = markdown.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| account | "))) + 2
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("| "))
    return lines[start:end]


def account_folds(markdown: str) -> list[tuple[str, str]]:
    """Each fold of an account, outside any other: (" open" or "", its summary)."""
    folds = []
    depth = 0
    for line in markdown.splitlines():
        found = re.match(r"<details( open)?><summary>(.*)</summary>$", line)
        if found and depth == 0:
            folds.append((found.group(1) or "", found.group(2)))
        depth += line.startswith("<details") - line.startswith("</details>")
    return folds


def test_markdown_is_the_table_then_errors_and_blocks_first_each_folded(plans: dict[str, Plan]) -> None:
    comment = plans_markdown(plan_runs(plans))
    head = comment[: comment.index("<details")]
    assert head == (
        f"{PLANS_MARKER}\n"
        "### reconciler plan, 4 accounts: 1 failed, 1 blocked, 1 with changes, 1 unchanged\n"
        "\n"
        "In all: 9 to add, 1 to change, 0 to remove, 0 blocked, 3 e-mails.\n"
        "\n"
        "| account | to add | to change | to remove | blocked | e-mails | status |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
        "| acme | 9 | 1 | 0 | 0 | 3 | changes |\n"
        "| nordwind | 0 | 0 | 0 | 0 | 0 | no changes |\n"
        "| gone | - | - | - | - | - | blocked |\n"
        "| broken | - | - | - | - | - | error |\n"
        "\n"
    )
    assert account_folds(comment) == [
        (" open", f"broken: error: {INVALID}"),
        (" open", f"gone: blocked: {in_html(GONE)}"),
        ("", "acme: 9 to add, 1 to change, 0 to remove, 0 blocked, 3 e-mails"),
    ]
    assert comment.count("</details>") == comment.count("<details")
    # Each account's own report, without its marker: one comment has one.
    assert PLAN_MARKER not in comment and comment.count(PLANS_MARKER) == 1
    assert "### reconciler plan: 9 to add, 1 to change, 0 to remove, 0 blocked" in comment
    assert all(f"- {inert(problem)}\n" in comment for problem in PROBLEMS)
    assert "not shown here" not in comment  # everything fits


def test_a_drift_comment_has_a_marker_of_its_own(drifts: dict[str, Drift]) -> None:
    runs = [
        AccountRun("acme", AccountStatus.CHANGES, drifts["found"]),
        AccountRun("nordwind", AccountStatus.DONE, drifts["none"]),
    ]
    comment = drifts_markdown(runs)
    assert comment.startswith(DRIFTS_MARKER + "\n") and comment.count("<details") == 1
    assert "<details><summary>acme: 2 differences, 0 stale invites</summary>" in comment


def test_every_usage_report_is_folded_in(usage: Usage) -> None:
    comment = usages_markdown([AccountRun("acme", AccountStatus.DONE, usage)])
    assert "<details><summary>acme: 1 contract, 2 serials, 3 seats" in comment
    assert "### reconciler usage:" in comment


def many(plan: Plan, count: int, name: str = "account-{:03}") -> list[AccountRun[Plan]]:
    return [AccountRun(name.format(i), AccountStatus.CHANGES, plan) for i in range(count)]


def test_two_hundred_accounts_fit_one_comment_and_say_where_the_rest_is(plans: dict[str, Plan]) -> None:
    runs = many(plans["changes"], 200)
    comment = plans_markdown(runs, elsewhere="the plan artifact and the HTML page")
    assert len(comment) <= GITHUB_LIMIT and len(comment.encode()) <= COMMENT_LIMIT
    assert comment.startswith(PLANS_MARKER + "\n")
    assert table_rows(comment) == [f"| account-{i:03} | 9 | 1 | 0 | 0 | 3 | changes |" for i in range(200)]
    folds = [summary.split(":")[0] for _, summary in account_folds(comment)]
    assert 0 < len(folds) < 200 and folds == [f"account-{i:03}" for i in range(len(folds))]
    left = 200 - len(folds)
    assert comment.endswith(
        f"\n**{left} accounts not shown here**, for want of room: see the plan artifact and the HTML page.\n"
    )
    assert comment.count("```") % 2 == 0 and comment.count("<details") == comment.count("</details>")


def test_the_accounts_not_shown_are_pointed_to_a_command_that_gives_them(plans: dict[str, Plan]) -> None:
    # The run printed markdown: there is no JSON or HTML report "of this run" to read, in CI or not.
    comment = plans_markdown(many(plans["changes"], 200))
    last = comment.splitlines()[-1]
    assert "not shown here" in last and "of this run" not in last
    assert "this command with `--format html` or `--format json`" in last


@pytest.mark.parametrize("limit", [3_000, 12_000, 30_000, COMMENT_LIMIT])
def test_the_comment_never_passes_its_limit(plans: dict[str, Plan], limit: int) -> None:
    runs = [*many(plans["changes"], 40), *plan_runs(plans)]
    comment = plans_markdown(runs, limit=limit)
    assert len(comment.encode()) <= limit
    assert comment.endswith(f"see {ELSEWHERE}.\n")
    assert comment.count("<details") == comment.count("</details>") and comment.count("```") % 2 == 0


def test_an_error_after_150_changed_accounts_is_shown_in_full(plans: dict[str, Plan]) -> None:
    problems = tuple(f"accounts/late/users.yaml:{line}:1: unknown field 'x{line}'" for line in range(1, 31))
    runs = [
        *many(plans["changes"], 150),
        AccountRun("late", AccountStatus.ERROR, reason=INVALID, details=problems),
        *many(plans["changes"], 49, "more-{:02}"),
    ]
    comment = plans_markdown(runs)
    assert len(comment.encode()) <= COMMENT_LIMIT
    first = comment.index("<details")
    assert comment[first:].startswith(f"<details open><summary>late: error: {INVALID}</summary>\n\n")
    assert all(f"- {problem}" in comment for problem in problems)
    assert "Cut to fit" not in comment[first : comment.index("</details>")]
    assert "| late | - | - | - | - | - | error |" in table_rows(comment)


def test_thousands_of_accounts_cut_the_table_unchanged_accounts_first(plans: dict[str, Plan]) -> None:
    runs = [
        *(AccountRun(f"quiet-{i:04}", AccountStatus.DONE, plans["none"]) for i in range(3_000)),
        *many(plans["changes"], 2_000),
        AccountRun("broken", AccountStatus.ERROR, reason=INVALID),
    ]
    comment = plans_markdown(runs)
    assert len(comment.encode()) <= COMMENT_LIMIT
    rows = table_rows(comment)
    match = re.search(
        r"^… ([\d,]+) more rows left out of this table, unchanged accounts first: see ", comment, re.M
    )
    assert match and len(rows) + int(match.group(1).replace(",", "")) == len(runs)
    assert rows[-1] == "| broken | - | - | - | - | - | error |"  # kept, in its place
    assert not any(row.startswith("| quiet-") for row in rows)  # the changed ones fill the table first
    assert "<details" not in comment
    assert comment.endswith(f"**2,001 accounts not shown here**, for want of room: see {ELSEWHERE}.\n")


def test_a_name_cannot_break_the_table_or_add_html(plans: dict[str, Plan]) -> None:
    name = "a|b<script>alert(1)</script>@team"
    runs = [AccountRun(name, AccountStatus.ERROR, reason="<img src=x onerror=alert(1)>", details=("| x |",))]
    comment = plans_markdown(runs)
    assert "<script" not in comment and "<img" not in comment
    html = render(comment)
    assert "<script" not in html and "<img" not in html
    row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html, re.S)
    assert row and row.group(1).count("<td") == 7  # the pipe stayed in its cell
    assert "a|b&lt;script&gt;alert(1)&lt;/script&gt;" in row.group(1)
    summary = re.search(r"<summary>(.*)</summary>", html)
    assert summary and summary.group(1) == (
        f"a|b&lt;script&gt;alert(1)&lt;/script&gt;@{ZWJ}team: error: &lt;img src=x onerror=alert(1)&gt;"
    )


def test_in_html_escapes_without_backslashes_and_breaks_links() -> None:
    assert in_html('a_b *c* <i>&"d" @e #1 https://f') == (
        f"a_b *c* &lt;i&gt;&amp;&quot;d&quot; @{ZWJ}e #{ZWJ}1 https:/{ZWJ}/f"
    )


# HTML


class _Page(HTMLParser):
    """The ids of a page's sections, the links, and the text of each <h2> directly in an account."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.links: list[str] = []
        self.names: list[str] = []
        self._in_name = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("class") == "account":
            self.sections.append(found["id"] or "")
            self._in_name = True
            self.names.append("")
        elif tag == "a":
            self.links.append(found["href"] or "")
        elif tag == "span":
            self._in_name = False

    def handle_data(self, data: str) -> None:
        if self._in_name and self.names:
            self.names[-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_name = False


def test_the_page_has_the_table_and_one_section_per_account(plans: dict[str, Plan]) -> None:
    runs = plan_runs(plans)
    page = plans_html(runs)
    assert page == plans_html(plan_runs(plans))
    assert page.count(CSP_META) == 1 and "<script" not in page
    parsed = structure(page)
    assert set(parsed.tags) <= ALLOWED | {"a"}, set(parsed.tags) - ALLOWED
    sections = _Page()
    sections.feed(page)
    assert sections.sections == ["account-acme", "account-nordwind", "account-gone", "account-broken"]
    assert [name.strip() for name in sections.names] == ["acme", "nordwind", "gone", "broken"]
    assert sections.links == [f"#{anchor}" for anchor in sections.sections]  # only within the page
    # Each plan as its own page shows it; the blocked and failed ones with their reasons.
    for plan in (plans["changes"], plans["none"]):
        assert plan_part(plan).body in page and plan_part(plan).meta in page
    assert "<b>blocked:</b> the folder accounts/gone is gone" in page
    assert all(f"<code>{problem.replace(chr(39), '&#39;')}</code>" in page for problem in PROBLEMS)
    assert (
        "<title>reconciler plan, 4 accounts: 1 failed, 1 blocked, 1 with changes, 1 unchanged</title>" in page
    )


def test_a_plan_s_parts_are_what_its_own_page_shows(plans: dict[str, Plan]) -> None:
    page = plan_html(plans["changes"])
    part = plan_part(plans["changes"])
    assert f"<h1>{part.title}</h1>\n{part.meta}</header>\n<main>\n{part.body}</main>" in page


def test_the_page_escapes_names_and_gives_them_safe_ids(plans: dict[str, Plan]) -> None:
    runs = [
        AccountRun('x"><script>alert(1)</script>', AccountStatus.CHANGES, plans["changes"]),
        AccountRun("twice", AccountStatus.DONE, plans["none"]),
        AccountRun("twice", AccountStatus.ERROR, reason="<b>bold</b>"),
    ]
    page = plans_html(runs)
    assert "<script" not in page and "<b>bold</b>" not in page
    assert "x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    sections = _Page()
    sections.feed(page)
    assert sections.sections == ["row-1", "account-twice", "row-3"]
    assert sections.names[0].strip() == 'x"><script>alert(1)</script>'
    structure(page)


def test_drift_and_usage_pages_hold_each_account_s_own_report(drifts: dict[str, Drift], usage: Usage) -> None:
    drift_page = drifts_html(
        [
            AccountRun("acme", AccountStatus.CHANGES, drifts["found"]),
            AccountRun("broken", AccountStatus.ERROR, reason=INVALID),
        ]
    )
    usage_page = usages_html([AccountRun("acme", AccountStatus.DONE, usage)])
    for page, part in ((drift_page, drift_part(drifts["found"])), (usage_page, usage_part(usage))):
        structure(page)
        assert part.meta in page and part.body in page
        assert "Grouped for reading" not in page  # the plan's footer, for plans only
    assert "<title>reconciler drift, 2 accounts: 1 failed, 1 with drift</title>" in drift_page
    assert "<title>reconciler usage, 1 account: 1 done</title>" in usage_page


def test_an_empty_selection_says_so_in_the_comment() -> None:
    """A pull request that concerns no account (a comment in reconciler.yaml) gets a sentence, not an
    empty table."""
    assert plans_markdown(()) == (
        f"{PLANS_MARKER}\n### reconciler plan, no account\n\nNo account's files changed: nothing to run.\n"
    )
