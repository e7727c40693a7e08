"""How long a big plan's HTML page takes to render and to open in headless Chromium, and its size.

    python tests/bench/bench_html.py            # 10,000 users (the target: opens in under 3 s)
    python tests/bench/bench_html.py 1000 10000

For each size: the plan of a generated account into an empty SQLite store, as
the reseller; the time `plan_html` takes; the page's size; and the median of
3 loads of the page in the system's Chromium (tests/browser.py), each in a
fresh context: to the `load` event, and to the first layout of the whole page
(reading `document.body.innerText` makes the browser lay it out).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from common import RUNS, account_file

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

from browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP  # noqa: E402

from reconciler.cli import cli  # noqa: E402
from reconciler.core.plan import Plan  # noqa: E402
from reconciler.core.planfile import load_plan  # noqa: E402
from reconciler.report.html import plan_html  # noqa: E402

RESELLER = "orders@cadpartners.example"


def big_plan(folder: Path, users: int) -> Plan:
    """The plan of a generated account of `users` users into a new store, as the reseller."""
    account = account_file(folder, users)
    url = f"sqlite:///{folder / f'bench-{users}.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--reseller", RESELLER, "--store", url]).exit_code == 0
    result = runner.invoke(
        cli, ["plan", str(account), "--format", "json", "--actor", RESELLER, "--store", url]
    )
    assert result.exit_code == 0, result.output
    return load_plan(result.stdout, "plan.json")


def main(sizes: list[int]) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temporary, sync_playwright() as playwright:
        folder = Path(temporary)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        print("| users | actions | plan_html | page size | Chromium: load | load and layout |")
        print("|---:|---:|---:|---:|---:|---:|")
        for users in sizes:
            plan = big_plan(folder, users)
            started = time.perf_counter()
            html = plan_html(plan)
            rendered = time.perf_counter() - started
            page_file = folder / f"plan-{users}.html"
            page_file.write_text(html, encoding="utf-8")
            loads, layouts = [], []
            for _ in range(RUNS):
                context = browser.new_context(viewport=DESKTOP)
                page = context.new_page()
                started = time.perf_counter()
                page.goto(page_file.as_uri(), wait_until="load")
                loads.append(time.perf_counter() - started)
                page.evaluate("document.body.innerText.length")
                layouts.append(time.perf_counter() - started)
                context.close()
            size = len(html.encode())
            print(
                f"| {users:,} | {len(plan.actions):,} | {rendered:.2f} s | {size / 1_000_000:.1f} MB | "
                f"{statistics.median(loads):.2f} s | {statistics.median(layouts):.2f} s |"
            )
        browser.close()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000])
