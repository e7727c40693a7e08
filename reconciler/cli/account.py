"""init, export and users: the store itself."""

from __future__ import annotations

import click

from reconciler.cli.app import cli, store_option
from reconciler.errors import InputError
from reconciler.export import export_yaml
from reconciler.model import is_email
from reconciler.store import open_store, redact_url


@cli.command()
@click.option(
    "--reseller",
    "resellers",
    multiple=True,
    required=True,
    metavar="EMAIL",
    help="A reseller who may do everything; repeat for several.",
)
@store_option
def init(resellers: tuple[str, ...], store_url: str) -> None:
    """Create an empty store and name its resellers.

    Refuses to touch a store that already exists.

    \b
    Example:
      reconciler init --store sqlite:///acme.db --reseller orders@cadpartners.example
    """
    bad = [r for r in resellers if not is_email(r)]
    if bad:
        raise InputError(f"not an e-mail address: {', '.join(bad)}")
    snapshot = open_store(store_url).initialize(resellers)
    click.echo(
        f"Created store {redact_url(store_url)} (lineage {snapshot.lineage}) "
        f"with reseller {', '.join(sorted(snapshot.resellers))}."
    )


@cli.command()
@click.option("--contract", metavar="NUMBER", help="Only this contract and the users it concerns.")
@store_option
def export(contract: str | None, store_url: str) -> None:
    """Print the store as desired-state YAML.

    A plan of the full export shows no changes. Strings that YAML 1.1 or 1.2
    would misread (NO, on, 0755, long numbers) are quoted.

    \b
    Example:
      reconciler export > account.yaml
      reconciler export --contract 110001234567
    """
    click.echo(export_yaml(open_store(store_url).snapshot().state, contract), nl=False)


@cli.group()
def users() -> None:
    """Administer users in the store."""


@users.command()
@click.argument("email")
@store_option
def activate(email: str, store_url: str) -> None:
    """Mark an invited user active, as their first sign-in does.

    \b
    Example:
      reconciler users activate carol@acme.example
    """
    open_store(store_url).activate_user(email)
    click.echo(f"{email.lower()} is active.")
