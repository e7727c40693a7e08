"""requests: what `apply --request` asked for, of whom, and what became of it."""

from __future__ import annotations

import click

from reconciler.cli.app import cli, echo_report, format_option, store_option
from reconciler.report.requests import render_requests, requests_json, requests_markdown
from reconciler.store import open_store


@cli.command()
@click.option("--open", "open_only", is_flag=True, help="Only the requests no apply has closed yet.")
@format_option(
    ["text", "markdown", "json"],
    "How to print the requests; markdown is made for an issue or a pull request.",
)
@store_option
def requests(open_only: bool, output_format: str, store_url: str) -> None:
    """List the requests `apply --request` made, newest first.

    Each blocked change an apply asked someone else to make: what (kind,
    target, the change), asked by whom and of whom, when and at which
    revision, and its status: open; applied, when a later apply made the
    change; or moot (no longer needed), when a later apply made another
    change to the same record or removed it, or what holds it. A closed
    request says at which revision and when; its requester was told by
    e-mail. --open lists only those still waiting.

    \b
    Example:
      reconciler requests --open
      reconciler requests --format json > requests.json
    """
    found = open_store(store_url).requests(open_only=open_only)
    echo_report(
        output_format,
        lambda: requests_json(found),
        lambda: requests_markdown(found, open_only),
        lambda: render_requests(found, open_only),
    )
