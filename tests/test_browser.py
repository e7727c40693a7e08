"""The HTML reports in a real headless Chromium (tests/browser.py): what a reader's browser does.

For the example plan, a plan with blocked actions, the golden drift, a usage report and the
hostile-names account (as a plan, a drift and a usage page): the page loads with no console error
or warning and no request to anywhere; each hostile name is shown as text; the page has exactly the
elements of the same page with every user-written string replaced by a plain placeholder (so no name
adds an element, a link or a script); no script, link, image or event handler; every <details> and
table the source opens is one in the DOM. A 10,000-user plan opens (its speed is measured by
tests/bench/bench_html.py). A screenshot of each page goes to the artifacts folder; with
UPDATE_SCREENSHOTS=1 the example plan's and the usage report's are copied to docs/ for docs/html-reports.md.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, Chromium, Loaded, artifacts, chromium_session
from conftest import ROOT
from markupsafe import escape
from pages import (
    RTL_FIRST,
    RTL_LAST,
    accounts_plans,
    change_as_cm_plan,
    example_drift,
    example_plan,
    example_usage,
    hostile_accounts,
    hostile_drift,
    hostile_plan,
    hostile_strings,
    hostile_usage,
    placeholders,
    rtl_drift,
    rtl_plan,
    rtl_usage,
)

from reconciler.report.accounts import plans_html
from reconciler.report.html import drift_html, plan_html, usage_html

chromium = pytest.fixture(scope="session", name="chromium")(chromium_session)

#: page name: (how its data is made, how it is rendered)
PAGES: dict[str, tuple[Callable[[Path], Any], Callable[[Any], str]]] = {
    "example-plan": (example_plan, plan_html),
    "blocked-plan": (change_as_cm_plan, plan_html),
    "drift": (example_drift, drift_html),
    "usage": (example_usage, usage_html),
    "hostile-plan": (hostile_plan, plan_html),
    "hostile-drift": (hostile_drift, drift_html),
    "hostile-usage": (hostile_usage, usage_html),
    "rtl-plan": (rtl_plan, plan_html),
    "rtl-drift": (rtl_drift, drift_html),
    "rtl-usage": (rtl_usage, usage_html),
    "accounts-plan": (accounts_plans, plans_html),
    "hostile-accounts": (hostile_accounts, plans_html),
}
#: Copied to docs/ with UPDATE_SCREENSHOTS=1: docs/html-reports.md shows them.
DOC_SHOTS = {"example-plan": "plan.png", "usage": "usage.png"}
_NOTHING = ("script", "a", "link", "img", "iframe", "object", "embed", "form", "base", "meta_refresh")


def _clean(loaded: Loaded) -> None:
    assert loaded.console == [], loaded.console
    assert loaded.errors == [], loaded.errors
    assert loaded.requests == [], loaded.requests


def _balanced(html: str, loaded: Loaded) -> None:
    """What the source opens is what the browser built: no user text closed or opened a block."""
    assert loaded.counts["details"] == html.count("<details")
    assert loaded.counts["summary"] == html.count("<summary>") == loaded.counts["details"]
    assert loaded.counts["summary_outside_details"] == 0
    assert loaded.counts["table"] == html.count("<table")
    # A workspace's page links its table to each account's section, and to nothing off the page.
    nothing = _NOTHING if "<a " not in html else tuple(name for name in _NOTHING if name != "a")
    assert {name: loaded.counts[name] for name in nothing} == dict.fromkeys(nothing, 0)
    assert loaded.counts["a_leaving"] == 0
    assert loaded.counts["a"] == html.count('<a href="#')
    assert loaded.counts["on_attributes"] == 0


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_loads_offline_and_cleanly(name: str, chromium: Chromium, tmp_path: Path) -> None:
    make, render = PAGES[name]
    data = make(tmp_path)
    html = render(data)
    loaded = chromium.open(html, name)
    _clean(loaded)
    _balanced(html, loaded)
    # A name adds no element: the page of placeholders has the very same tags, in the same order.
    plain = chromium.open(render(placeholders(data)), f"{name}-placeholders", screenshot=False)
    _clean(plain)
    assert loaded.tags == plain.tags
    if name.startswith("hostile"):
        # Each hostile string the page prints is shown as text, as written: the plan prints all of
        # them; a drift and a usage report what they are about.
        shown = " ".join(loaded.text.split())
        printed = [text for text in hostile_strings() if str(escape(text)) in html]
        assert printed == hostile_strings() if name == "hostile-plan" else printed
        assert [text for text in printed if " ".join(text.split()) not in shown] == []
    if name in DOC_SHOTS and os.environ.get("UPDATE_SCREENSHOTS"):
        assert loaded.screenshot is not None
        shutil.copyfile(loaded.screenshot, ROOT / "docs" / DOC_SHOTS[name])


#: Where the browser drew each of `texts`, the first time each appears: the box of its glyphs.
_BOXES = """(texts) => {
  const boxes = {};
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const text of texts) {
      const at = node.data.indexOf(text);
      if (text in boxes || at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + text.length);
      const box = range.getBoundingClientRect();
      boxes[text] = {left: box.left, right: box.right, top: box.top};
    }
  }
  return boxes;
}"""


@pytest.mark.parametrize("name", ["rtl-plan", "rtl-drift"])
def test_a_right_to_left_name_keeps_its_place(name: str, chromium: Chromium, tmp_path: Path) -> None:
    """First name, then last name, left to right on this English page, each laid out in its own
    direction: the Arabic last name, digits first, does not pull the Hebrew first name after it."""
    make, render = PAGES[name]
    page_file = tmp_path / f"{name}.html"
    page_file.write_text(render(make(tmp_path)), encoding="utf-8")
    context = chromium.browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        boxes = page.evaluate(_BOXES, [RTL_FIRST, RTL_LAST, "مريم", "1+1+"])
    finally:
        context.close()
    first, last = boxes[RTL_FIRST], boxes[RTL_LAST]
    assert abs(first["top"] - last["top"]) < 1, boxes  # one line
    assert first["right"] <= last["left"] + 0.5, boxes  # the first name first
    # Inside the last name, its own direction: right to left, the Arabic word left of the digits.
    assert boxes["مريم"]["right"] <= boxes["1+1+"]["left"] + 0.5, boxes


def test_the_pages_policy_refuses_what_would_call_out(chromium: Chromium, tmp_path: Path) -> None:
    """Were anything to reach the page that asks for a resource, its CSP stops it before it goes."""
    html = plan_html(example_plan(tmp_path)).replace(
        "<main>",
        '<main><img src="https://example.com/a.png"><link rel="stylesheet" href="https://example.com/a.css">'
        '<iframe src="https://example.com/"></iframe><div style="background:url(https://example.com/b.png)">x</div>',
    )
    loaded = chromium.open(html, "policy", screenshot=False)
    assert loaded.requests == []
    assert len(loaded.console) >= 3
    assert all("Content Security Policy" in message for message in loaded.console), loaded.console


def test_on_paper_folded_groups_are_printed_open_and_dark_is_not(chromium: Chromium, tmp_path: Path) -> None:
    page_file = tmp_path / "plan.html"
    page_file.write_text(plan_html(example_plan(tmp_path)), encoding="utf-8")
    context = chromium.browser.new_context(color_scheme="dark")
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        read = """() => ({
          background: getComputedStyle(document.body).backgroundColor,
          folded: document.querySelector('details:not([open]) tr').checkVisibility(),
        })"""
        on_screen = page.evaluate(read)
        assert on_screen == {"background": "rgb(13, 17, 23)", "folded": False}  # dark, and folded
        page.emulate_media(media="print")
        assert page.evaluate(read)["background"] == "rgb(255, 255, 255)"
        assert page.evaluate(read)["folded"] is True
        page.pdf(path=str(artifacts() / "example-plan.pdf"))
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["blocked-plan", "usage"])
def test_the_page_reads_on_a_phone_in_either_scheme(
    name: str, scheme: str, chromium: Chromium, tmp_path: Path
) -> None:
    make, render = PAGES[name]
    loaded = chromium.open(
        render(make(tmp_path)), f"{name}-phone-{scheme}", viewport=PHONE, color_scheme=scheme
    )
    _clean(loaded)
    # Nothing is wider than the phone; what needs acting on comes before the groups.
    assert loaded.counts["overflow"] <= 0
    first = "Blocked:" if name == "blocked-plan" else "Renewal due"
    assert loaded.text.index(first) < loaded.text.index("Contract ")


def test_a_10000_user_plan_opens(chromium: Chromium, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    from bench_html import big_plan

    html = plan_html(big_plan(tmp_path, 10_000))
    loaded = chromium.open(html, "plan-10000-users", whole=False)
    _clean(loaded)
    assert loaded.counts["table"] == html.count("<table")
    assert loaded.text.startswith("reconciler plan: ")


#: Where the browser drew each action's sentence and its reviewer's label: one line under the other.
_SAID = """() => Array.from(document.querySelectorAll('td.sentence')).map(cell => {
  const said = cell.querySelector('.said').getBoundingClientRect();
  const kind = cell.querySelector('.kind').getBoundingClientRect();
  return {said: cell.querySelector('.said').innerText, kind: cell.querySelector('.kind').innerText,
          below: kind.top >= said.bottom - 0.5, smaller: parseFloat(getComputedStyle(cell.querySelector('.kind')).fontSize)
            < parseFloat(getComputedStyle(cell.querySelector('.said')).fontSize)};
})"""


def test_a_manager_reads_each_action_as_a_sentence_naming_the_product(
    chromium: Chromium, tmp_path: Path
) -> None:
    plan = change_as_cm_plan(tmp_path)
    html = plan_html(plan)
    loaded = chromium.open(html, "sentences")
    _clean(loaded)
    shown = loaded.text
    assert "Give Nora Berg access to Vault Professional (serial 562-20000002)" in shown
    assert "Take Ivan Petrov's access to AutoCAD (serial 399-12345678) away" in shown
    assert "Change the seats of AutoCAD (serial 399-12345678)" in shown
    assert (
        "only a reseller (orders@cadpartners.example) may change the seats of AutoCAD (serial 399-12345678)"
        in shown
    )
    context = chromium.browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        page.set_content(html)
        cells = page.evaluate(_SAID)
    finally:
        context.close()
    # Blocked first (3), then every row of the groups: the sentence leads, the kind is the small print under it.
    assert len(cells) == len(plan.blocked) + len(plan.actions) == 3 + 10
    assert all(cell["below"] and cell["smaller"] for cell in cells), cells
    assert {
        "said": "Give Nora Berg access to Vault Professional (serial 562-20000002)",
        "kind": "access.grant nora.berg@acme.example on 562-20000002",
        "below": True,
        "smaller": True,
    } in cells
