"""The account and its seat use as CSV, the way admins keep them in spreadsheets.

    export_csv   `export --format csv`: one row per effective grant, streamed
    usage_csv    `usage --format csv`: one row per serial, with its contract's columns

RFC 4180 as Python's csv module writes it (CRLF line ends, a field quoted
when it holds a comma, a quote or a line break), UTF-8. Without a
byte-order mark by default, because a BOM is a stray character to
everything but Excel (grep, cut, a diff, a program that reads the header);
`bom=True` starts the text with one, so that Excel opens it as UTF-8
rather than the system code page.

Every cell users wrote is defused: one that starts like a formula (`=`,
`+`, `-`, `@`, tab, carriage return) is written with a leading `'` (CSV
injection), and `import csv` (commands/csv_import.py) takes that `'` off
again with `restored`. Numbers are ours and written as they are.

In the export, `expires` is the last day of the user's own grant on the row's
serial (empty for one a team alone gives, or one for good), and
`user_expires` the user's own last day, on each of their rows, as their name
is. A team member's last day is not in it: the CSV holds users and their
own grants, as `import csv` reads them; the YAML (`export`) has the teams.
Dates are ISO 8601 (2027-03-31) and ours, written as they are.

In the usage CSV, a contract that has ended has negative `days_left`; a
contract without serials is one row with the serial columns empty;
`stale_invites` counts the serial's stale invitations and `stale_users`
names them, joined with `;`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from reconciler.core.records import Snapshot, Usage
from reconciler.report.yaml import contract_part

#: The export's header, in order; `import csv` reads these names back (and the portal's own).
HEADER = (
    "email",
    "first_name",
    "last_name",
    "status",
    "contract",
    "serial",
    "product",
    "group",
    "download",
    "via",
    "expires",
    "user_expires",
)
#: What a spreadsheet runs as a formula when a cell starts with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Joins the sources of one grant in the `via` column.
VIA_SEPARATOR = ";"


def defused(cell: str) -> str:
    """`cell` as it may stand in a spreadsheet: with a leading `'` when, past any `'` it already has,
    it starts like a formula, so that `defuse`'s inverse (`restored`) gives back exactly `cell`."""
    return "'" + cell if cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def restored(cell: str) -> str:
    """`cell` as `defused` had it: one leading `'` taken off where `defused` puts one."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


#: Rows written between two pieces of text handed back: large enough to be cheap, small to stream.
CHUNK_ROWS = 2000
BOM = "\ufeff"


def export_csv(snapshot: Snapshot, contract: str | None = None, bom: bool = False) -> Iterator[str]:
    """The CSV of `snapshot`'s users and effective grants, piece by piece, sorted by e-mail then serial.

    With `contract`, only its serials' grants, and the users `export --contract` gives (InputError
    when there is no such contract). A user without a grant is one row with the grant columns empty.
    """
    state = snapshot.state
    contracts, concerned = list(state.contracts), None
    if contract is not None:
        contracts, _, concerned = contract_part(state, contract)
    serials = {s.number: (c.number, s.product, s.group or "") for c in contracts for s in c.serials}
    by_user: dict[str, list[str]] = {}
    for email, serial in snapshot.grants:
        if serial in serials:
            by_user.setdefault(email, []).append(serial)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write(BOM)
    writer.writerow(HEADER)
    rows = 0
    for user in state.users:
        granted = by_user.get(user.email)
        if concerned is not None and not granted and user.email not in concerned:
            continue
        status = snapshot.user_status.get(user.email, "")
        names = (defused(user.first_name or ""), defused(user.last_name or ""))  # a store's user has both
        person = (defused(user.email), *names, status)
        until = user.expires or ""
        if not granted:
            writer.writerow((*person, "", "", "", "", "", "", "", until))
            rows += 1
        for serial in sorted(granted or ()):
            grant = snapshot.grants[(user.email, serial)]
            number, product, group = serials[serial]
            via = VIA_SEPARATOR.join(grant.via)
            writer.writerow(
                (
                    *person,
                    number,
                    serial,
                    defused(product),
                    defused(group),
                    "true" if grant.download else "false",
                    defused(via),
                    grant.expires or "",
                    until,
                )
            )
            rows += 1
        if rows >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            rows = 0
    yield buffer.getvalue()


USAGE_HEADER = (
    "contract",
    "manager",
    "ends",
    "days_left",
    "renewal_due",
    "serial",
    "product",
    "group",
    "coordinator",
    "seats",
    "assigned",
    "free",
    "invited",
    "stale_invites",
    "stale_users",
)
#: Joins the e-mails in `stale_users`, as `via` joins a grant's sources in the export.
USERS_SEPARATOR = ";"


def usage_csv(usage: Usage, bom: bool = False) -> str:
    """The usage report as CSV, serials in the report's order (by contract, then serial)."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(USAGE_HEADER)
    for contract in usage.contracts:
        days_left = "" if contract.days_left is None else str(contract.days_left)
        head = (
            contract.number,
            defused(contract.manager),
            contract.ends or "",
            days_left,
            "true" if contract.renewal_due else "false",
        )
        if not contract.serials:
            writer.writerow((*head, *[""] * (len(USAGE_HEADER) - len(head))))
        for serial in contract.serials:
            writer.writerow(
                (
                    *head,
                    serial.number,
                    defused(serial.product),
                    defused(serial.group or ""),
                    defused(serial.coordinator),
                    serial.seats,
                    serial.assigned,
                    serial.free,
                    serial.invited,
                    len(serial.stale_invites),
                    defused(USERS_SEPARATOR.join(i.user for i in serial.stale_invites)),
                )
            )
    return buffer.getvalue()
