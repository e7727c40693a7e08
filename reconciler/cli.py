"""The `reconciler` command line: parse options, call the library, print, map errors to exit codes.

Exit codes: 0 success; 1 invalid input, refused or failed (usage errors too,
as Terraform does, so that 2 can mean "changes present"); 2 changes or
drift found; 3 blocked by permissions.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.apply import apply_plan, check_applicable
from reconciler.errors import ApplyRefused, InputError, InvalidDesiredState, PlanBlocked, ReconcilerError
from reconciler.export import export_yaml
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.report.text import render_plan
from reconciler.store import DEFAULT_LOCK_TIMEOUT, DEFAULT_URL, Store, open_store, redact_url
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

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Cli(click.Group):
    """A group that turns usage errors and ReconcilerErrors into exit code 1."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as error:
            error.show()
            sys.exit(EXIT_ERROR)
        except InvalidDesiredState as invalid:
            for diagnostic in invalid.diagnostics:
                click.echo(str(diagnostic), err=True)
            click.echo(f"Invalid: {invalid}.", err=True)
            sys.exit(_exit_code(invalid))
        except ReconcilerError as error:
            click.echo(f"Error: {redact_url(str(error))}", err=True)
            sys.exit(_exit_code(error))
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _exit_code(error: ReconcilerError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
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
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to print the plan.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), help="Save the plan as JSON, for apply."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none."
)
@_store_option
@_actor_option
@click.pass_context
def plan(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    out: str | None,
    detailed_exitcode: bool,
    store_url: str,
    actor: str | None,
) -> None:
    """Show what it takes to make the store match the YAML, in apply order.

    Each action says the least role that may perform it and whether the
    actor may; permissions are judged against the store as it is now.
    Exits 3 when any action is blocked; with --detailed-exitcode, 2 when
    there are changes and 0 when there are none.

    \b
    Example:
      reconciler plan examples/acme --actor orders@cadpartners.example --out plan.json
    """
    the_plan = _plan_of(paths, open_store(store_url), _required_actor(actor))
    if out:
        Path(out).write_text(the_plan.dumps(), encoding="utf-8")
    if output_format == "json":
        click.echo(the_plan.dumps(), nl=False)
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
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another apply to the same store to finish; 0 fails at once.",
)
@_store_option
@_actor_option
def apply(
    paths: tuple[str, ...], auto_approve: bool, lock_timeout: float, store_url: str, actor: str | None
) -> None:
    """Apply a saved plan, or plan the YAML and apply that, all or nothing.

    A saved plan (a .json file from `plan --out`) is refused when the store
    has moved on since it was made. Blocked actions stop the whole apply
    (exit 3). On a terminal it asks before changing anything. Applies to one
    store run one at a time: this one waits up to --lock-timeout seconds for
    another to finish, then fails (exit 1) naming who holds the lock.

    \b
    Example:
      reconciler apply plan.json --auto-approve
      reconciler apply examples/acme --actor orders@cadpartners.example
    """
    store = open_store(store_url, lock_timeout=lock_timeout)
    if len(paths) == 1 and paths[0].endswith(".json"):
        the_plan = Plan.loads(_read(paths[0]), paths[0])
    else:
        the_plan = _plan_of(paths, store, _required_actor(actor))
    _echo_plan(the_plan)
    check_applicable(the_plan, actor)
    if not the_plan.actions:
        return
    if not auto_approve:
        _confirm(len(the_plan.actions))
    revision = apply_plan(store, the_plan, actor)
    counts = the_plan.summary()
    click.echo(
        f"Apply complete: {counts['add']} added, {counts['change']} changed, {counts['remove']} removed. "
        f"The store is at revision {revision}."
    )


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


def _plan_of(paths: tuple[str, ...], store: Store, actor: str) -> Plan:
    desired = load_desired_state(paths)
    return make_plan(desired, store.snapshot(), actor)


def _echo_plan(the_plan: Plan) -> None:
    click.echo("\n".join(render_plan(the_plan, _paint)))


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
