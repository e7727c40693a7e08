"""`usage --format csv`: one row per serial, with its contract's columns, for a spreadsheet.

RFC 4180 and UTF-8 as `export --format csv` writes it (export.py), an
optional byte-order mark for Excel, and every cell users wrote (e-mails,
products, groups) defused the same way, so none runs as a formula. Numbers
are ours and written as they are (a contract that has ended has negative
`days_left`). A contract without serials is one row with the serial
columns empty. `stale_invites` counts the serial's stale invitations and
`stale_users` names them, joined with `;`.
"""

from __future__ import annotations

import csv
import io

from reconciler.csvfiles import defused
from reconciler.csvfiles.export import BOM
from reconciler.records import Usage

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
