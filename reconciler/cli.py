"""The `reconciler` command line: parse options, call the library, print, map errors to exit codes.

Exit codes: 0 success; 1 invalid input, refused or failed (usage errors too,
as Terraform does, so that 2 can mean "changes present"); 2 changes or
drift found; 3 blocked by permissions.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.apply import ApplyResult, apply_plan, check_applicable
from reconciler.drift import find_drift
from reconciler.errors import (
    ApplyRefused,
    InputError,
    InvalidDesiredState,
    PlanBlocked,
    ReconcilerError,
    plural,
)
from reconciler.export import export_yaml
from reconciler.github import append_step_summary
from reconciler.guards import DEFAULT_MAX_REMOVAL_RATIO, check_ratio, rejudge_removals
from reconciler.notify.compose import MailSettings
from reconciler.notify.delivery import Courier, DeliveryReport, RetryPolicy, deliver
from reconciler.notify.maildir import write_maildir
from reconciler.notify.message import OutboxEntry
from reconciler.notify.smtp import DEFAULT_SENDER, SmtpSettings
from reconciler.plan import Plan
from reconciler.planner import PlanOptions, make_plan
from reconciler.report import markdown
from reconciler.report.json import drift_json, history_json
from reconciler.report.outbox import render_outbox
from reconciler.report.text import render_drift, render_history, render_plan, target_label
from reconciler.store import DEFAULT_LOCK_TIMEOUT, DEFAULT_URL, Store, open_store, redact_url
from reconciler.targets import parse_targets
from reconciler.unmanaged import POLICIES
from reconciler.validate import load_desired_state

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BLOCKED = 3

#: The one place where library errors become exit codes; the first matching class wins.
EXIT_CODES: tuple[tuple[type[ReconcilerError], int], ...] = (
    (PlanBlocked, EXIT_BLOCKED),
    (ReconcilerError, EXIT_ERROR),
)

#: Deliveries of at least this many messages show a progress bar on a terminal.
PROGRESS_FROM = 50

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Cli(click.Group):
    """A group that turns usage errors and ReconcilerErrors into exit code 1, and anything
    unexpected into a one-line error; the traceback is shown only with --debug."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        arguments = kwargs.get("args", args[0] if args else None)
        debug = _debugging(sys.argv[1:] if arguments is None else list(arguments))
        try:
            code = super().main(*args, **kwargs)
        except (ReconcilerError, click.ClickException, click.exceptions.Abort) as error:
            if debug:
                traceback.print_exc()
            _exit_for(error)
        except Exception as error:  # the last resort: a bug must not greet a user with a traceback
            if debug:
                traceback.print_exc()
            else:
                click.echo(
                    f"Error: internal error ({type(error).__name__}: {redact_url(str(error))}); "
                    "this is a bug in reconciler. "
                    "Run again with --debug for the traceback, and report it.",
                    err=True,
                )
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _debugging(arguments: list[str]) -> bool:
    return "--debug" in arguments or os.environ.get("RECONCILER_DEBUG", "") not in ("", "0")


def _exit_for(error: ReconcilerError | click.ClickException | click.exceptions.Abort) -> NoReturn:
    """Say what went wrong, a line per problem, and exit with its code."""
    if isinstance(error, click.exceptions.Abort):
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    if isinstance(error, click.ClickException):
        error.show()
        sys.exit(EXIT_ERROR)
    if isinstance(error, InvalidDesiredState):
        for diagnostic in error.diagnostics:
            click.echo(str(diagnostic), err=True)
        click.echo(f"Invalid: {error}.", err=True)
    else:
        click.echo(f"Error: {redact_url(str(error))}", err=True)
    sys.exit(_exit_code(error))


def _exit_code(error: ReconcilerError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (also RECONCILER_DEBUG=1).")
def cli(debug: bool) -> None:
    """Licence accounts as code: validate, plan and apply contracts, serials,
    coordinators, users and access kept in YAML.

    \b
    Exit codes: 0 success, 1 error (usage errors included), 2 changes or
    drift found, 3 blocked by permissions.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints the errors as a list of {file, line, column, path, message}.",
)
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], output_format: str) -> None:
    """Check desired-state YAML: syntax, schema and domain rules.

    PATH is a YAML file or a folder, whose .yaml and .yml files are merged.
    Every problem is reported at once, as file:line:col: field: message.
    Exits 0 when valid, 1 when not.

    \b
    Example:
      reconciler validate examples/acme
      reconciler validate account.yaml --format json
    """
    try:
        state = load_desired_state(paths)
    except InvalidDesiredState as invalid:
        if output_format == "json":
            click.echo(json.dumps([d.as_dict() for d in invalid.diagnostics], indent=2))
        else:
            for diagnostic in invalid.diagnostics:
                click.echo(str(diagnostic))
            click.echo(f"Invalid: {invalid}.", err=True)
        ctx.exit(EXIT_ERROR)
    if output_format == "json":
        click.echo("[]")
        return
    serials = sum(len(contract.serials) for contract in state.contracts)
    grants = sum(len(user.access) for user in state.users)
    click.echo(
        f"Valid: {len(state.contracts)} contracts, {serials} serials, "
        f"{len(state.users)} users, {grants} access grants."
    )


def _store_option(command: Any) -> Any:
    return click.option(
        "--store",
        "store_url",
        envvar="RECONCILER_STORE",
        default=DEFAULT_URL,
        show_default=True,
        help="The store: sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE. Also RECONCILER_STORE.",
    )(command)


def _actor_option(command: Any) -> Any:
    return click.option(
        "--actor",
        envvar="RECONCILER_ACTOR",
        help="The e-mail of the person acting; permissions are judged for them. Also RECONCILER_ACTOR.",
    )(command)


def _planning_options(command: Any) -> Any:
    """--max-removal-ratio, --unmanaged and --target, for plan and apply."""
    options = [
        click.option(
            "--max-removal-ratio",
            type=float,
            default=None,
            metavar="SHARE",
            help=f"Refuse to apply a plan that removes more than this share of the store's users or "
            f"access (default {DEFAULT_MAX_REMOVAL_RATIO}).",
        ),
        click.option(
            "--unmanaged",
            type=click.Choice(POLICIES),
            help="Users in the store but not in the YAML: remove them (the default), revoke their "
            "access, or keep them. Overrides the YAML's unmanaged_users.",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="KIND:ID",
            help="Plan only contract:NUMBER, serial:NUMBER or user:EMAIL, with what it needs; repeatable.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _plan_options(
    max_removal_ratio: float | None, unmanaged: str | None, targets: tuple[str, ...]
) -> PlanOptions:
    ratio = DEFAULT_MAX_REMOVAL_RATIO if max_removal_ratio is None else check_ratio(max_removal_ratio)
    return PlanOptions(max_removal_ratio=ratio, unmanaged=unmanaged, targets=parse_targets(targets))


def _paint(text: str, colour: str) -> str:
    return click.style(text, fg=colour, bold=colour == "red")


def _required_actor(actor: str | None) -> str:
    if not actor:
        raise InputError("name the person acting with --actor EMAIL or RECONCILER_ACTOR")
    return actor


@cli.command()
@click.option(
    "--reseller",
    "resellers",
    multiple=True,
    required=True,
    metavar="EMAIL",
    help="A reseller who may do everything; repeat for several.",
)
@_store_option
def init(resellers: tuple[str, ...], store_url: str) -> None:
    """Create an empty store and name its resellers.

    Refuses to touch a store that already exists.

    \b
    Example:
      reconciler init --store sqlite:///acme.db --reseller orders@cadpartners.example
    """
    bad = [r for r in resellers if not _EMAIL.match(r)]
    if bad:
        raise InputError(f"not an e-mail address: {', '.join(bad)}")
    snapshot = open_store(store_url).initialize(resellers)
    click.echo(
        f"Created store {redact_url(store_url)} (lineage {snapshot.lineage}) "
        f"with reseller {', '.join(sorted(snapshot.resellers))}."
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="How to print the plan; markdown is made for a pull-request comment.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), help="Save the plan as JSON, for apply."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none."
)
@_planning_options
@_store_option
@_actor_option
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    out: str | None,
    detailed_exitcode: bool,
    max_removal_ratio: float | None,
    unmanaged: str | None,
    targets: tuple[str, ...],
    store_url: str,
    actor: str | None,
) -> None:
    """Show what it takes to make the store match the YAML, in apply order.

    Each action says the least role that may perform it and whether the
    actor may; permissions are judged against the store as it is now.
    Exits 3 when any action is blocked; with --detailed-exitcode, 2 when
    there are changes and 0 when there are none. In GitHub Actions the
    markdown report is also added to the job summary.

    A plan that removes more than --max-removal-ratio of the users or of the
    access in the store says so: apply will refuse it unless told
    --allow-mass-removal.

    \b
    Example:
      reconciler plan examples/acme --actor orders@cadpartners.example --out plan.json
      reconciler plan examples/acme --format markdown --out plan.json > comment.md
      reconciler plan examples/acme --target user:carol.smith@acme.example
    """
    options = _plan_options(max_removal_ratio, unmanaged, targets)
    the_plan = _plan_of(paths, open_store(store_url), _required_actor(actor), options)
    if out:
        Path(out).write_text(the_plan.dumps(), encoding="utf-8")
    _summarise(lambda: markdown.render_plan(the_plan, limit=markdown.SUMMARY_LIMIT))
    if output_format == "json":
        click.echo(the_plan.dumps(), nl=False)
    elif output_format == "markdown":
        click.echo(markdown.render_plan(the_plan), nl=False)
    else:
        _echo_plan(the_plan)
        if out:
            click.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}`.")
    if the_plan.blocked:
        ctx.exit(EXIT_BLOCKED)
    if detailed_exitcode and the_plan.actions:
        ctx.exit(EXIT_CHANGES)


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PLANFILE | PATH...")
@click.option("--auto-approve", is_flag=True, help="Apply without asking; needed when not on a terminal.")
@click.option(
    "--request",
    is_flag=True,
    help="Apply what you may, and e-mail each blocked action to the people who may perform it.",
)
@click.option(
    "--allow-mass-removal",
    is_flag=True,
    help="Apply even when the plan removes more than --max-removal-ratio of the users or access.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another apply to the same store to finish; 0 fails at once.",
)
@_planning_options
@_store_option
@_actor_option
def apply(
    paths: tuple[str, ...],
    auto_approve: bool,
    request: bool,
    allow_mass_removal: bool,
    lock_timeout: float,
    max_removal_ratio: float | None,
    unmanaged: str | None,
    targets: tuple[str, ...],
    store_url: str,
    actor: str | None,
) -> None:
    """Apply a saved plan, or plan the YAML and apply that, all or nothing.

    A saved plan (a .json file from `plan --out`) is refused when the store
    has moved on since it was made. Blocked actions stop the whole apply
    (exit 3), unless --request: then they, and what waits on them, are not
    applied but sent as requests to whoever may perform them (the reseller
    for a manager change, the CM for a coordinator), and the rest is applied.
    On a terminal it asks before changing anything.

    The e-mails to the people affected are queued in the same transaction
    and, when RECONCILER_SMTP_URL is set, sent right after; a failed delivery
    never undoes an apply: `reconciler notify` sends what is left.

    A plan that removes more than --max-removal-ratio (default 0.25) of the
    users or of the access in the store is refused unless
    --allow-mass-removal: a deleted file should not empty an account.

    Applies to one store run one at a time: this one waits up to
    --lock-timeout seconds for another to finish, then fails (exit 1) naming
    who holds the lock.

    \b
    Example:
      reconciler apply plan.json --auto-approve
      reconciler apply examples/acme --actor orders@cadpartners.example
      reconciler apply account.yaml --actor alice@acme.example --request
    """
    store = open_store(store_url, lock_timeout=lock_timeout)
    snapshot = None
    if len(paths) == 1 and paths[0].endswith(".json"):
        if unmanaged or targets:
            raise InputError("--unmanaged and --target shape a new plan; a saved plan already has its own")
        the_plan = Plan.loads(_read(paths[0]), paths[0])
        if max_removal_ratio is not None:
            the_plan = rejudge_removals(the_plan, check_ratio(max_removal_ratio))
    else:
        snapshot = store.snapshot()
        options = _plan_options(max_removal_ratio, unmanaged, targets)
        the_plan = make_plan(load_desired_state(paths), snapshot, _required_actor(actor), options)
    _echo_plan(the_plan)
    check_applicable(the_plan, actor, request, allow_mass_removal)
    if not the_plan.actions:
        return
    smtp = SmtpSettings.from_env(os.environ)  # a bad URL fails before anything changes
    if not auto_approve:
        _confirm(len(the_plan.actions))
    applied = apply_plan(
        store,
        the_plan,
        actor,
        snapshot=snapshot,
        request=request,
        allow_mass_removal=allow_mass_removal,
        mail=_mail_settings(smtp),
    )
    counts = applied.plan.summary()
    _summarise(
        lambda: markdown.render_plan(
            applied.plan, title=f"Applied, now at revision {applied.revision}", limit=markdown.SUMMARY_LIMIT
        )
    )
    click.echo(
        f"Apply complete: {counts['add']} added, {counts['change']} changed, {counts['remove']} removed. "
        f"The store is at revision {applied.revision}."
    )
    _echo_requests(applied)
    _deliver_after_apply(store, applied, smtp)


def _echo_requests(applied: ApplyResult) -> None:
    for found in applied.requests:
        whom = " or ".join(found.requested_of) or "nobody (no one else may)"
        click.echo(f"Requested {found.kind} {_target_text(found.target)} from {whom}.")
    if applied.held_back:
        count = len(applied.held_back)
        click.echo(
            f"Held back {count} {plural(count, 'action')} that {'waits' if count == 1 else 'wait'} "
            "on a request: " + ", ".join(f"{a.kind} {target_label(a)}" for a in applied.held_back)
        )


def _target_text(target: Mapping[str, str]) -> str:
    return " ".join(target[key] for key in ("contract", "serial", "coordinator", "user") if key in target)


def _deliver_after_apply(store: Store, applied: ApplyResult, smtp: SmtpSettings | None) -> None:
    messages = len(applied.messages)
    if not messages:
        return
    people = len({m.to for m in applied.messages})
    queued = (
        f"Queued {messages} {plural(messages, 'e-mail')} to {people} {plural(people, 'person', 'people')}"
    )
    if smtp is None:
        click.echo(
            f"{queued}. Set RECONCILER_SMTP_URL and run `reconciler notify` to send them, "
            "or read them with `reconciler outbox --full`."
        )
        return
    click.echo(f"{queued}; sending them through {smtp.redacted}.")
    _echo_delivery(_deliver(store, smtp))


def _deliver(store: Store, smtp: SmtpSettings) -> DeliveryReport:
    """Deliver the queue, with a progress bar on a terminal when there is much to send."""
    courier = _courier(smtp)
    queued = len(store.outbox(queued_only=True))
    if not sys.stderr.isatty() or queued < PROGRESS_FROM:
        return deliver(store, courier)
    with click.progressbar(length=queued, label="Sending e-mail", file=sys.stderr) as bar:
        return deliver(store, courier, progress=bar.update)


def _courier(smtp: SmtpSettings) -> Courier:
    attempts = os.environ.get("RECONCILER_SMTP_ATTEMPTS", "3")
    if not attempts.isdigit() or int(attempts) < 1:
        raise InputError("RECONCILER_SMTP_ATTEMPTS must be a whole number of at least 1")
    return Courier(smtp, RetryPolicy(attempts=int(attempts)))


def _echo_delivery(report: DeliveryReport) -> None:
    sent = f"Sent {report.sent} {plural(report.sent, 'e-mail')}"
    if not report.still_queued:
        click.echo(f"{sent}; none left in the outbox.")
        return
    click.echo(f"{sent}; {report.still_queued} still queued: run `reconciler notify` to try again.", err=True)
    for reason in report.reasons:
        click.echo(f"  {reason}", err=True)


def _mail_settings(smtp: SmtpSettings | None) -> MailSettings:
    sender = _sender(smtp)
    return MailSettings(
        domain=sender.rpartition("@")[2] or "reconciler.localhost",
        portal_url=os.environ.get("RECONCILER_PORTAL_URL") or None,
    )


@cli.command()
@_store_option
def notify(store_url: str) -> None:
    """Send the queued e-mails over SMTP, each at most once.

    The server is RECONCILER_SMTP_URL (smtp://host:port, smtps://user@host,
    smtp://host:587?starttls=true; the password in the URL or in
    RECONCILER_SMTP_PASSWORD), the sender RECONCILER_MAIL_FROM. A message is
    marked sent once the server accepted it; a failure is retried
    (RECONCILER_SMTP_ATTEMPTS, default 3, with growing waits) and what is not
    delivered stays queued. Exits 0 when the outbox is empty, 1 when some
    messages are still queued.

    \b
    Example:
      RECONCILER_SMTP_URL=smtp://mail.acme.example:587?starttls=true reconciler notify
    """
    store = open_store(store_url)
    smtp = SmtpSettings.from_env(os.environ)
    if smtp is None:
        queued = len(store.outbox(queued_only=True))
        raise InputError(
            f"RECONCILER_SMTP_URL is not set, so nothing was sent ({queued} {plural(queued, 'e-mail')} "
            "queued); set it to smtp://host:port, or write the queue to a Maildir with "
            "`reconciler outbox --maildir DIR`"
        )
    report = _deliver(store, smtp)
    _echo_delivery(report)
    if report.still_queued:
        sys.exit(EXIT_ERROR)


@cli.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json lists every message with its delivery record.",
)
@click.option("--queued", "queued_only", is_flag=True, help="Only the messages not sent yet.")
@click.option("--full", is_flag=True, help="Print each message whole: headers and plain-text body.")
@click.option("--to", "recipient", metavar="EMAIL", help="Only the messages to this address.")
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the queued messages into this Maildir (created if missing); they stay queued.",
)
@_store_option
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
        written = write_maildir(maildir, entries, _sender(SmtpSettings.from_env(os.environ)))
        click.echo(
            f"Wrote {written} new {plural(written, 'message')} to the Maildir {maildir} "
            f"({len(entries)} queued in all)."
        )
        return
    if output_format == "json":
        click.echo(
            json.dumps([_entry_json(e) for e in entries], indent=2, sort_keys=True, ensure_ascii=False)
        )
        return
    for line in render_outbox(entries, full):
        click.echo(line)


def _sender(smtp: SmtpSettings | None) -> str:
    return smtp.sender if smtp else os.environ.get("RECONCILER_MAIL_FROM", DEFAULT_SENDER)


def _entry_json(entry: OutboxEntry) -> dict[str, object]:
    message = entry.message
    return {
        "id": entry.id,
        "message_id": message.message_id,
        "kind": message.kind,
        "to": message.to,
        "subject": message.subject,
        "revision": entry.revision,
        "created_at": entry.created_at,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "sent_at": entry.sent_at,
        "status": "queued" if entry.queued else "sent",
    }


@cli.command()
@click.option("--contract", metavar="NUMBER", help="Only this contract and the users it concerns.")
@_store_option
def export(contract: str | None, store_url: str) -> None:
    """Print the store as desired-state YAML.

    A plan of the full export shows no changes. Strings that YAML 1.1 or 1.2
    would misread (NO, on, 0755, long numbers) are quoted.

    \b
    Example:
      reconciler export > account.yaml
      reconciler export --contract 110001234567
    """
    snapshot = open_store(store_url).snapshot()
    if contract is not None and contract not in {c.number for c in snapshot.state.contracts}:
        raise InputError(f"no contract {contract} in the store")
    click.echo(export_yaml(snapshot.state, contract), nl=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="How to print the drift; markdown is made for an issue.",
)
@click.option(
    "--stale-invites",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Also report users still invited this many days after they were added.",
)
@_store_option
@click.pass_context
def drift(
    ctx: click.Context, paths: tuple[str, ...], output_format: str, stale_invites: int | None, store_url: str
) -> None:
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
    """
    desired = load_desired_state(paths)
    found = find_drift(desired, open_store(store_url).snapshot(), datetime.now(UTC), stale_invites)
    _summarise(lambda: markdown.render_drift(found, limit=markdown.SUMMARY_LIMIT))
    if output_format == "json":
        click.echo(drift_json(found), nl=False)
    elif output_format == "markdown":
        click.echo(markdown.render_drift(found), nl=False)
    else:
        click.echo("\n".join(render_drift(found, _paint)))
    if found.found:
        ctx.exit(EXIT_CHANGES)


@cli.command()
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many applies.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="How to print the history.",
)
@_store_option
def history(limit: int, output_format: str, store_url: str) -> None:
    """Show what each apply changed, by whom and when, newest first.

    Read from the store's audit log.

    \b
    Example:
      reconciler history --limit 3
      reconciler history --format json
    """
    applies = open_store(store_url).history(limit)
    if output_format == "json":
        click.echo(history_json(applies), nl=False)
    elif output_format == "markdown":
        click.echo(markdown.render_history(applies), nl=False)
    else:
        click.echo("\n".join(render_history(applies, _paint)))


@cli.command()
@click.argument("planfile", metavar="PLANFILE")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="How to print the plan.",
)
def show(planfile: str, output_format: str) -> None:
    """Print a plan saved by `plan --out`, in apply order.

    \b
    Example:
      reconciler show plan.json
      reconciler show plan.json --format markdown
    """
    the_plan = Plan.loads(_read(planfile), planfile)
    if output_format == "json":
        click.echo(the_plan.dumps(), nl=False)
    elif output_format == "markdown":
        click.echo(markdown.render_plan(the_plan, limit=markdown.SUMMARY_LIMIT), nl=False)
    else:
        _echo_plan(the_plan)


@cli.group()
def users() -> None:
    """Administer users in the store."""


@users.command()
@click.argument("email")
@_store_option
def activate(email: str, store_url: str) -> None:
    """Mark an invited user active, as their first sign-in does.

    \b
    Example:
      reconciler users activate carol@acme.example
    """
    open_store(store_url).activate_user(email)
    click.echo(f"{email.lower()} is active.")


def _plan_of(paths: tuple[str, ...], store: Store, actor: str, options: PlanOptions) -> Plan:
    desired = load_desired_state(paths)
    return make_plan(desired, store.snapshot(), actor, options)


def _echo_plan(the_plan: Plan) -> None:
    click.echo("\n".join(render_plan(the_plan, _paint)))


def _summarise(report: Callable[[], str]) -> None:
    """In GitHub Actions, add `report()` to the job summary; elsewhere do not even render it."""
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        warning = append_step_summary(report())
        if warning:
            click.echo(f"Warning: {warning}", err=True)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def _confirm(count: int) -> None:
    if not sys.stdin.isatty():
        raise ApplyRefused(
            "not applied: apply asks before changing anything; pass --auto-approve to run unattended"
        )
    if not click.confirm(f"Apply these {count} actions?", default=False):
        raise ApplyRefused("not applied: cancelled")


def main() -> None:
    """The console script's entry point."""
    cli()
