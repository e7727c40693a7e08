"""scim plan and scim apply: push the store's users and access to a SCIM 2.0 directory.

They need the `scim` extra (httpx, scim2-models); without it they say how to
install it. The bearer token comes from RECONCILER_SCIM_TOKEN only.
"""

from __future__ import annotations

import os
from typing import Any

import click

from reconciler.cli.app import (
    Outcome,
    ask_first,
    cli,
    echo_report,
    format_option,
    max_removal_ratio_option,
    paint,
    store_option,
    summarise,
    with_options,
)
from reconciler.core.errors import InputError, plural
from reconciler.scim.planning import PushOptions
from reconciler.scim.records import DEFAULT_CHUNK, DirectoryPlan
from reconciler.scim.rendering import render_json, render_markdown, render_text
from reconciler.store import open_store

TOKEN_VARIABLE = "RECONCILER_SCIM_TOKEN"
INSTALL = "pip install 'licence-reconciler[scim]'"


@cli.group()
def scim() -> None:
    """Push the store's users and access to a SCIM 2.0 directory.

    Each store user becomes a SCIM User (userName = the e-mail, externalId =
    the e-mail lower-cased) and each serial anyone has access to a Group
    "PRODUCT SERIAL" (externalId serial:SERIAL) of the users with effective
    access. Only those are touched; a remote user of the same userName is
    adopted, never duplicated. Needs the scim extra: pip install
    'licence-reconciler[scim]'.
    """


def _push_options(command: Any) -> Any:
    options = [
        click.option(
            "--url",
            envvar="RECONCILER_SCIM_URL",
            required=True,
            help="The SCIM service provider's base URL (https, or http to loopback). "
            "Also RECONCILER_SCIM_URL.",
        ),
        click.option(
            "--delete-removed",
            is_flag=True,
            help="Delete the directory users gone from the store, instead of deactivating them "
            "(active: false).",
        ),
        click.option(
            "--chunk",
            type=click.IntRange(min=1),
            default=DEFAULT_CHUNK,
            show_default=True,
            help="Group members changed per PATCH, and sent with a new group.",
        ),
        click.option(
            "--page-size",
            type=click.IntRange(min=1),
            default=100,
            show_default=True,
            help=(
                "Resources asked for per page when reading the directory; fewer when its "
                "ServiceProviderConfig says filter.maxResults is lower. A page that holds fewer than "
                "asked is read on from there."
            ),
        ),
        click.option(
            "--max-wait",
            type=click.FloatRange(min=0),
            default=60.0,
            show_default=True,
            metavar="SECONDS",
            help="The most the whole run waits on 429 and 503 answers (Retry-After) before it fails.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="How long the directory may stay silent in one request: to connect, and between the parts "
            "of its answer.",
        ),
        max_removal_ratio_option(
            "Refuse to deactivate or delete more than this share of the managed directory users."
        ),
        store_option,
    ]
    return with_options(command, options)


def _client(url: str, page_size: int, max_wait: float, timeout: float) -> Any:
    try:
        from reconciler.scim.client import DirectoryClient
    except ImportError as error:
        raise InputError(
            f"reconciler scim needs the scim extra ({error.name} is not installed): {INSTALL}"
        ) from None
    token = os.environ.get(TOKEN_VARIABLE, "")
    return DirectoryClient(url, token, timeout=timeout, max_wait=max_wait, page_size=page_size)


def _push() -> Any:
    from reconciler.scim import push  # only once _client found the extra installed

    return push


@scim.command("plan")
@format_option(
    ["text", "markdown", "json"], "How to print the push; markdown is made for a pull-request comment."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none."
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="The removal was reviewed: exit as for any change, not 3, when it trips the removal guard "
    "(scim apply still needs the flag of its own).",
)
@_push_options
def scim_plan(
    output_format: str,
    detailed_exitcode: bool,
    allow_mass_removal: bool,
    url: str,
    delete_removed: bool,
    chunk: int,
    page_size: int,
    max_wait: float,
    timeout: float,
    max_removal_ratio: float,
    store_url: str,
) -> Outcome:
    """Show the requests that make the directory hold the store's users and access.

    Reads the directory whole, page by page, and refuses (exit 1, nothing
    planned) when a page comes back partial. Exits 1 on error; 3 when scim
    apply would refuse the push as it stands (it deactivates or deletes more
    than --max-removal-ratio of the managed users: the report names the flag
    apply needs), unless --allow-mass-removal says the removal was reviewed;
    else with --detailed-exitcode, 2 when there are changes and 0 when there
    are none.

    \b
    Example:
      RECONCILER_SCIM_TOKEN=... reconciler scim plan --url https://scim.example/v2 --store sqlite:///acme.db
      reconciler scim plan --format markdown --detailed-exitcode > scim.md
      reconciler scim plan --allow-mass-removal --detailed-exitcode   # a reviewed removal
    """
    options = PushOptions(delete_removed=delete_removed, chunk=chunk, max_removal_ratio=max_removal_ratio)
    with _client(url, page_size, max_wait, timeout) as client:
        the_plan = _push().plan_directory(open_store(store_url), client, options)
    _echo_plan(the_plan, output_format)
    if the_plan.guards and not allow_mass_removal:
        return Outcome.BLOCKED
    if detailed_exitcode and the_plan.actions:
        return Outcome.CHANGES
    return Outcome.DONE


def _echo_plan(the_plan: DirectoryPlan, output_format: str) -> None:
    summarise(lambda: render_markdown(the_plan))
    echo_report(
        output_format,
        lambda: render_json(the_plan),
        lambda: render_markdown(the_plan),
        lambda: render_text(the_plan, paint),
    )


@scim.command("apply")
@click.option("--auto-approve", is_flag=True, help="Apply without asking; needed when not on a terminal.")
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Apply even when it deactivates or deletes more than --max-removal-ratio of the managed users.",
)
@_push_options
def scim_apply(
    auto_approve: bool,
    allow_mass_removal: bool,
    url: str,
    delete_removed: bool,
    chunk: int,
    page_size: int,
    max_wait: float,
    timeout: float,
    max_removal_ratio: float,
    store_url: str,
) -> None:
    """Push the store's users and access to the directory: read it, plan, then send the requests.

    Exits 0 when done, 1 when refused or failed; a failed run says what it
    did and what it did not, and the next run (which reads again) finishes
    the job. On a terminal it asks first; elsewhere it needs --auto-approve.

    \b
    Example:
      RECONCILER_SCIM_TOKEN=... reconciler scim apply --url https://scim.example/v2 --auto-approve
    """
    options = PushOptions(delete_removed=delete_removed, chunk=chunk, max_removal_ratio=max_removal_ratio)
    with _client(url, page_size, max_wait, timeout) as client:
        result = _push().apply_directory(
            open_store(store_url),
            client,
            options,
            allow_mass_removal=allow_mass_removal,
            show=lambda plan: _echo_plan(plan, "text"),
            approve=(lambda plan: None) if auto_approve else (lambda plan: _confirm(len(plan.actions))),
        )
    counts = result.plan.summary()
    if result.plan.actions:
        click.echo(
            f"SCIM apply complete: {counts['add']} added, {counts['change']} changed, {counts['remove']} "
            f"removed, in {result.requests} {plural(result.requests, 'request')} ({result.pages} "
            f"{plural(result.pages, 'page')} read)."
        )


def _confirm(count: int) -> None:
    ask_first(f"Send these {count} {plural(count, 'request')} to the directory?", "scim apply")
