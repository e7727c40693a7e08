"""schema and completion: what editors and shells need to help with the YAML and the command."""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import shell_complete

from reconciler.cli.app import cli
from reconciler.core.errors import InputError
from reconciler.core.model import SCHEMA_FILE
from reconciler.core.workspace import WORKSPACE_FILE, WORKSPACE_SCHEMA_FILE
from reconciler.loading.schema import schema_bytes

#: The shells click completes for since its lowest version pyproject.toml allows.
SHELLS = ("bash", "zsh", "fish")
#: The variable click's completion reads, named after the command as click names it by default: the
#: scripts printed here are the ones `_RECONCILER_COMPLETE=bash_source reconciler` prints.
COMPLETE_VARIABLE = "_RECONCILER_COMPLETE"


@cli.command()
@click.option(
    "--workspace",
    is_flag=True,
    help=f"The schema of the workspace file, {WORKSPACE_FILE}, instead of the account files'.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help=f"Write the schema to PATH (by convention {SCHEMA_FILE} beside the account's files, "
    f"{WORKSPACE_SCHEMA_FILE} beside {WORKSPACE_FILE}) instead of printing it. The folder must exist.",
)
def schema(workspace: bool, out: str | None) -> None:
    """Print the JSON Schema of desired-state YAML, the one validate checks against.

    Files that export and import csv write start with the modeline
    `# yaml-language-server: $schema=desired-state.schema.json`: write the
    schema beside them, and editors with the YAML language server (VS Code,
    Neovim, Helix...) complete and check the files as you type.

    With --workspace, the schema of reconciler.yaml, the workspace file that
    names a reseller's many accounts: write it beside that file and start the
    file with `# yaml-language-server: $schema=workspace.schema.json`.

    \b
    Example:
      reconciler schema --out account/desired-state.schema.json
      reconciler schema > desired-state.schema.json
      reconciler schema --workspace --out workspace.schema.json
    """
    name = WORKSPACE_SCHEMA_FILE if workspace else SCHEMA_FILE
    published = schema_bytes(name)
    if out is None:
        click.echo(published, nl=False)
        return
    _write(Path(out), published)
    click.echo(f"Wrote the {'workspace ' if workspace else ''}schema to {out}.", err=True)


def _write(path: Path, data: bytes) -> None:
    """`data` to `path`, in a folder that exists (none is made: a mistyped folder should not become one)."""
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"cannot write the schema to {path}: no folder {folder}; create it first")
    try:
        path.write_bytes(data)
    except OSError as error:
        raise InputError(f"cannot write the schema to {path}: {error.strerror or error}") from None


@cli.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script of bash, zsh or fish, to complete reconciler's commands and options.

    Save it where the shell looks for completions, as below, then open a new
    shell. Bash loads it through the bash-completion package (bash 4.4 or
    later); zsh from a folder in $fpath, before compinit runs. The script
    asks reconciler itself what to offer, so it stays right after an upgrade.

    \b
    Example:
      reconciler completion bash > ~/.local/share/bash-completion/completions/reconciler
      reconciler completion zsh > "${fpath[1]}/_reconciler"
      reconciler completion fish > ~/.config/fish/completions/reconciler.fish
    """
    # click's own handler of `_RECONCILER_COMPLETE=bash_source`, so the two print the same bytes.
    if shell_complete(cli, {}, "reconciler", COMPLETE_VARIABLE, f"{shell}_source") != 0:
        raise InputError(f"this version of click cannot complete for {shell}")
