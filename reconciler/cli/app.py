"""The command group, its shared options, and the one place errors become messages and exit codes.

Exit codes: 0 success; 1 invalid input, refused or failed (usage errors too,
as Terraform does, so that 2 can mean "changes present"); 2 changes or
drift found; 3 blocked: by permissions, or a plan that apply would refuse as
it stands (a mass removal).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import Enum
from itertools import islice
from typing import Any, NoReturn

import click

from reconciler import DISTRIBUTION, __version__
from reconciler.cli.github import append_step_summary
from reconciler.core.errors import (
    ApplyRefused,
    BudgetReached,
    InputError,
    InvalidDesiredState,
    PlanBlocked,
    PullRefused,
    ReconcilerError,
)
from reconciler.core.model import is_email
from reconciler.engine.guards import DEFAULT_MAX_REMOVAL_RATIO, check_ratio
from reconciler.store import DEFAULT_URL, redact_url


class Outcome(Enum):
    """How a command that ran to its end came out; a command returns one, and `main` exits with its code."""

    DONE = "done"
    INVALID = "invalid"  # validate found problems (printed already)
    UNSENT = "unsent"  # notify left messages queued
    CHANGES = "changes"  # plan --detailed-exitcode found changes; drift found drift
    BLOCKED = "blocked"  # apply would refuse the plan: an action the actor may not perform, a mass removal
    FAILED = "failed"  # an account of several could not be read, planned or applied (reported already)


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BLOCKED = 3
#: `scim apply` stopped at its hourly write budget; run again after the time it printed.
EXIT_BUDGET = 4

#: The one place where outcomes and library errors become exit codes; the first matching error wins.
EXIT_FOR_OUTCOME = {
    Outcome.DONE: EXIT_OK,
    Outcome.INVALID: EXIT_ERROR,
    Outcome.UNSENT: EXIT_ERROR,
    Outcome.CHANGES: EXIT_CHANGES,
    Outcome.BLOCKED: EXIT_BLOCKED,
    Outcome.FAILED: EXIT_ERROR,
}
EXIT_CODES: tuple[tuple[type[ReconcilerError], int], ...] = (
    (BudgetReached, EXIT_BUDGET),
    (PlanBlocked, EXIT_BLOCKED),
    (PullRefused, EXIT_BLOCKED),
    (ReconcilerError, EXIT_ERROR),
)


#: Which modules of reconciler.cli add each command: each is imported only when its command runs, or
#: when every command is listed.
MODULES: dict[str, tuple[str, ...]] = {
    "validate": ("changes",),
    "fmt": ("changes",),
    "plan": ("changes",),
    "apply": ("changes",),
    "show": ("changes",),
    "notify": ("mail",),
    "outbox": ("mail",),
    "drift": ("reports",),
    "history": ("reports",),
    "usage": ("reports",),
    "requests": ("requests",),
    "remind": ("reminders",),
    "policy": ("policy",),
    "init": ("account",),
    "resellers": ("account",),
    "export": ("account",),
    "import": ("account",),
    "users": ("account", "people"),
    "scim": ("scim",),
    "directory": ("directory",),
    "schema": ("tooling",),
    "completion": ("tooling",),
}


class _Cli(click.Group):
    """A group that turns usage errors and ReconcilerErrors into exit code 1, and anything
    unexpected into a one-line error; the traceback is shown only with --debug.

    Its commands are added by the modules of reconciler.cli that MODULES names for each: a module is
    imported when one of its commands runs, or when every command is listed (--help, completion, the
    docs), so that a command starts without importing what only the others use.
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module in MODULES.get(cmd_name, ()):
            importlib.import_module(f"reconciler.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for modules in MODULES.values():
            for module in modules:
                importlib.import_module(f"reconciler.cli.{module}")
        return super().list_commands(ctx)

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
        sys.exit(_exit_code(code))


def _exit_code(result: object) -> int:
    """The exit code of what a command returned: an Outcome, or click's own code (0 after --help)."""
    if isinstance(result, Outcome):
        return EXIT_FOR_OUTCOME[result]
    return result if isinstance(result, int) else EXIT_OK


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
    sys.exit(exit_code_of(error))


def exit_code_of(error: ReconcilerError) -> int:
    return next(code for kind, code in EXIT_CODES if isinstance(error, kind))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__,
    package_name=DISTRIBUTION,
    prog_name="reconciler",
    message="%(prog)s %(version)s (%(package)s)",
    help="Show the version and the distribution it came in, and exit.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error (also RECONCILER_DEBUG=1).")
def cli(debug: bool) -> None:
    """Licence accounts as code: validate, plan and apply contracts, serials,
    coordinators, users and access kept in YAML.

    \b
    Exit codes: 0 success, 1 error (usage errors included), 2 changes or
    drift found, 3 blocked (by permissions, or by the removal guard).
    """


def with_options(command: Any, options: Iterable[Callable[[Any], Any]]) -> Any:
    """`command` with `options` (click decorators), shown in `--help` in the order given."""
    for option in reversed(list(options)):
        command = option(command)
    return command


def store_option(command: Any) -> Any:
    return click.option(
        "--store",
        "store_url",
        envvar="RECONCILER_STORE",
        default=DEFAULT_URL,
        show_default=True,
        help="The store: sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE. Also RECONCILER_STORE.",
    )(command)


class TerminalProgress:
    """A progress bar on stderr, shown only on a terminal and only for work big enough to wait for.

    Called with (done, total) as the work goes; `threshold` is the smallest
    total worth a bar (about a second's work). The bar ends when the work is
    done, so several can follow one another in one `with`.
    """

    def __init__(self, label: str, threshold: int) -> None:
        self.label, self.threshold = label, threshold
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if total < self.threshold or self._done or not sys.stderr.isatty():
                return
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done
        if done >= total:
            self._finish()

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


#: About a second's work on these machines: bytes of YAML read, actions written.
READ_BAR_FROM = 1_000_000
WRITE_BAR_FROM = 20_000


def reading_bar() -> TerminalProgress:
    """The bar shown while a large account's YAML is read."""
    return TerminalProgress("Reading the YAML", READ_BAR_FROM)


def echo_lines(lines: Iterable[str], chunk: int = 1000) -> None:
    """Print `lines` as they come, in chunks, so a report of any size streams."""
    remaining = iter(lines)
    while batch := list(islice(remaining, chunk)):
        click.echo("\n".join(batch))


def echo_report(
    output_format: str,
    as_json: Callable[[], str],
    as_markdown: Callable[[], str],
    as_text: Callable[[], Iterable[str]],
    as_html: Callable[[], str] | None = None,
) -> None:
    """Print a report in the format asked for; only that one is rendered, text streams line by line."""
    if output_format == "json":
        click.echo(as_json(), nl=False)
    elif output_format == "html" and as_html is not None:
        click.echo(as_html(), nl=False)
    elif output_format == "markdown":
        click.echo(as_markdown(), nl=False)
    else:
        echo_lines(as_text())


def ask_first(question: str, command: str, done: str = "applied") -> None:
    """Ask `question` on a terminal before a command changes anything; ApplyRefused when there is
    no terminal to ask on (the command needs --auto-approve) or the answer is no."""
    if not sys.stdin.isatty():
        raise ApplyRefused(
            f"not {done}: {command} asks before changing anything; pass --auto-approve to run unattended"
        )
    if not click.confirm(question, default=False):
        raise ApplyRefused(f"not {done}: cancelled")


def max_removal_ratio_option(help_text: str) -> Callable[[Any], Any]:
    """--max-removal-ratio: the share of the store's users or access a plan may remove before the removal
    guard refuses it (docs/safety.md), checked as the guard checks it."""
    return click.option(
        "--max-removal-ratio",
        type=float,
        default=DEFAULT_MAX_REMOVAL_RATIO,
        show_default=True,
        callback=lambda ctx, param, value: check_ratio(value),
        metavar="SHARE",
        help=help_text,
    )


def today_option(help_text: str) -> Callable[[Any], Any]:
    """--today DATE (or RECONCILER_TODAY): the day expiry dates are judged against (engine/expiry.py),
    ISO 8601, as the `today` parameter; today's date in UTC when not given."""
    return click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        envvar="RECONCILER_TODAY",
        callback=lambda ctx, param, value: (value.date() if value else datetime.now(UTC).date()).isoformat(),
        metavar="DATE",
        help=help_text + " YYYY-MM-DD, or RECONCILER_TODAY; default: today's date in UTC.",
    )


def format_option(choices: list[str], help_text: str) -> Callable[[Any], Any]:
    """--format, text by default, as the `output_format` parameter."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help=help_text,
    )


def actor_option(command: Any) -> Any:
    return click.option(
        "--actor",
        envvar="RECONCILER_ACTOR",
        help="The e-mail of the person acting; permissions are judged for them. Also RECONCILER_ACTOR.",
    )(command)


def paint(text: str, colour: str) -> str:
    return click.style(text, fg=colour, bold=colour == "red")


def required_actor(actor: str | None) -> str:
    if not actor:
        raise InputError("name the person acting with --actor EMAIL or RECONCILER_ACTOR")
    if not is_email(actor):
        raise InputError(f"the actor {actor!r} is not an e-mail address")
    return actor


def summarise(report: Callable[[], str]) -> None:
    """In GitHub Actions, add `report()` to the job summary; elsewhere do not even render it."""
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        warning = append_step_summary(report())
        if warning:
            click.echo(f"Warning: {warning}", err=True)


def main() -> None:
    """The console script's entry point.

    The cycle collector is off for the run: a command is one short process whose data (the YAML,
    the model, the plan) holds no cycles, so collecting only walks millions of live objects again
    and again; at 100,000 users that was a quarter of a plan's time, for no memory back.
    """
    gc.disable()
    cli()
