"""init, resellers, export, import csv and users: the store itself, and what goes in and out of it."""

from __future__ import annotations

import click

from reconciler.cli.app import Outcome, actor_option, cli, required_actor, store_option
from reconciler.commands.activation import activate as activate_users
from reconciler.commands.csv_import import import_csv
from reconciler.commands.resellers import change_resellers
from reconciler.core.errors import InputError, plural
from reconciler.core.model import is_email
from reconciler.core.records import ResellersChanged
from reconciler.report.csv import export_csv
from reconciler.report.yaml import export_yaml
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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "csv"]),
    default="yaml",
    show_default=True,
    help="yaml: desired state; csv: one row per user and effective grant, for a spreadsheet.",
)
@click.option("--bom", is_flag=True, help="With --format csv: start with a UTF-8 byte-order mark, for Excel.")
@store_option
def export(contract: str | None, output_format: str, bom: bool, store_url: str) -> None:
    """Print the store as desired-state YAML, or as CSV.

    A plan of the full YAML export shows no changes. Strings that YAML 1.1
    or 1.2 would misread (NO, on, 0755, long numbers) are quoted.

    The CSV has the header
    email,first_name,last_name,status,contract,serial,product,group,download,via,expires,user_expires:
    one row per effective grant (via: direct;team:NAME; expires: the last
    day of the user's own grant; user_expires: the user's own, on each of
    their rows; both YYYY-MM-DD or empty), a user without access on one row
    with the grant columns empty, sorted by e-mail then serial. A cell that
    a spreadsheet would run as a formula (=, +, -, @) starts with a '
    (import csv takes it off). UTF-8 without a byte-order mark unless
    --bom: Excel needs one to show accented names right.

    \b
    Example:
      reconciler export > account.yaml
      reconciler export --contract 110001234567
      reconciler export --format csv --bom > users.csv
    """
    snapshot = open_store(store_url).snapshot()
    if output_format == "csv":
        for piece in export_csv(snapshot, contract, bom):
            click.echo(piece, nl=False)
    else:
        click.echo(export_yaml(snapshot.state, contract), nl=False)


@cli.group(name="import")
def import_() -> None:
    """Make desired-state YAML from what another tool keeps."""


@import_.command(name="csv")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--contracts",
    "contract_paths",
    multiple=True,
    metavar="PATH",
    help="Validate the users with these contract files or folders, as validate would; repeat for several.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the YAML to FILE (whole, or not at all).")
def import_csv_command(files: tuple[str, ...], contract_paths: tuple[str, ...], out: str | None) -> None:
    """Make a desired-state users file from CSV files.

    FILE is the portal's bulk-import CSV (First name,Last name,Email address)
    or a file that export --format csv wrote (rows whose via has no
    "direct" are a team's access and are skipped; the user stays; the
    expires and user_expires columns, YYYY-MM-DD, give the last day of the
    user's own grant and of the user). Headers
    are matched ignoring case, spaces and underscores; "," or ";"; UTF-8 with
    or without a byte-order mark. Every problem is reported at once, as
    file:row:column: header: message (row 1 is the header), and nothing is
    written. Exits 0 when the files could be read, 1 when not.

    \b
    Example:
      reconciler import csv portal-users.csv --out account/users.yaml
      reconciler import csv users.csv --contracts account/contracts.yaml --out account/users.yaml
    """
    imported = import_csv(files, contract_paths, out)
    if out is None:
        click.echo(imported.text, nl=False)
    users, grants, skipped = imported.users, imported.grants, imported.skipped
    said = f"Imported {users} {plural(users, 'user')} with {grants} {plural(grants, 'grant')} of their own"
    said += f" into {out}" if out else ""
    said += f"; skipped {skipped} {plural(skipped, 'row')} of team access" if skipped else ""
    click.echo(said + ".", err=True)


@cli.group()
def users() -> None:
    """Administer users in the store."""


@users.command()
@click.argument("emails", nargs=-1, metavar="[EMAIL...]")
@click.option(
    "--from",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also the addresses in FILE: one a line, or a CSV with an e-mail column (the portal's "
    "export of sign-ins); repeat for several.",
)
@actor_option
@store_option
def activate(emails: tuple[str, ...], files: tuple[str, ...], actor: str | None, store_url: str) -> Outcome:
    """Mark invited users active, as their first sign-in does.

    Each activation is recorded in the audit log (`history --kind
    user.activate`) as the actor's, or as "sign-in" without one; the
    store's revision does not move, so a saved plan stays good. A file
    with a line that is not an address is refused whole. Exits 0 when every
    address was a user of the store (active now, or already), 1 when some
    were not: those are named, and the others are activated all the same.

    \b
    Example:
      reconciler users activate carol@acme.example dan@acme.example
      reconciler users activate --from signed-in.csv --actor portal-sync@acme.example
    """
    done = activate_users(open_store(store_url), emails, files, actor)
    activated, already, unknown = len(done.activated), len(done.already_active), len(done.unknown)
    if activated == 1 and not already and not unknown:
        click.echo(f"{done.activated[0]} is active.")
        return Outcome.DONE
    said = [f"Activated {activated} {plural(activated, 'user')}"]
    if already:
        said.append(f"{already} {plural(already, 'was', 'were')} active already")
    click.echo("; ".join(said) + ".")
    if unknown:
        shown = ", ".join(done.unknown[:NAMED]) + (f" and {unknown - NAMED} more" if unknown > NAMED else "")
        click.echo(
            f"Error: {unknown} {plural(unknown, 'address', 'addresses')} {plural(unknown, 'is', 'are')} "
            f"no user of this store: {shown}.",
            err=True,
        )
        return Outcome.FAILED
    return Outcome.DONE


#: How many unknown addresses `users activate` names before it only counts them.
NAMED = 20


@cli.group()
def resellers() -> None:
    """Add or remove the store's resellers (a reseller may do everything)."""


@resellers.command(name="add")
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
@actor_option
@store_option
def resellers_add(emails: tuple[str, ...], actor: str | None, store_url: str) -> None:
    """Name more resellers; only a reseller may.

    Recorded in the audit log; the store's revision moves, so a plan saved
    before it is refused (it was judged with the old resellers). Exits 3
    when the actor is no reseller, nothing changed.

    \b
    Example:
      reconciler resellers add --actor orders@cadpartners.example support@cadpartners.example
    """
    _echo_resellers(change_resellers(open_store(store_url), required_actor(actor), add=emails))


@resellers.command(name="remove")
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
@actor_option
@store_option
def resellers_remove(emails: tuple[str, ...], actor: str | None, store_url: str) -> None:
    """Remove resellers; only a reseller may, and never the last one.

    Recorded in the audit log; the store's revision moves. Exits 3 when the
    actor is no reseller, 1 when it would leave no reseller; either way
    nothing changed.

    \b
    Example:
      reconciler resellers remove --actor orders@cadpartners.example old-desk@cadpartners.example
    """
    _echo_resellers(change_resellers(open_store(store_url), required_actor(actor), remove=emails))


@resellers.command(name="list")
@store_option
def resellers_list(store_url: str) -> None:
    """Print the store's resellers, one a line.

    \b
    Example:
      reconciler resellers list
    """
    for email in sorted(open_store(store_url).snapshot().resellers):
        click.echo(email)


def _echo_resellers(changed: ResellersChanged) -> None:
    did = [f"added {', '.join(changed.added)}"] if changed.added else []
    did += [f"removed {', '.join(changed.removed)}"] if changed.removed else []
    if did:
        click.echo(f"Resellers: {'; '.join(did)}. The store is at revision {changed.revision}.")
    else:
        click.echo("Nothing to change: the resellers were already so.")
    click.echo(f"The resellers are now {', '.join(changed.resellers)}.")
