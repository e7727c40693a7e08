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
from reconciler.core.errors import InputError, plural
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
    attempts = os.environ.get("RECONCILER_SMTP_ATTEMPTS", "3")
    if not attempts.isdigit() or int(attempts) < 1:
        raise InputError("RECONCILER_SMTP_ATTEMPTS must be a whole number of at least 1")
    return Courier(smtp, RetryPolicy(attempts=int(attempts)))


def echo_delivery(report: DeliveryReport) -> None:
    sent = f"Sent {report.sent} {plural(report.sent, 'e-mail')}"
    if not report.still_queued:
        click.echo(f"{sent}; none left in the outbox.")
        return
    click.echo(f"{sent}; {report.still_queued} still queued: run `reconciler notify` to try again.", err=True)
    for reason in report.reasons:
        click.echo(f"  {reason}", err=True)


def mail_settings() -> MailSettings:
    """RECONCILER_MAIL_FROM and RECONCILER_PORTAL_URL, which `apply` writes into each message it
    queues; `notify` reads neither."""
    return MailSettings.from_env(os.environ)


@cli.command()
@store_option
def notify(store_url: str) -> Outcome:
    """Send the queued e-mails over SMTP, each at most once.

    The server is RECONCILER_SMTP_URL (smtp://host:port, smtps://user@host,
    smtp://host:587?starttls=true; the password in the URL or in
    RECONCILER_SMTP_PASSWORD). Each message goes out as it was queued: its
    sender (RECONCILER_MAIL_FROM) and its text were fixed by `apply`. A message is
    marked sent once the server accepted it; a failure is retried
    (RECONCILER_SMTP_ATTEMPTS, default 3, with growing waits) and what is not
    delivered stays queued. Exits 0 when the outbox is empty, 1 when some
    messages are still queued.

    \b
    Example:
      RECONCILER_SMTP_URL=smtp://mail.acme.example:587?starttls=true reconciler notify
    """
    smtp = SmtpSettings.from_env(os.environ)
    with TerminalProgress("Sending e-mail", PROGRESS_FROM) as sending:
        report = send_queued(open_store(store_url), make_courier(smtp) if smtp else None, sending)
    echo_delivery(report)
    return Outcome.UNSENT if report.still_queued else Outcome.DONE


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
