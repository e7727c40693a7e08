"""drift, history and usage: what the store says beside git, what each apply did, how seats are used."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
    today_option,
)
from reconciler.cli.workspace import (
    DRIFTS,
    USAGES,
    accounts_bar,
    echo_runs,
    outcome,
    selection_options,
    settings,
)
from reconciler.commands.operations import drift_account, usage_report
from reconciler.commands.workspace import Selection, drift_workspace, settle, usage_workspace
from reconciler.core.kinds import Kind
from reconciler.core.records import Chore
from reconciler.engine.unmanaged import POLICIES
from reconciler.engine.usage import DEFAULT_RENEWAL_DAYS
from reconciler.report import markdown
from reconciler.report.csv import usage_csv
from reconciler.report.expiring import expiring_csv
from reconciler.report.history import Filters, render_history, render_history_markdown
from reconciler.report.html import drift_html, usage_html
from reconciler.report.json import drift_json, history_json, usage_json
from reconciler.report.text import render_drift, render_usage
from reconciler.store import DEFAULT_URL, open_store

#: The most --stale-invites takes: a hundred years, well inside the calendar datetime counts in.
MAX_STALE_DAYS = 36_500


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH...]")
@format_option(
    ["text", "markdown", "json", "html"],
    "How to print the drift; markdown is made for an issue, html is one page to open or print.",
)
@click.option(
    "--stale-invites",
    type=click.IntRange(min=0, max=MAX_STALE_DAYS),
    metavar="DAYS",
    help="Also report users still invited this many days after they were added.",
)
@click.option(
    "--unmanaged",
    type=click.Choice(POLICIES),
    help="Users in the store but not in the YAML: drift (remove, the default) or kept on purpose "
    "(keep, revoke). Overrides the YAML's unmanaged_users.",
)
@today_option("The day `expires` dates are judged on: what the store holds after its last day is drift.")
@store_option
@selection_options
def drift(
    paths: tuple[str, ...],
    output_format: str,
    stale_invites: int | None,
    unmanaged: str | None,
    today: str,
    store_url: str,
    chosen: Selection,
    jobs: int,
) -> Outcome:
    """Compare the live store with the YAML in git, both ways.

    Reports what the store has that git does not, what git has that the
    store does not, and fields that differ; the grants, team memberships
    and users the store still holds after their last day (`expires` before
    --today; an apply of the YAML removes those it says ended, and what it
    removed is no drift); with --stale-invites, users
    who have not signed in that many days after being invited. Exits 0
    when there is nothing to report, 2 when there is, 1 on error. In GitHub
    Actions the markdown report is also added to the job summary.

    \b
    Example:
      reconciler drift examples/acme --stale-invites 30
      reconciler drift examples/acme --format markdown > drift.md
      reconciler drift examples/acme --format html > drift.html
      reconciler drift --all --jobs 4 --format markdown > drift.md
    """
    given = settings(store_url, None)
    now = on_the_day(today)
    if chosen.flag:
        with accounts_bar("Comparing accounts") as bar:
            runs = drift_workspace(chosen, given, now, stale_invites, unmanaged, workers=jobs, progress=bar)
        echo_runs(runs, output_format, DRIFTS)
        return outcome(runs)
    if not paths:
        raise click.UsageError(
            "name the account's files (PATH...), or its accounts: --all, --account or --changed"
        )
    store, _, _ = settle(paths, given, chosen.workspace_file)
    with reading_bar() as bar:
        found = drift_account(open_store(store or DEFAULT_URL), paths, now, stale_invites, unmanaged, bar)
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
@click.option(
    "--user",
    metavar="EMAIL",
    help="Only the changes concerning this person (as user, coordinator or manager).",
)
@click.option(
    "--since",
    metavar="DATE",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only the changes made on or after this day (YYYY-MM-DD, UTC).",
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="KIND",
    help="Only changes of this kind (access.grant) or family (access); repeat for several.",
)
@format_option(["text", "markdown", "json"], "How to print the history.")
@store_option
def history(
    limit: int,
    user: str | None,
    since: datetime | None,
    kinds: tuple[str, ...],
    output_format: str,
    store_url: str,
) -> None:
    """Show what each apply changed, by whom, when and from where, newest first.

    Read from the store's audit log: each apply with the commit, pull
    request or --source text it came from when known, and the chores done
    outside a plan (users activate, resellers add|remove). --user, --since
    and --kind keep only the changes that match, and the applies that have
    any; --limit counts those.

    \b
    Example:
      reconciler history --limit 3
      reconciler history --user carol@acme.example --since 2026-01-01
      reconciler history --kind access --kind user.remove --format json
    """
    wanted = tuple(_kind(kind) for kind in kinds)
    day = since.date().isoformat() if since else None
    applies = open_store(store_url).history(limit, user.lower() if user else None, day, wanted)
    filters = Filters(user.lower() if user else None, day, wanted)
    echo_report(
        output_format,
        lambda: history_json(applies),
        lambda: render_history_markdown(applies, filters, limit=markdown.SUMMARY_LIMIT),
        lambda: render_history(applies, filters, paint),
    )


#: What --kind takes: every kind of action and chore, and each family (the part before the dot).
_KINDS = sorted({*(k.value for k in Kind), *(c.value for c in Chore)})
_FAMILIES = sorted({kind.split(".")[0] for kind in _KINDS})


def _kind(kind: str) -> str:
    if kind in _KINDS or kind in _FAMILIES:
        return kind
    raise click.BadParameter(
        f"{kind!r} is no kind of change; use one of {', '.join(_FAMILIES)} or a kind such as "
        f"{', '.join(k for k in _KINDS if k.startswith('access.'))}",
        param_hint="--kind",
    )


@cli.command()
@click.option(
    "--stale-invites",
    type=click.IntRange(min=0, max=MAX_STALE_DAYS),
    metavar="DAYS",
    help="Also list, per serial, users still invited this many days after they were added.",
)
@click.option(
    "--renewal-days",
    type=click.IntRange(min=0),
    default=DEFAULT_RENEWAL_DAYS,
    show_default=True,
    metavar="N",
    help="A contract's renewal is due when it ends within this many days (or has ended).",
)
@format_option(
    ["text", "markdown", "json", "csv", "html"],
    "How to print the report; markdown is made for a pull request or an issue, csv for a spreadsheet, "
    "html is one page to open or print.",
)
@click.option(
    "--expiring",
    "expiring_days",
    type=click.IntRange(min=0, max=MAX_STALE_DAYS),
    metavar="DAYS",
    help="Also list the grants, team memberships and users whose `expires` date is at most this many "
    "days after --today, and those past it the store still holds, by date. With --format csv, "
    "that list alone.",
)
@today_option("The day the report is made on: days left, renewals and --expiring count from it.")
@click.option("--bom", is_flag=True, help="With --format csv: start with a UTF-8 byte-order mark, for Excel.")
@store_option
@selection_options
def usage(
    stale_invites: int | None,
    renewal_days: int,
    output_format: str,
    expiring_days: int | None,
    today: str,
    bom: bool,
    store_url: str,
    chosen: Selection,
    jobs: int,
) -> Outcome:
    """Show how each serial's seats are used and when each contract ends.

    What to read before a renewal, from the store: first what needs
    action (full serials, seats nobody uses, with --stale-invites users who
    never accepted their invitation, contracts ending within --renewal-days),
    with --expiring what ends soon (and what is past its day but still held),
    then each contract (manager, end, days left) with its serials (product,
    group, coordinator, seats, assigned, free, still invited). Days are
    counted to today (or --today), in UTC. In GitHub Actions the markdown
    report is also added to the job summary.

    \b
    Example:
      reconciler usage --stale-invites 30
      reconciler usage --renewal-days 60 --format markdown > usage.md
      reconciler usage --format csv --bom > usage.csv
      reconciler usage --expiring 30 --format csv > expiring.csv
      reconciler usage --stale-invites 30 --format html > usage.html
      reconciler usage --all --format markdown > usage.md
    """
    given = settings(store_url, None)
    now = on_the_day(today)
    if chosen.flag:
        if output_format == "csv":
            raise click.UsageError("--format csv is one account's table; for several accounts use json")
        with accounts_bar("Reading accounts") as bar:
            runs = usage_workspace(
                chosen,
                given,
                now,
                renewal_days,
                stale_invites,
                expiring_days=expiring_days,
                workers=jobs,
                progress=bar,
            )
        echo_runs(runs, output_format, USAGES)
        return outcome(runs, changes_count=False)
    store, _, _ = settle((), given, chosen.workspace_file)
    found = usage_report(open_store(store or DEFAULT_URL), now, renewal_days, stale_invites, expiring_days)
    summarise(lambda: markdown.render_usage(found, limit=markdown.SUMMARY_LIMIT))
    if output_format == "csv":
        click.echo(expiring_csv(found, bom) if expiring_days is not None else usage_csv(found, bom), nl=False)
        return Outcome.DONE
    echo_report(
        output_format,
        lambda: usage_json(found),
        lambda: markdown.render_usage(found),
        lambda: render_usage(found, paint),
        lambda: usage_html(found),
    )
    return Outcome.DONE


def on_the_day(today: str) -> datetime:
    """This moment of the day, in UTC, moved to `today` (--today): the report's day is that one, and
    stale invitations are counted to the same time of it."""
    now = datetime.now(UTC)
    return datetime.combine(date.fromisoformat(today), now.timetz())
