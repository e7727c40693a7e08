"""remind: reminders of what expires, queued in the outbox for `notify` to send."""

from __future__ import annotations

import os

import click

from reconciler.cli.app import Outcome, cli, echo_lines, format_option, store_option, today_option
from reconciler.cli.workspace import settings
from reconciler.commands.reminders import queue_reminders
from reconciler.commands.workspace import environment, settle
from reconciler.engine.reminders import DEFAULT_MARKS
from reconciler.notify.compose import MailSettings
from reconciler.report.reminders import reminded_json, render_reminded
from reconciler.store import DEFAULT_URL, open_store


def _marks(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    """`14,3` as (3, 14): whole numbers of days, 0 or more, each once."""
    try:
        marks = {int(part) for part in value.split(",") if part.strip()}
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a list of days; write whole numbers, as in --days 14,3"
        ) from None
    if not marks:
        raise click.BadParameter("name at least one number of days, as in --days 14,3")
    if min(marks) < 0:
        raise click.BadParameter(f"{min(marks)} is before the day itself; use 0 or more days")
    return tuple(sorted(marks))


@cli.command()
@click.option(
    "--days",
    "marks",
    default=",".join(str(mark) for mark in DEFAULT_MARKS),
    show_default=True,
    callback=_marks,
    metavar="N,N…",
    help="How many days before an expiry a reminder goes out: each entry is reminded of once at each.",
)
@today_option("The day the reminders are due on.")
@format_option(["text", "json"], "How to print what was queued; json lists every reminder due.")
@store_option
def remind(marks: tuple[int, ...], today: str, output_format: str, store_url: str) -> Outcome:
    """Queue reminders of what expires soon, for `reconciler notify` to send.

    Reads the store (what has been applied, not the YAML). Each grant,
    team membership or user whose `expires` date is at most --days away
    gets a reminder at the smallest mark it is within (14 days, then 3
    days, by default): to the user, and to the coordinator of each serial
    that ends with it (its Software Coordinator, or the Contract Manager),
    saying the date, what ends, and how to keep it (move the date in the
    account's files). Each reminder is queued once for an entry, its date
    and the mark: run it every day, and a moved date is reminded of again.
    Nothing in the account changes: no audit entry, the revision stays
    (a saved plan stays good). The sender is RECONCILER_MAIL_FROM, or the
    workspace file's `mail: from`.

    Exits 0 when done (whether or not anything was due), 1 on error.

    \b
    Example:
      reconciler remind && reconciler notify
      reconciler remind --days 30,7,1 --format json
      reconciler remind --today 2027-03-17
    """
    store, _, workspace = settle((), settings(store_url, None))
    mail = MailSettings.from_env(environment(workspace, os.environ))
    reminded = queue_reminders(open_store(store or DEFAULT_URL), today, marks, mail)
    if output_format == "json":
        click.echo(reminded_json(reminded), nl=False)
    else:
        echo_lines(render_reminded(reminded))
    return Outcome.DONE
