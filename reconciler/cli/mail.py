"""notify and outbox, and the mail settings every command that sends reads from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.cli.app import (
    Outcome,
    TerminalProgress,
    cli,
    echo_lines,
    format_option,
    store_option,
)
from reconciler.cli.workspace import outcome, selection_options, settings
from reconciler.commands.workspace import Selection, environment, notify_workspace, settle
from reconciler.core.errors import plural
from reconciler.notify.compose import MailSettings
from reconciler.notify.delivery import Courier, DeliveryReport, RetryPolicy, send_queued
from reconciler.notify.maildir import write_maildir
from reconciler.notify.smtp import SmtpSettings
from reconciler.report.json import outbox_json
from reconciler.report.outbox import render_outbox
from reconciler.store import open_store

#: Deliveries of at least this many messages show a progress bar on a terminal.
PROGRESS_FROM = 50


def make_courier(smtp: SmtpSettings) -> Courier:
    """The courier the settings ask for; raises InputError for a bad RECONCILER_SMTP_ATTEMPTS."""
    return Courier(smtp, RetryPolicy.from_env(os.environ))


def echo_delivery(report: DeliveryReport, again: str = "reconciler notify") -> None:
    """What a delivery did, on one line, then what needs someone: why messages wait, which are
    uncertain and how to send them again with `again` (`reconciler notify --account acme` for an
    account of a workspace). On stderr when some of it is left to do."""
    if report.requeued is not None:
        count = len(report.requeued)
        click.echo(
            f"Queued {count} uncertain {plural(count, 'e-mail')} again, as asked: {_ids(report.requeued)}."
            if count
            else "No uncertain e-mail to send again."
        )
    left = []
    if report.still_queued:
        left.append(f"{report.still_queued} still queued: run `{again}` to try again")
    if report.held:
        until = (report.held_until or "")[11:19]
        left.append(
            f"{report.held} held by another `reconciler notify` running now, which sends them (if it "
            f"stopped, they are free again at {until} UTC)"
        )
    if report.uncertain:
        one = len(report.uncertain) == 1
        left.append(
            f"{len(report.uncertain)} uncertain: the server may have "
            + (
                "it, so it is not sent again by itself"
                if one
                else "them, so they are not sent again by themselves"
            )
        )
    if not left:
        left.append("none left to send" if report.uncertain_before else "none left in the outbox")
    trouble = not report.settled
    click.echo(f"Sent {report.sent} {plural(report.sent, 'e-mail')}; {'; '.join(left)}.", err=trouble)
    for reason in report.reasons:
        click.echo(f"  {reason}", err=True)
    for entry in report.uncertain:
        click.echo(
            f"  #{entry.id} {entry.message.to} {entry.message.message_id}: {entry.last_error}", err=True
        )
    if report.uncertain:
        click.echo(
            "For each that did not arrive (a server's log names the Message-IDs it took), send it again with "
            f"`{again} --resend ID`, or all of them with `{again} --resend-uncertain`.",
            err=True,
        )
    if report.uncertain_before:
        earlier = ", ".join(f"#{entry.id} {entry.message.to}" for entry in report.uncertain_before)
        click.echo(
            f"Still uncertain since an earlier run: {earlier}; `{again} --resend ID` sends one again.",
            err=trouble,
        )


def _ids(entry_ids: list[int]) -> str:
    return ", ".join(f"#{entry_id}" for entry_id in entry_ids)


def mail_settings() -> MailSettings:
    """RECONCILER_MAIL_FROM and RECONCILER_PORTAL_URL, which `apply` writes into each message it
    queues; `notify` reads neither."""
    return MailSettings.from_env(os.environ)


@cli.command()
@click.option(
    "--resend",
    "resend",
    type=click.IntRange(min=1),
    multiple=True,
    metavar="ID",
    help="Send this uncertain message again (its id as `reconciler outbox` shows it); repeatable.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="Send every uncertain message again.",
)
@store_option
@selection_options
def notify(
    resend: tuple[int, ...],
    resend_uncertain: bool,
    store_url: str,
    chosen: Selection,
    jobs: int,
) -> Outcome:
    """Send the queued e-mails over SMTP, each at most once.

    The server is RECONCILER_SMTP_URL (smtp://host:port, smtps://user@host,
    smtp://host:587?starttls=true; the password in the URL or in
    RECONCILER_SMTP_PASSWORD). Each message goes out as it was queued: its
    sender (RECONCILER_MAIL_FROM) and its text were fixed by `apply`. A
    message is marked sent once the server accepted it; a failure before the
    whole message went out is retried (RECONCILER_SMTP_ATTEMPTS, default 3,
    with growing waits) and what is not delivered stays queued.

    A message whose whole text went out and whose answer never came (the
    connection dropped, or the wait timed out) may have been delivered: it
    is marked uncertain, named, and never sent again by itself. Once you know
    it did not arrive (a server's log names the Message-IDs it took), send it
    again with --resend ID or --resend-uncertain: the same message, with the
    same Message-ID.

    In a workspace (reconciler.yaml), --account NAME, --all or --changed
    send each of those accounts' outboxes in turn; run in an account's
    folder, the store is that account's; the file's `mail:` settings win
    over the environment's.

    Messages another `reconciler notify` holds right now are its to send and
    to report. Exits 0 when all this run took was sent, 1 when some are still
    queued or were found uncertain.

    \b
    Example:
      RECONCILER_SMTP_URL=smtp://mail.acme.example:587?starttls=true reconciler notify
      reconciler notify --resend 12 --resend 15
      reconciler notify --resend-uncertain
      reconciler notify --account acme
    """
    given = settings(store_url, None)
    if jobs != 1:
        raise click.UsageError("notify sends one account's mail after another: --jobs does not apply")
    if chosen.flag:
        if (resend or resend_uncertain) and len(set(chosen.accounts)) != 1:
            raise click.UsageError("--resend names one store's messages: run it with one --account NAME")
        runs = notify_workspace(chosen, given, os.environ, resend=resend, resend_uncertain=resend_uncertain)
        for run in runs:
            if run.result is None:
                click.echo(f"{run.name}: {run.reason}", err=True)
                continue
            click.echo(f"{run.name}:")
            echo_delivery(run.result, f"reconciler notify --account {run.name}")
        return outcome(runs) if runs else Outcome.DONE
    # In a workspace, the store of the account around the working directory and the file's mail settings.
    store, _, workspace = settle((), given, chosen.workspace_file)
    smtp = SmtpSettings.from_env(environment(workspace, os.environ))
    with TerminalProgress("Sending e-mail", PROGRESS_FROM) as sending:
        report = send_queued(
            open_store(store or store_url),
            make_courier(smtp) if smtp else None,
            sending,
            resend=resend,
            resend_uncertain=resend_uncertain,
        )
    echo_delivery(report)
    return Outcome.DONE if report.settled else Outcome.UNSENT


@cli.command()
@format_option(["text", "json"], "json lists every message with its delivery record.")
@click.option("--queued", "queued_only", is_flag=True, help="Only the messages not sent yet.")
@click.option("--full", is_flag=True, help="Print each message whole: headers and plain-text body.")
@click.option("--to", "recipient", metavar="EMAIL", help="Only the messages to this address.")
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the queued messages into this Maildir (created if missing); they stay queued.",
)
@store_option
def outbox(
    output_format: str,
    queued_only: bool,
    full: bool,
    recipient: str | None,
    maildir: Path | None,
    store_url: str,
) -> None:
    """List the e-mails in the outbox: queued and sent.

    Without an SMTP server, --maildir is how to read them: it writes the
    queued messages as a Maildir any mail client opens (they stay queued).

    \b
    Example:
      reconciler outbox
      reconciler outbox --queued --full --to carol@acme.example
      reconciler outbox --maildir ~/Mail/reconciler
    """
    store = open_store(store_url)
    entries = store.outbox(queued_only=queued_only or maildir is not None)
    if recipient is not None:
        entries = [e for e in entries if e.message.to == recipient.lower()]
    if maildir is not None:
        written = write_maildir(maildir, entries)
        click.echo(
            f"Wrote {written} new {plural(written, 'message')} to the Maildir {maildir} "
            f"({len(entries)} queued in all)."
        )
        return
    if output_format == "json":
        click.echo(outbox_json(entries), nl=False)
        return
    echo_lines(render_outbox(entries, full))
