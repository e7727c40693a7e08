"""The markdown reports as GitHub renders them: cmark-gfm with GitHub's extensions, autolinks and all.

cmarkgfm is GitHub's fork of cmark (table, autolink, strikethrough,
tagfilter, tasklist). Its autolink extension turns bare URLs, `www.`,
`mailto:`, `xmpp:` and any e-mail address outside code into links, which
markdown-it-py (tests/test_markdown.py) does not. Raw HTML is rendered
(CMARK_OPT_UNSAFE), as GitHub does before it sanitises, so any tag a name
smuggles in shows. GitHub links `@mentions` and `#123` references after
rendering; those are checked on the text.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import cmarkgfm
import pytest
from click.testing import CliRunner
from cmarkgfm.cmark import Options
from conftest import RESELLER, ROOT
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_markdown import HOSTILE, hostile_plan

from reconciler.cli import cli
from reconciler.core.characters import scrub
from reconciler.loading import load_desired_state
from reconciler.report.markdown import inert, render_plan

ZWJ = "\u200d"
ACCOUNT = ROOT / "tests" / "golden" / "hostile-names" / "account.yaml"
#: The tags our own markup makes; nothing else may appear.
OUR_TAGS = {
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
    "ul",
    "li",
}
#: Where a report puts inert text: a table cell, a paragraph, a list item, a heading, a quote, a summary.
CONTEXTS = (
    "| a | b |\n| --- | --- |\n| {} | x |\n",
    "Store {} at revision 1.\n",
    "- {}\n",
    "#### Contract {}\n",
    "> **Note:** {}\n",
    "<details><summary>{}</summary>\n\nx\n\n</details>\n",
)


def github(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, Options.CMARK_OPT_UNSAFE)


def shown_text(rendered: str) -> str:
    """What a reader sees: the text of the HTML, entities decoded, the zero-width joiners inert adds left out."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace(ZWJ, "")


def no_link_tag_or_mention(rendered: str) -> None:
    assert "<a" not in rendered and "<img" not in rendered, rendered
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", rendered))
    assert tags <= OUR_TAGS, tags - OUR_TAGS
    outside_code = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", " ", rendered, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", outside_code))
    assert not re.search(r"(^|[^A-Za-z0-9_])@[A-Za-z0-9]", text), "an @-mention would ping"
    assert not re.search(r"(^|[^A-Za-z0-9_&])#[0-9]|\bGH-[0-9]", text, re.I), "an issue reference would link"


@pytest.mark.parametrize(
    "text",
    [
        "mailto:boss@evil.example",
        "xmpp:boss@evil.example/resource",
        "bob@acme.example",
        "x|boss@acme.example",
        "www.evil.example",
        "https://evil.example",
    ],
)
def test_the_renderer_is_one_that_links_what_github_links(text: str) -> None:
    assert "<a href=" in github(text)


def test_an_address_with_a_pipe_links_another_address_than_the_one_shown() -> None:
    assert (
        github("x|boss@acme.example") == '<p>x|<a href="mailto:boss@acme.example">boss@acme.example</a></p>\n'
    )


@pytest.mark.parametrize(
    "context", CONTEXTS, ids=["cell", "paragraph", "item", "heading", "quote", "summary"]
)
@pytest.mark.parametrize("text", HOSTILE)
def test_inert_text_is_no_link_and_reads_as_written(text: str, context: str) -> None:
    rendered = github(context.format(inert(text)))
    no_link_tag_or_mention(rendered)
    if not context.startswith("<details>"):  # raw HTML: markdown, and so its escapes, is not read there
        assert scrub(text).replace(ZWJ, "") in shown_text(rendered)


#: Pieces that start markup, links and mentions, to be put together at random.
PIECES = [
    *"@:/.|*#_~`$[]()<>!&\\-+= \u200d\u200c\ufffd",
    "mailto:",
    "MAILTO:",
    "xmpp:",
    "http://",
    "https://",
    "ftp://",
    "www.",
    "WWW.",
    "a@b.example",
    "x|y@b.example",
    "@org/team",
    "users[0]",
    "acme",
    "example",
    "1",
    "GH-",
    "x",
    "\u202e",
    "\u200b",
]


@settings(max_examples=1_500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
# A block marker after up to three spaces still starts a block (found by this test).
@example(" --")
@example("   - item")
def test_no_text_put_together_from_hostile_pieces_becomes_a_link(text: str) -> None:
    for context in CONTEXTS[:3]:
        rendered = github(context.format(inert(text)))
        no_link_tag_or_mention(rendered)
        assert scrub(text).replace(ZWJ, "").strip() in shown_text(rendered)


def test_a_hostile_plan_file_renders_no_link_tag_or_mention() -> None:
    rendered = github(render_plan(hostile_plan()))
    no_link_tag_or_mention(rendered)
    assert "<b>lineage</b>" in shown_text(rendered)


def cells(rendered: str, header: str) -> list[str]:
    """The text of the first column of the table whose first header is `header`."""
    table = re.search(rf"<table>\s*<thead>\s*<tr>\s*<th>{header}</th>.*?</table>", rendered, re.S)
    assert table, rendered
    return [shown_text(cell) for cell in re.findall(r"<tr>\s*<td>(.*?)</td>", table.group(), re.S)]


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, str]:
    """Every markdown report of the hostile account: plan, history, drift and validate."""
    url = f"sqlite:///{tmp_path / 'store.db'}"

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "--store", url] if args[0] != "validate" else list(args))
        assert result.exit_code == (1 if args[0] == "validate" else 2 if args[0] == "drift" else 0), (
            result.output
        )
        return result.stdout

    run("init", "--reseller", RESELLER)
    found = {"plan": run("plan", str(ACCOUNT), "--format", "markdown", "--actor", RESELLER)}
    run("apply", str(ACCOUNT), "--auto-approve", "--actor", RESELLER)
    found["history"] = run("history", "--format", "markdown")
    # Git without Alice's access: the drift shows what the store has, and who never signed in.
    fewer = tmp_path / "fewer.yaml"
    text = ACCOUNT.read_text(encoding="utf-8")
    fewer.write_text(text.replace('    access:\n      - serial: "399-12345678"\n', ""), encoding="utf-8")
    # Stale invitations are judged on the real day: the store stamped them with the real time.
    today = datetime.now(UTC).date().isoformat()
    found["drift"] = run(
        "drift", str(fewer), "--format", "markdown", "--stale-invites", "0", "--today", today
    )
    # Every address and name as a key, a bad address as the manager: the fields are named in paths.
    invalid = tmp_path / "invalid.yaml"
    keys = "".join(f'    "{email}": 1\n' for email in EMAILS)
    invalid.write_text(
        text.replace("    manager: alice@acme.example", '    manager: "mailto:boss@evil.example"').replace(
            '    first_name: "Www"\n', '    first_name: "Www"\n' + keys
        ),
        encoding="utf-8",
    )
    found["validate"] = run("validate", str(invalid), "--format", "markdown")
    return found


EMAILS = sorted(user.email for user in load_desired_state([str(ACCOUNT)]).users)


@pytest.mark.parametrize("report", ["plan", "history", "drift", "validate"])
def test_every_report_of_the_hostile_account_has_no_link_tag_or_mention(
    reports: dict[str, str], report: str
) -> None:
    rendered = github(reports[report])
    no_link_tag_or_mention(rendered)
    for email in EMAILS:
        assert email in shown_text(rendered), email


def test_each_address_reads_exactly_as_written(reports: dict[str, str]) -> None:
    assert cells(github(reports["plan"]), "person") == EMAILS
    assert cells(github(reports["drift"]), "user") == EMAILS
    problems = re.findall(r"<li>(.*?)</li>", github(reports["validate"]), re.S)
    unknown = [shown_text(p) for p in problems if "unknown field" in p]
    assert [line.split(": ")[1].removeprefix("users[6].") for line in unknown] == EMAILS
    assert any("'mailto:boss@evil.example' is not a valid e-mail address" in shown_text(p) for p in problems)
