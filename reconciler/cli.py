"""The `reconciler` command line: parse options, call the library, print, map errors to exit codes.

Exit codes: 0 success; 1 invalid input, refused or failed (usage errors too,
as Terraform does, so that 2 can mean "changes present"); 2 changes or
drift found; 3 blocked by permissions.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.errors import InvalidDesiredState, ReconcilerError
from reconciler.validate import load_desired_state

EXIT_OK = 0
EXIT_ERROR = 1

#: The one place where library errors become exit codes; the first matching class wins.
EXIT_CODES: tuple[tuple[type[ReconcilerError], int], ...] = ((ReconcilerError, EXIT_ERROR),)


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
        except ReconcilerError as error:
            click.echo(f"Error: {error}", err=True)
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


def main() -> None:
    """The console script's entry point."""
    cli()
