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
from reconciler.scim.profiles import PROFILES, DeleteMeans, Members, Paging, Settings, parse_rate, profile
from reconciler.scim.records import DirectoryPlan
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
            "--profile",
            type=click.Choice(list(PROFILES)),
            default="generic",
            show_default=True,
            envvar="RECONCILER_SCIM_PROFILE",
            help="The provider's settings: members a PATCH, write budget, paging, how members are read, "
            "what DELETE does (see `reconciler scim probe` and docs/scim.md). Each option below that is "
            "given overrides its setting. Also RECONCILER_SCIM_PROFILE.",
        ),
        click.option(
            "--chunk",
            type=click.IntRange(min=1),
            help="Group members changed per PATCH, and sent with a new group [profile's; generic 100].",
        ),
        click.option(
            "--rate",
            metavar="N/min",
            help="At most N writes in any 60 seconds, shared by every --concurrency worker (N/s is N*60 a "
            "minute; off for none) [profile's; slack 600/min].",
        ),
        click.option(
            "--hourly-limit",
            type=click.IntRange(min=0),
            metavar="N",
            help="At most N writes in any hour: a run that reaches it stops, exit 4, and says when to run "
            "again; 0 for none [profile's; github-emu 1000].",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1, max=64),
            default=1,
            show_default=True,
            metavar="K",
            help="Requests sent at once, over one connection pool; a user is made before a PATCH names "
            "it, and one resource's requests go one after the other.",
        ),
        click.option(
            "--paging",
            type=click.Choice([p.value for p in Paging]),
            help="List reads page by index (startIndex) or by cursor (RFC 9865); auto is index unless the "
            "ServiceProviderConfig says cursor only [profile's].",
        ),
        click.option(
            "--members",
            type=click.Choice([m.value for m in Members]),
            help="How group members are read: embedded in the groups, or by a members.value eq … filter "
            "per managed user where groups come back with empty members [profile's].",
        ),
        click.option(
            "--delete-means",
            type=click.Choice([d.value for d in DeleteMeans]),
            help="What the provider's DELETE of a user does: delete, or only deactivate (then a "
            "deactivated user is not deleted again) [profile's].",
        ),
        click.option(
            "--page-size",
            type=click.IntRange(min=1),
            help=(
                "Resources asked for per page when reading the directory; fewer when its "
                "ServiceProviderConfig says filter.maxResults or pagination.maxPageSize is lower. A page "
                "that holds fewer than asked is read on from there [profile's; generic 100]."
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


def _settings(given: dict[str, Any]) -> Settings:
    """The profile's settings, with each option given in place of its own."""
    rate = given.pop("rate")
    overrides = ("chunk", "hourly_limit", "paging", "members", "page_size", "delete_means")
    return _settings_of(
        given.pop("profile"),
        rate=None if rate is None else parse_rate(rate),
        **{name: given.pop(name) for name in overrides},
    )


def _settings_of(name: str, **overrides: Any) -> Settings:
    given = {key: value for key, value in overrides.items() if value is not None}
    for key, kind in (("paging", Paging), ("members", Members), ("delete_means", DeleteMeans)):
        if key in given:
            given[key] = kind(given[key])
    return profile(name).overridden(**given)


def _push_call(given: dict[str, Any]) -> tuple[Any, PushOptions, str]:
    """The client, the push options and the store URL that the push options in `given` say."""
    settings = _settings(given)
    options = PushOptions(
        delete_removed=given.pop("delete_removed"),
        chunk=settings.chunk,
        max_removal_ratio=given.pop("max_removal_ratio"),
        delete_means=settings.delete_means,
    )
    client = _client(
        given.pop("url"), given.pop("max_wait"), given.pop("timeout"), settings, given.pop("concurrency")
    )
    return client, options, given.pop("store_url")


def _client(url: str, max_wait: float, timeout: float, settings: Settings, concurrency: int = 1) -> Any:
    try:
        from reconciler.scim.budget import WriteBudget
        from reconciler.scim.client import DirectoryClient
    except ImportError as error:
        raise InputError(
            f"reconciler scim needs the scim extra ({error.name} is not installed): {INSTALL}"
        ) from None
    token = os.environ.get(TOKEN_VARIABLE, "")
    return DirectoryClient(
        url,
        token,
        timeout=timeout,
        settings=settings,
        budget=WriteBudget(settings.rate, settings.hourly_limit, max_wait=max_wait),
        concurrency=concurrency,
    )


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
def scim_plan(output_format: str, detailed_exitcode: bool, allow_mass_removal: bool, **given: Any) -> Outcome:
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
    client, options, store_url = _push_call(given)
    with client:
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
def scim_apply(auto_approve: bool, allow_mass_removal: bool, **given: Any) -> None:
    """Push the store's users and access to the directory: read it, plan, then send the requests.

    Exits 0 when done, 1 when refused or failed, 4 when it reached the
    hourly write budget (--hourly-limit, or the profile's): it stopped
    between two requests and says from when to run again. A failed or
    stopped run says what it did and what it did not, and the next run
    (which reads again) finishes the job, making nothing twice. On a
    terminal it asks first; elsewhere it needs --auto-approve.

    \b
    Example:
      RECONCILER_SCIM_TOKEN=... reconciler scim apply --url https://scim.example/v2 --auto-approve
      reconciler scim apply --profile slack --concurrency 8 --auto-approve        # 600 writes a minute
      reconciler scim apply --profile github-emu --hourly-limit 500 --auto-approve
    """
    client, options, store_url = _push_call(given)
    with client:
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


@scim.command("probe")
@format_option(["text", "json"], "How to print what the provider supports.")
@click.option(
    "--url",
    envvar="RECONCILER_SCIM_URL",
    required=True,
    help="The SCIM service provider's base URL (https, or http to loopback). Also RECONCILER_SCIM_URL.",
)
@click.option(
    "--profile",
    type=click.Choice(list(PROFILES)),
    default="generic",
    show_default=True,
    help="The profile whose push to check against what the provider says.",
)
@click.option("--paging", type=click.Choice([p.value for p in Paging]), help="Override the profile's paging.")
@click.option("--page-size", type=click.IntRange(min=1), help="Override the profile's page size.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long the provider may stay silent.",
)
def scim_probe(
    output_format: str, url: str, profile: str, paging: str | None, page_size: int | None, timeout: float
) -> None:
    """Print what a SCIM service provider supports, and how a push would page it.

    Reads /ServiceProviderConfig (RFC 7643 §5; RFC 9865 for paging) and
    nothing else: PATCH, bulk and its limits, filter and its maxResults,
    ETags, sort, index and cursor paging and their page sizes, the
    authentication schemes. Then the settings of --profile, the paging and
    page size a push would use, and a warning where they ask for what the
    provider says it does not do. Exits 0, or 1 when it cannot be read.

    \b
    Example:
      RECONCILER_SCIM_TOKEN=... reconciler scim probe --url https://scim.example/v2
      reconciler scim probe --profile atlassian --format json
    """
    settings = _settings_of(profile, paging=paging, page_size=page_size)
    with _client(url, 60.0, timeout, settings) as client:
        from reconciler.scim import probe  # only once _client found the extra installed

        found = probe.probe(client)
    if output_format == "json":
        click.echo(probe.render_json(found), nl=False)
    else:
        click.echo("\n".join(probe.render_text(found)))


def _confirm(count: int) -> None:
    ask_first(f"Send these {count} {plural(count, 'request')} to the directory?", "scim apply")
