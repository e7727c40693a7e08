"""directory pull: the people of the company directory's mapped groups, into the account's generated file.

Needs the `ldap` extra (ldap3); without it, it says how to install it. The
bind password comes from RECONCILER_LDAP_PASSWORD only, and is never printed.
"""

from __future__ import annotations

import os

import click

from reconciler.cli.app import TerminalProgress, cli, paint
from reconciler.commands.directory import DEFAULT_MAX_SHRINK_RATIO, Pulled, pull
from reconciler.core.errors import plural

PASSWORD_VARIABLE = "RECONCILER_LDAP_PASSWORD"
#: Directory entries read before a bar is worth showing: a few seconds' work.
READ_BAR_FROM = 2_000


@cli.group()
def directory() -> None:
    """Take people from the company directory (LDAP: Active Directory, OpenLDAP).

    A hand-written file declares the directory once (`directory:`) and maps
    teams to directory groups (`directory_group` on a team). `directory pull`
    writes the users of those groups and each mapped team's members into a
    generated file; review it as a pull request, whose plan shows what it does
    to licences, and apply it after the merge. Needs the ldap extra:
    pip install 'licence-reconciler[ldap]'.

    \b
    Example:
      reconciler directory pull accounts/acme && reconciler plan accounts/acme
    """


@directory.command("pull")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--allow-shrink",
    is_flag=True,
    help="Write the file even when a mapped group reads empty or the people or a group shrink by more "
    "than --max-shrink-ratio: a shrink someone has looked at.",
)
@click.option(
    "--max-shrink-ratio",
    type=click.FloatRange(0, 1),
    default=DEFAULT_MAX_SHRINK_RATIO,
    show_default=True,
    metavar="SHARE",
    help="The share of the people, or of a group's members, one pull may remove without --allow-shrink.",
)
def pull_command(paths: tuple[str, ...], allow_shrink: bool, max_shrink_ratio: float) -> None:
    """Read the mapped directory groups into the account's generated file.

    Reads only the groups that teams name in directory_group, nested groups
    flattened, and their enabled members; writes the `output` file of the
    `directory:` block whole, sorted and without timestamps, so an unchanged
    directory leaves it byte for byte as it was. The bind password is read
    from RECONCILER_LDAP_PASSWORD (an anonymous bind without bind_dn).

    Exits 3 and leaves the file untouched when a read is incomplete (a
    dropped connection, a size or time limit, a referral, a page or a range
    of members left unread), when a mapped group with members in the file
    reads empty, or when the people or a group would shrink by more than
    --max-shrink-ratio; --allow-shrink lets a reviewed shrink through.

    \b
    Example:
      RECONCILER_LDAP_PASSWORD=... reconciler directory pull accounts/acme
      reconciler directory pull accounts/acme --allow-shrink
      test -z "$(git status --porcelain accounts/acme)" || reconciler plan accounts/acme --format markdown
    """
    password = os.environ.get(PASSWORD_VARIABLE) or None
    with TerminalProgress("Reading the directory", READ_BAR_FROM) as progress:
        pulled = pull(paths, password, None, allow_shrink, max_shrink_ratio, progress)
    for line in pulled_lines(pulled):
        click.echo(line)


def pulled_lines(pulled: Pulled) -> list[str]:
    """What a pull did, for a terminal and a job's log: the file, then who came, went and changed."""
    held = (
        f"{pulled.people:,} {plural(pulled.people, 'person', 'people')} in "
        f"{pulled.groups:,} {plural(pulled.groups, 'group')}"
    )
    if not pulled.written:
        lines = [f"{pulled.output} is unchanged: {held}."]
    else:
        lines = [paint(f"Wrote {pulled.output}: {held}.", "green")]
    changes = [
        *(f"  + {email} joined" for email in pulled.joined),
        *(f"  - {email} left" for email in pulled.left),
        *(f"  ~ {change.before} is now {change.after}" for change in pulled.renamed),
        *(f"  ~ {change.after} (was {change.before})" for change in pulled.new_names),
    ]
    lines.extend(changes)
    if pulled.members_added or pulled.members_removed:
        lines.append(
            f"Team members: {pulled.members_added:,} added, {pulled.members_removed:,} removed. "
            "Run `reconciler plan` for what that does to licences."
        )
    lines.extend(f"Note: {note}" for note in pulled.notes)
    return lines
