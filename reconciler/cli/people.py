"""users show: what one user has in the store, and why."""

from __future__ import annotations

import click

from reconciler.cli.account import users
from reconciler.cli.app import echo_lines, format_option, paint, store_option
from reconciler.commands.people import CHANGES_SHOWN, show_user
from reconciler.report.people import render_user, user_json
from reconciler.store import open_store


@users.command(name="show")
@click.argument("email")
@format_option(["text", "json"], "How to print it; json is for scripts (jq).")
@store_option
def show(email: str, output_format: str, store_url: str) -> None:
    """Show what a user has, and why.

    EMAIL, in any case, is looked up in the store: the user (status,
    when added, directory id, protection), their roles (reseller,
    Contract Manager, Software Coordinator with or without the right to
    manage users, and the serials they coordinate), their teams, each
    serial they have access to with where the access comes from (their
    own grant, which teams) and the download right, each serial's
    coordinator (its Software Coordinator, or the Contract Manager when
    it names none), and the last ten applies that concerned them, with
    their commit or pull request where known. Reads only what concerns
    the user. Exits 1 when the store has no such user.

    \b
    Example:
      reconciler users show carol@acme.example
      reconciler users show Carol@Acme.example --format json | jq .access
    """
    found = show_user(open_store(store_url), email, CHANGES_SHOWN)
    if output_format == "json":
        click.echo(user_json(found), nl=False)
    else:
        echo_lines(render_user(found, paint))
