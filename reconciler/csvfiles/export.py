"""`export --format csv`: the store's users and effective access, one row per grant, streamed.

RFC 4180 as Python's csv module writes it (CRLF line ends, a field quoted
when it holds a comma, a quote or a line break), UTF-8. Without a
byte-order mark by default, because a BOM is a stray character to
everything but Excel (grep, cut, a diff, a program that reads the header);
`bom=True` starts the text with one, so that Excel opens it as UTF-8
rather than the system code page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from reconciler.csvfiles import HEADER, VIA_SEPARATOR, defused
from reconciler.export import contract_part
from reconciler.records import Snapshot

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
        person = (defused(user.email), defused(user.first_name), defused(user.last_name), status)
        if not granted:
            writer.writerow((*person, "", "", "", "", "", ""))
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
                )
            )
            rows += 1
        if rows >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            rows = 0
    yield buffer.getvalue()
