"""The markdown report: escaping of what users wrote, and the cut at a size limit.

Rendered with markdown-it-py (CommonMark with raw HTML allowed, plus GFM
tables): whatever a name smuggles in must come out as text, never as a tag,
a link or a cell. tests/test_markdown_github.py renders the same with
GitHub's own renderer, autolinks and all.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from reconciler.core.characters import scrub
from reconciler.core.kinds import Event, Kind, Role
from reconciler.core.plan import Action, Notification, Plan
from reconciler.core.records import Difference, Drift, StaleInvite
from reconciler.report.markdown import (
    COMMENT_LIMIT,
    FOLD_AFTER,
    PLAN_MARKER,
    inert,
    render_drift,
    render_plan,
)

ZWJ = "\u200d"
HOSTILE = (
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "**bold** _it_ ~~gone~~",
    "[x](javascript:alert(1))",
    "![img](https://evil.example/x.png)",
    "@org/team",
    "cc @alice",
    "<https://evil.example>",
    "https://evil.example www.evil.example",
    "# Heading",
    "`code` ```fence",
    "$x^2$",
    "<!-- hidden",
    "</details></summary>",
    "&lt;b&gt;",
    "right\u202eto left",
    "line\nbreak",
    "back\\slash",
    # GFM's extended autolinks: mailto: and xmpp:, and any e-mail address outside code.
    "mailto:boss@evil.example",
    "MAILTO:boss@evil.example",
    "xmpp:boss@evil.example/resource",
    "bob@acme.example",
    # Valid addresses of which GitHub links only the tail, a different address than the one shown.
    "x|boss@acme.example",
    "x/boss@acme.example",
    "x*boss*@acme.example",
    "x#boss@acme.example",
    "www.boss@acme.example",
    "xwww.boss@acme.example",
    "`t`$x$~~s~~_e_@acme.example",
    # Field paths, as a diagnostic shows them, with keys users wrote.
    "users[0].bob@acme.example",
    "contracts[0].serials[1].mailto:boss@evil.example: unknown field",
    "ftp://evil.example HTTPS://evil.example WWW.evil.example",
    "#1 GH-2 org/repo#3",
    # Characters that reorder or hide text, and the joiners names need.
    "a\u200bb\u2060c\ufeffd\u00ade\u200ef\u200fg\u061ch\u2066i\U000e0041j\u180ek",
    "Mehdi \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0915\u094d\u200d\u0937",
)


def html(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("a | b", "a \\| b"),
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        ("@org/team", f"@{ZWJ}org/team"),
        ("cc @alice", f"cc @{ZWJ}alice"),
        ("bob@acme.example", f"bob@{ZWJ}acme.example"),
        ("x|boss@acme.example", f"x\\|boss@{ZWJ}acme.example"),
        ("mailto:boss@evil.example", f"mailto{ZWJ}:boss@{ZWJ}evil.example"),
        ("XMPP:boss@evil.example", f"XMPP{ZWJ}:boss@{ZWJ}evil.example"),
        ("#1 GH-2", f"\\#{ZWJ}1 GH{ZWJ}-2"),
        ("a\u200bb\u00adc", "a\ufffdb\ufffdc"),
        ("https://evil.example", f"https:/{ZWJ}/evil.example"),
        ("# Heading", "\\# Heading"),
        ("1. one", "1\\. one"),
        ("- item", "\\- item"),
        ("$x$", "\\$x\\$"),
        ("a\u202eb\nc", "a\ufffdb\ufffdc"),
        ("Mateo García", "Mateo García"),
    ],
)
def test_inert(text: str, expected: str) -> None:
    assert inert(text) == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_renders_as_itself_and_nothing_else(text: str) -> None:
    rendered = html(f"| a | b |\n| --- | --- |\n| {inert(text)} | x |\n")
    cell = re.search(r"<tbody>\s*<tr>\s*<td>(.*?)</td>\s*<td>x</td>", rendered, re.S)
    assert cell, rendered  # still exactly two cells: no pipe escaped the cell
    shown = cell.group(1)
    assert "<" not in shown.replace("&lt;", ""), shown  # no tag of any kind
    assert "&amp;" not in text or "&amp;amp;" in shown
    unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    assert unescaped.replace(ZWJ, "") == scrub(text).replace(ZWJ, "")
    assert not re.search(r"(^|[^A-Za-z0-9_])@[A-Za-z0-9]", unescaped), "an @-mention would ping"
    assert "://" not in unescaped and "www." not in unescaped.lower(), "a bare URL would be a link"


def hostile_plan() -> Plan:
    """A plan file someone edited by hand: every string an attack, every action blocked."""
    actions = []
    for index, text in enumerate(HOSTILE):
        actions.append(
            Action(
                Kind.USER_ADD,
                {"user": f"{text}@acme.example"},
                None,
                {"first_name": text, "last_name": text},
                requires=Role.CONTRACT_MANAGER,
                permitted=False,
                reason=f"ask {text}",
                notifications=(Notification(f"{text}@acme.example", Event.USER_INVITED),),
            )
        )
        actions.append(
            Action(
                Kind.SERIAL_RENAME_GROUP,
                {"contract": text, "serial": str(index)},
                {"group": text},
                {"group": "x"},
            )
        )
    return Plan(
        lineage="<b>lineage</b>",
        revision=1,
        actor="@org/team",
        desired_digest="sha256:0",
        actions=tuple(actions),
    )


def test_a_hostile_plan_renders_no_html_links_or_mentions() -> None:
    rendered = html(render_plan(hostile_plan()))
    tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
    assert tags <= {
        "h3",
        "h4",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
        "pre",
        "details",
        "summary",
        "b",
        "strong",
        "sub",
        "blockquote",
    }, tags
    assert "<a " not in rendered and "<img" not in rendered and "<script" not in rendered
    text = re.sub(r"<[^>]+>", "", rendered).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    outside_code = re.sub(r"<pre>.*?</pre>", "", rendered, flags=re.S)
    assert not re.search(r"(^|[^A-Za-z0-9_])@[A-Za-z0-9]", re.sub(r"<[^>]+>", " ", outside_code))
    assert "<b>lineage</b>" in text  # shown as the text it is


def test_a_code_block_cannot_be_closed_by_a_name() -> None:
    plan = Plan(
        "l",
        0,
        "a@b.example",
        "d",
        (
            Action(
                Kind.USER_ADD,
                {"user": "u@b.example"},
                None,
                {"first_name": "x\n```\n<img src=x>", "last_name": "y"},
            ),
        ),
    )
    markdown = render_plan(plan)
    fences = [line for line in markdown.splitlines() if line.startswith("```")]
    assert fences == ["```diff", "```"]
    assert "<img" not in html(markdown).replace("&lt;img", "")


def big_plan(users: int, blocked_every: int = 0) -> Plan:
    actions = []
    for index in range(users):
        email = f"user{index:05d}@corp.example"
        blocked = bool(blocked_every) and index % blocked_every == 0
        actions.append(
            Action(
                Kind.USER_ADD,
                {"user": email},
                None,
                {"first_name": "First", "last_name": f"Last{index}"},
                permitted=not blocked,
                reason="ask the reseller" if blocked else None,
            )
        )
        actions.append(
            Action(
                Kind.ACCESS_GRANT,
                {"contract": f"1100{index % 7:08d}", "serial": f"399-{index:08d}", "user": email},
                None,
                {"download": index % 2 == 0},
            )
        )
    return Plan("lineage", 3, "orders@cadpartners.example", "d", tuple(actions))


def well_formed(markdown: str) -> None:
    lines = markdown.splitlines()
    fences = [line for line in lines if line.startswith("```")]
    assert len(fences) % 2 == 0, "a code block is left open"
    opened = sum(line.startswith("<details") for line in lines)
    assert opened == sum(line.startswith("</details>") for line in lines), "a <details> is left open"


@pytest.mark.parametrize("limit", [2_000, 2_500, 3_000, 4_321, 7_777, 10_000, 20_000, COMMENT_LIMIT])
def test_a_long_plan_is_cut_on_a_whole_line_and_closed(limit: int) -> None:
    plan = big_plan(2_000, blocked_every=150)
    full = render_plan(plan, limit=10**9)
    markdown = render_plan(plan, limit=limit)
    assert len(markdown.encode()) <= limit
    well_formed(markdown)
    assert markdown.startswith(
        PLAN_MARKER + "\n### reconciler plan: 4,000 to add, 0 to change, 0 to remove, 14 blocked\n"
    )
    assert "| 4,000 | 0 | 0 | 14 | 0 |" in markdown  # the summary is kept
    full_lines = set(full.splitlines())
    kept = markdown.split("> Cut to fit:", 1)[1].split("\n", 1)[1]
    for line in kept.splitlines():
        assert line in full_lines or line.startswith("**… cut here:**"), line  # whole lines only
    shown = sum(1 for line in markdown.splitlines() if line.startswith("+ "))
    cut = 4_000 - shown
    assert f"> Cut to fit: {cut:,} of 4,000 actions are not shown here." in markdown
    # Where the rest is, said at the top and again where a reader who scrolled down stops.
    where = "Run the same command with `--format text` or `--format html` to see every action."
    assert f"> Cut to fit: {cut:,} of 4,000 actions are not shown here. {where}\n" in markdown
    assert markdown.endswith(f"**… cut here:** {cut:,} more actions not shown. {where}\n")


def test_a_plan_that_fits_is_not_cut() -> None:
    markdown = render_plan(big_plan(20))
    assert "Cut to fit" not in markdown
    assert markdown.count("<details>") == 1  # the 20 user.add lines; the grants are spread over 7 contracts
    assert 20 > FOLD_AFTER > 20 // 7


def test_a_drift_is_cut_too() -> None:
    differences = tuple(
        Difference("user", {"user": f"u{index}@corp.example"}, {"first_name": "A", "last_name": "B"}, None)
        for index in range(3_000)
    )
    invites = tuple(
        StaleInvite(f"i{index}@corp.example", "2024-01-01T00:00:00+00:00") for index in range(500)
    )
    drift = Drift("lineage", 1, only_in_store=differences, stale_invites=invites, stale_after_days=30)
    markdown = render_drift(drift, limit=8_000)
    assert len(markdown.encode()) <= 8_000
    well_formed(markdown)
    assert "| 3,000 | 0 | 0 | 500 |" in markdown
    assert "of 3,500 differences are not shown here" in markdown
