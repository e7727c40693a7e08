"""drift and history: what the store says beside git, and what each apply did."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from reconciler.cli.app import (
    Outcome,
    cli,
    echo_report,
    format_option,
    paint,
    reading_bar,
    store_option,
    summarise,
)
from reconciler.engine.unmanaged import POLICIES
from reconciler.operations import drift_account
from reconciler.report import markdown
from reconciler.report.html import drift_html
from reconciler.report.json import drift_json, history_json
from reconciler.report.text import render_drift, render_history
from reconciler.store import open_store


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@format_option(
    ["text", "markdown", "json", "html"],
    "How to print the drift; markdown is made for an issue, html is one page to open or print.",
)
@click.option(
    "--stale-invites",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Also report users still invited this many days after they were added.",
)
@click.option(
    "--unmanaged",
    type=click.Choice(POLICIES),
    help="Users in the store but not in the YAML: drift (remove, the default) or kept on purpose "
    "(keep, revoke). Overrides the YAML's unmanaged_users.",
)
@store_option
def drift(
    paths: tuple[str, ...],
    output_format: str,
    stale_invites: int | None,
    unmanaged: str | None,
    store_url: str,
) -> Outcome:
    """Compare the live store with the YAML in git, both ways.

    Reports what the store has that git does not, what git has that the
    store does not, and fields that differ; with --stale-invites, users
    who have not signed in that many days after being invited. Exits 0
    when there is nothing to report, 2 when there is, 1 on error. In GitHub
    Actions the markdown report is also added to the job summary.

    \b
    Example:
      reconciler drift examples/acme --stale-invites 30
      reconciler drift examples/acme --format markdown > drift.md
      reconciler drift examples/acme --format html > drift.html
    """
    with reading_bar() as bar:
        found = drift_account(open_store(store_url), paths, datetime.now(UTC), stale_invites, unmanaged, bar)
    summarise(lambda: markdown.render_drift(found, limit=markdown.SUMMARY_LIMIT))
    echo_report(
        output_format,
        lambda: drift_json(found),
        lambda: markdown.render_drift(found),
        lambda: render_drift(found, paint),
        lambda: drift_html(found),
    )
    return Outcome.CHANGES if found.found else Outcome.DONE


@cli.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many applies.")
@format_option(["text", "markdown", "json"], "How to print the history.")
@store_option
def history(limit: int, output_format: str, store_url: str) -> None:
    """Show what each apply changed, by whom and when, newest first.

    Read from the store's audit log.

    \b
    Example:
      reconciler history --limit 3
      reconciler history --format json
    """
    applies = open_store(store_url).history(limit)
    echo_report(
        output_format,
        lambda: history_json(applies),
        lambda: markdown.render_history(applies),
        lambda: render_history(applies, paint),
    )
