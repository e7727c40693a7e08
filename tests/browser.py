"""A real headless Chromium for the HTML reports: one per test session, driven by Playwright.

`chromium_session` (made a session fixture `chromium` by each test module that uses it) opens an HTML page from a file:// URL and
reports what a reader's browser did with it: console messages of level
error or warning, page errors, every request other than the page itself
(each is recorded, then refused), the text shown, every element's tag name,
and a full-page screenshot kept in the artifacts folder (tests/artifacts/,
git-ignored, or $RECONCILER_ARTIFACTS) for a person to look at.

It uses the system's browser (Debian's `chromium`, which .ci/run installs),
never one Playwright downloads. Without it, or without Playwright, the
browser tests skip with one line saying why; with CI set they fail instead,
as the PostgreSQL tests do (tests/required.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from required import require

ROOT = Path(__file__).resolve().parent.parent
#: The browser: $RECONCILER_CHROMIUM, else Debian's package, else whatever `chromium` is on PATH.
CHROMIUM = os.environ.get("RECONCILER_CHROMIUM") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or ""
)
#: Quiet and offline: no sandbox (CI runs as root), and none of the calls home a new profile makes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
#: A desktop reader's window (the screenshots in docs/) and a phone's.
DESKTOP = {"width": 1000, "height": 800}
PHONE = {"width": 375, "height": 740}


def artifacts() -> Path:
    """Where screenshots go: $RECONCILER_ARTIFACTS, else tests/artifacts/."""
    folder = Path(os.environ.get("RECONCILER_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_chromium() -> None:
    """Skip (on a laptop) or fail (when CI is set) unless Playwright and a Chromium are here."""
    problem = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright for Python is not installed (pip install -e '.[test]')"
    if not problem and not (CHROMIUM and Path(CHROMIUM).exists()):
        problem = "no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)"
    require(problem, "the browser tests", "the browser tests need it")


@dataclass
class Loaded:
    """What the browser made of one page."""

    url: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    text: str = ""
    tags: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    screenshot: Path | None = None
    seconds: float = 0.0


#: Read from the page once it has loaded (unless `whole` is false, every <details> opened first, so
#: that its text is shown, and every element's tag name listed).
_INSPECT = """(whole) => {
  if (whole) document.querySelectorAll('details').forEach(d => { d.open = true; });
  const all = Array.from(document.querySelectorAll('*'));
  const count = s => document.querySelectorAll(s).length;
  return {
    text: whole ? document.body.innerText : document.querySelector('h1').innerText,
    tags: whole ? all.map(e => e.tagName.toLowerCase()) : [],
    counts: {
      details: count('details'), summary: count('summary'), table: count('table'),
      summary_outside_details: count('summary:not(details > summary)'),
      script: count('script'), a: count('a'), link: count('link'), img: count('img'),
      a_leaving: count('a:not([href^="#"])'),
      iframe: count('iframe'), object: count('object'), embed: count('embed'), form: count('form'),
      base: count('base'), meta_refresh: count('meta[http-equiv="refresh" i]'),
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      on_attributes: all.filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
    },
  };
}"""


class Chromium:
    """One browser for the session; `open` loads a page in a fresh context and inspects it."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def open(
        self,
        html: str,
        name: str,
        viewport: dict[str, int] = DESKTOP,
        color_scheme: str = "light",
        screenshot: bool = True,
        whole: bool = True,
    ) -> Loaded:
        import time

        folder = Path(tempfile.mkdtemp(prefix="reconciler-html-"))
        page_file = folder / f"{name}.html"
        page_file.write_text(html, encoding="utf-8")
        loaded = Loaded(page_file.as_uri())
        context = self.browser.new_context(viewport=viewport, color_scheme=color_scheme)
        try:
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    loaded.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
                ),
            )
            page.on("pageerror", lambda e: loaded.errors.append(str(e)))

            def route(route: Any) -> None:
                if route.request.url == loaded.url:
                    route.continue_()
                else:
                    loaded.requests.append(route.request.url)
                    route.abort()

            context.route("**/*", route)
            started = time.perf_counter()
            page.goto(loaded.url, wait_until="load")
            loaded.seconds = time.perf_counter() - started
            if screenshot:
                loaded.screenshot = artifacts() / f"{name}.png"
                page.screenshot(path=str(loaded.screenshot), full_page=True)
            found = page.evaluate(_INSPECT, whole)
            loaded.text, loaded.tags, loaded.counts = found["text"], found["tags"], found["counts"]
        finally:
            context.close()
            shutil.rmtree(folder, ignore_errors=True)
        return loaded


def chromium_session() -> Iterator[Chromium]:
    """The body of the session fixture `chromium`: one headless browser, closed at the end."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright gives each launch a fresh profile of its own (a new temporary --user-data-dir).
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield Chromium(browser)
        finally:
            browser.close()
