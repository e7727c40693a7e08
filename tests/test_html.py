"""The HTML reports without a browser: escaping, the page's policy, its structure, its bytes, the CLI.

A browser's view of the same pages is tests/test_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, RESELLER, ROOT
from markupsafe import escape
from pages import (
    HOSTILE,
    change_as_cm_plan,
    example_drift,
    example_plan,
    example_usage,
    hostile_drift,
    hostile_plan,
    hostile_strings,
    hostile_usage,
    rtl_drift,
    rtl_plan,
    rtl_strings,
    rtl_usage,
)
from test_golden import CASES, make_store

from reconciler.cli import cli
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action, Plan, Standing
from reconciler.core.planfile import load_plan
from reconciler.core.records import ContractUsage, SerialUsage, StaleInvite, Usage
from reconciler.report.html import CONTENT_SECURITY_POLICY, drift_html, plan_html, usage_html
from reconciler.report.text import render_usage

CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
#: Every element a report may hold; anything else came from somewhere it should not have.
ALLOWED = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "footer", "section",
    "h1", "h2", "h3", "p", "b", "code", "span", "div", "table", "thead", "tbody", "tr", "th", "td",
    "details", "summary", "svg", "rect", "bdi",
}  # fmt: skip
#: Elements that must be closed, in order: each one the page opens, it closes, where it opened it.
NESTED = {"details", "summary", "table", "thead", "tbody", "tr", "td", "th", "section", "div", "svg"}


class _Structure(HTMLParser):
    """A stack check: every NESTED element closed in the order opened; every tag and attribute kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}
        if tag in NESTED:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes |= {name for name, _ in attrs}

    def handle_endtag(self, tag: str) -> None:
        if tag not in NESTED:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def structure(html: str) -> _Structure:
    parsed = _Structure()
    parsed.feed(html)
    parsed.close()
    assert parsed.problems == [] and parsed.stack == [], (parsed.problems, parsed.stack)
    return parsed


PAGES = {
    "example-plan": lambda folder: plan_html(example_plan(folder)),
    "blocked-plan": lambda folder: plan_html(change_as_cm_plan(folder)),
    "drift": lambda folder: drift_html(example_drift(folder)),
    "usage": lambda folder: usage_html(example_usage(folder)),
    "hostile-plan": lambda folder: plan_html(hostile_plan(folder)),
    "hostile-drift": lambda folder: drift_html(hostile_drift(folder)),
    "hostile-usage": lambda folder: usage_html(hostile_usage(folder)),
    "rtl-plan": lambda folder: plan_html(rtl_plan(folder)),
    "rtl-drift": lambda folder: drift_html(rtl_drift(folder)),
    "rtl-usage": lambda folder: usage_html(rtl_usage(folder)),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_is_one_file_that_asks_for_nothing(name: str, tmp_path: Path) -> None:
    html = PAGES[name](tmp_path)
    assert html.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert html.count(CSP_META) == 1
    assert "prefers-color-scheme: dark" in html and "@media print" in html
    parsed = structure(html)
    assert set(parsed.tags) <= ALLOWED, set(parsed.tags) - ALLOWED
    assert not [
        a for a in parsed.attributes if a.startswith("on") or a in ("href", "src", "srcset", "action")
    ]
    assert "<script" not in html.lower()
    if not name.startswith("hostile"):  # a hostile name may say "https://" as text, escaped
        assert "http" not in html.replace("http-equiv", "") and "//" not in html
    again = tmp_path / "again"
    again.mkdir()
    assert html == PAGES[name](again)  # same input, same bytes


@pytest.mark.parametrize("name", ["hostile-plan", "hostile-drift", "hostile-usage"])
def test_every_hostile_name_is_escaped(name: str, tmp_path: Path) -> None:
    html = PAGES[name](tmp_path)
    shown = [text for text in hostile_strings() if str(escape(text)) in html]
    assert shown
    if name == "hostile-plan":
        assert shown == hostile_strings()  # the plan names every one of them
    for text in hostile_strings():
        if re.search(r"[<>&\"']", text):
            assert text not in html, text
    # What a name tried to open stays text: the page has no more of these than the template makes.
    structure(html)
    assert "<img" not in html and "<script" not in html and "</details><summary>@" not in html


def test_controls_and_bidi_overrides_are_replaced_as_in_the_other_reports() -> None:
    sneaky = "Ca\u202erol\x1b[31m\u2028Smith\u200b"
    plan = Plan(
        "lineage",
        0,
        RESELLER,
        "sha256:0",
        (
            Action(
                Kind.USER_ADD, {"user": "carol@acme.example"}, None, {"first_name": sneaky, "last_name": "S"}
            ),
        ),
    )
    html = plan_html(plan)
    for char in "\u202e\x1b\u2028\u200b":
        assert char not in html
    assert "<bdi>Ca\ufffdrol\ufffd[31m\ufffdSmith\ufffd</bdi> <bdi>S</bdi>" in html
    usage = Usage(
        "lineage",
        1,
        "2026-12-01",
        90,
        30,
        (
            ContractUsage(
                "110001234567",
                "alice@acme.example",
                None,
                None,
                False,
                (
                    SerialUsage(
                        "399-12345678",
                        sneaky,
                        None,
                        "alice@acme.example",
                        2,
                        2,
                        1,
                        (StaleInvite("a\u202e@x", "t"),),
                    ),
                ),
            ),
        ),
    )
    html = usage_html(usage)
    assert "\u202e" not in html and "Ca\ufffdrol" in html
    assert '<span class="tag full">full</span>' in html  # 2 of 2 seats


@pytest.mark.parametrize("name", ["rtl-plan", "rtl-drift", "rtl-usage"])
def test_every_field_users_wrote_is_isolated_in_a_bdi(name: str, tmp_path: Path) -> None:
    """A field of one direction cannot take its neighbours with it (see test_browser.py for the layout):
    wherever a page prints a string users wrote, that string is the whole of a <bdi>."""
    body = PAGES[name](tmp_path).split("<body>", 1)[1]
    printed = [text for text in rtl_strings() if str(escape(text)) in body]
    # A plan and a drift print every one; the seat report its numbers, e-mails, products and groups.
    assert printed == rtl_strings() if name != "rtl-usage" else len(printed) == 7, printed
    for text in printed:
        assert body.count(str(escape(text))) == body.count(f"<bdi>{escape(text)}</bdi>"), text


def test_names_in_the_notes_are_isolated_too() -> None:
    plan = Plan("lineage", 0, RESELLER, "sha256:0", targets=("team:צוות 2",), unmanaged_policy="keep")
    plan = dataclasses.replace(plan, unmanaged=("dana@acme.example",))
    html = plan_html(plan)
    assert "Targeted:</b> only team:<bdi>צוות 2</bdi> and what it needs;" in html
    assert "(unmanaged_users: keep): <bdi>dana@acme.example</bdi>." in html


def test_isolates_in_an_edited_plan_file_add_no_element() -> None:
    """The marks that become <bdi> are FSI and PDI; any a plan file holds (edited past validation, in
    a value, a key or a word of its own) shows as U+FFFD, and every <bdi> opened is closed."""
    names = {"first_name": "\u2069</bdi>A", "last_name": "B\u2068"}
    serial = {"product": "P", "x\u2068y": "z"}
    plan = Plan(
        "lineage",
        0,
        RESELLER,
        "sha256:0",
        (
            Action(Kind.USER_ADD, {"user": "c\u2069@acme.example"}, None, names),
            Action(Kind.SERIAL_CREATE, {"contract": "1", "serial": "2"}, None, serial),
        ),
        targets=("team\u2068:\u2069y",),
        unmanaged_policy="\u2068kept",
        unmanaged=("d\u2068@acme.example",),
    )
    html = plan_html(plan)
    assert "\u2068" not in html and "\u2069" not in html
    # Each <bdi> of the rows' reviewer labels, again in their sentences: the user, the product, the serial.
    assert html.count("<bdi>") == html.count("</bdi>") == 13
    structure(html)
    assert "<bdi>\ufffd&lt;/bdi&gt;A</bdi> <bdi>B\ufffd</bdi>" in html
    assert "product <bdi>P</bdi>, x\ufffdy <bdi>z</bdi>" in html
    assert "only team\ufffd:<bdi>\ufffdy</bdi> and what it needs" in html
    assert "(unmanaged_users: \ufffdkept): <bdi>d\ufffd@acme.example</bdi>." in html


def test_blocked_actions_come_first_with_who_may_do_them(tmp_path: Path) -> None:
    html = plan_html(change_as_cm_plan(tmp_path))
    blocked = html.index("<h2>Blocked: 3 actions the actor may not perform</h2>")
    assert blocked < html.index("<h2>Users</h2>") < html.index("<h2>Contract <bdi>110001234567</bdi></h2>")
    assert html.index('class="cards"') < blocked
    assert '<td data-label="needs">the reseller</td>' in html
    # Each blocked action leads with what it does, its serial's product named; then, small, its kind.
    assert (
        '<td data-label="action" class="sentence"><span class="said">Change the seats of <bdi>AutoCAD</bdi> '
        '(serial <bdi>399-12345678</bdi>)</span> <span class="kind"><code>serial.seats_change</code> '
        "<bdi>399-12345678</bdi></span></td>"
    ) in html
    assert (
        "only a reseller (orders@cadpartners.example) may change the seats of AutoCAD (serial 399-12345678); "
        "a Contract Manager can only request it (apply --request asks the reseller)</td>"
    ) in html


def test_every_action_reads_as_a_sentence_with_names_and_products(tmp_path: Path) -> None:
    html = plan_html(change_as_cm_plan(tmp_path))
    said = re.findall(r'<span class="said">(.*?)</span>', html)
    words = [re.sub(r"</?bdi>", "", s).replace("&#39;", "'") for s in said]
    assert "Give Nora Berg access to Vault Professional (serial 562-20000002)" in words
    assert "Take Ivan Petrov's access to AutoCAD (serial 399-12345678) away" in words
    assert "Change Carol Smith's access to Revit (serial 399-12345679), without downloads any more" in words
    assert "Rename the group of AutoCAD (serial 399-12345681)" in words
    assert "Change coordinator Dana Lund on contract 110001234567" in words
    # Every serial a sentence names has its product beside it; each action is one sentence.
    assert not [w for w in words if re.search(r"(?<!\()serial \d", w)]
    assert len(said) == len(re.findall(r'<tr class="(add|change|remove)"><td class="sym">', html)) + 3
    # The example's grants with downloads say so.
    (tmp_path / "example").mkdir()
    html = plan_html(example_plan(tmp_path / "example"))
    assert (
        "Give <bdi>Carol</bdi> <bdi>Smith</bdi> access to <bdi>Revit</bdi> (serial <bdi>399-12345679</bdi>), "
        "with downloads</span>"
    ) in html


def test_a_saved_plan_of_format_4_shows_without_products_or_names(tmp_path: Path) -> None:
    plan = dataclasses.replace(change_as_cm_plan(tmp_path), products={}, user_names={}, standing=None)
    html = plan_html(plan)
    assert "Give <bdi>nora.berg@acme.example</bdi> access to serial <bdi>562-20000002</bdi></span>" in html
    assert "No role" not in html


def test_an_actor_with_no_role_is_told_once_at_the_top(tmp_path: Path) -> None:
    plan = change_as_cm_plan(tmp_path)
    plan = dataclasses.replace(
        plan,
        actor="orders@cadpartner.example",
        standing=Standing((), ("orders@cadpartners.example",), ("orders@cadpartners.example",)),
    )
    html = plan_html(plan)
    note = (
        '<p class="note warning"><b>No role:</b> <bdi>orders@cadpartner.example</bdi> holds no role in this '
        "store (no reseller, Contract Manager or coordinator has that address): every action is blocked. "
        "Is --actor spelt right? Did you mean <bdi>orders@cadpartners.example</bdi> (a reseller)?</p>"
    )
    assert html.count(note) == 1 and html.count("holds no role") == 1
    assert html.index('class="cards"') < html.index(note) < html.index('<section class="blocked-box">')


def test_long_groups_are_folded_and_short_ones_are_not(tmp_path: Path) -> None:
    html = plan_html(example_plan(tmp_path))
    assert "<details><summary><code>user.add</code>: 13 to add</summary>" in html
    assert "<h3><code>serial.create</code>: 4 to add</h3>" in html


def test_seat_bars_show_the_share_of_seats_assigned(tmp_path: Path) -> None:
    usage = example_usage(tmp_path)
    over = dataclasses.replace(usage.contracts[0].serials[0], seats=2, assigned=3)
    html = usage_html(
        dataclasses.replace(usage, contracts=(dataclasses.replace(usage.contracts[0], serials=(over,)),))
    )
    assert '<svg class="bar over"' in html and '<rect class="used" width="100.0" height="10"/>' in html
    html = usage_html(usage)
    assert (
        'aria-label="5 of 10 seats assigned"><rect class="track" width="100" height="10"/><rect class="used" width="50.0"'
        in html
    )
    # What needs action comes before the contracts, in the text report's order.
    assert (
        html.index("<h2>Unused seats: 16 on 6 serials</h2>")
        < html.index("<h2>Still invited 30 days or more after being added: 2 users</h2>")
        < html.index("<h2>Renewal due within 180 days: 1 contract</h2>")
        < html.index("<h2>Contract")
    )
    text = "\n".join(render_usage(usage))
    assert text.index("Unused seats") < text.index("Still invited") < text.index("Renewal due")


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def test_the_command_line_prints_html_with_the_usual_exit_codes(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "example-plan")
    url = make_store(tmp_path, case)
    actor = ["--actor", RESELLER, "--store", url]
    code, page = _invoke(
        "plan", str(EXAMPLES / "acme"), "--format", "html", "--out", str(tmp_path / "p.json"), *actor
    )
    assert code == 0 and page == plan_html(load_plan((tmp_path / "p.json").read_text(), "p.json"))
    assert page.startswith("<!doctype html>") and "Saved the plan" not in page
    assert _invoke("plan", str(EXAMPLES / "acme"), "--format", "html", "--detailed-exitcode", *actor)[0] == 2
    code, shown = _invoke("show", str(tmp_path / "p.json"), "--format", "html")
    assert (code, shown) == (0, page)
    assert (
        _invoke("plan", str(HOSTILE), "--format", "html", "--actor", "nobody@acme.example", "--store", url)[0]
        == 3
    )
    code, drift = _invoke("drift", str(EXAMPLES / "acme"), "--format", "html", "--store", url)
    assert code == 2 and "<h1>reconciler drift: the store differs from git</h1>" in drift
    assert _invoke("apply", str(tmp_path / "p.json"), "--auto-approve", *actor)[0] == 0
    code, drift = _invoke("drift", str(EXAMPLES / "acme"), "--format", "html", "--store", url)
    assert code == 0 and "No drift. The store matches git." in drift
    code, usage = _invoke("usage", "--stale-invites", "30", "--format", "html", "--store", url)
    assert (
        code == 0 and usage.startswith("<!doctype html>") and "<h2>Contract <bdi>110001234567</bdi>" in usage
    )


@pytest.mark.parametrize("command", ["plan", "show", "drift", "usage"])
def test_help_names_html_with_an_example(command: str) -> None:
    code, text = _invoke(command, "--help")
    assert code == 0 and "html" in text and "--format html >" in text


def test_the_docs_show_both_screenshots() -> None:
    page = (ROOT / "docs" / "html-reports.md").read_text(encoding="utf-8")
    for name in ("plan.png", "usage.png"):
        assert f"]({name})" in page  # beside the page, in docs/
        assert (ROOT / "docs" / name).read_bytes().startswith(b"\x89PNG")
    assert "reconciler plan examples/acme --format html > plan.html" in page


def test_the_drift_page_names_the_product_beside_each_serial(tmp_path: Path) -> None:
    drift = example_drift(tmp_path)
    named = [d for d in (*drift.only_in_store, *drift.only_in_git, *drift.differ) if "serial" in d.target]
    assert {d.target["serial"] for d in named} == set(drift.products)
    assert drift.products["399-12345681"] == "AutoCAD"
    page = drift_html(drift)
    for serial, product in drift.products.items():
        line = next(ln for ln in page.splitlines() if serial in ln and "muted" in ln)
        assert f'<span class="muted">(<bdi>{escape(product)}</bdi>)</span>' in line, (serial, line)
