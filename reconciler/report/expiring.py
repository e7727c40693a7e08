"""What the store holds until a day, as the reports show it: `usage --expiring` and `drift`'s section of
entries past their day, in each format, worded once here.

Each entry reads `access carol@acme.example on 399-12345678`, `member
carol@acme.example of team Design Studio` or `user carol@acme.example`, with
its day (`until 2027-03-31, in 14 days`; `until 2026-11-30, 1 day ago` once
past), what ends with it (each serial's product and number; one the user
keeps through another source is marked `kept`) and who coordinates that
(R4), who is the one to move the date. Entries come sorted by date, then
by entry, as engine/expiring.py gives them.

    expiring_lines   text lines, for `usage` and `drift`
    expiring_rows    table rows, for markdown (each cell `inert`) and HTML (each cell escaped there)
    expiring_to_json one entry as usage's and drift's JSON write it
    expiring_csv     `usage --expiring DAYS --format csv`: one row per entry and serial
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.records import Expiring, ServedSerial, Usage
from reconciler.core.wording import record_label
from reconciler.report.csv import BOM, defused

#: The heading of drift's section of what the store holds past its last day, in every format.
EXPIRED_HEADING = "Past their last day, still in the store:"

#: The columns of a table of entries, as markdown and HTML show them.
COLUMNS = ("expires", "when", "entry", "ends", "coordinator")

#: `usage --expiring DAYS --format csv`: its header, in order.
EXPIRING_HEADER = (
    "expires",
    "days_left",
    "record",
    "user",
    "team",
    "serial",
    "product",
    "contract",
    "coordinator",
    "kept",
)


def entry_label(entry: Expiring) -> str:
    """What the date stands on, as a person names it: `access carol@acme.example on 399-12345678`."""
    return record_label(entry.record, entry.target)


def days_said(days_left: int) -> str:
    """`in 14 days`, `today`, `1 day ago`: how far the last day is from the report's day."""
    if days_left == 0:
        return "today"
    if days_left > 0:
        return f"in {days_left:,} {plural(days_left, 'day')}"
    return f"{-days_left:,} {plural(-days_left, 'day')} ago"


def when(entry: Expiring) -> str:
    """`until 2027-03-31, in 14 days`."""
    return f"until {entry.expires}, {days_said(entry.days_left)}"


def ends(entry: Expiring) -> str:
    """What ends with the entry: `AutoCAD 399-12345678, Revit 399-12345679 (kept)`; `no access` for a
    user or team that gives none."""
    if not entry.serials:
        return "no access"
    return ", ".join(_serial(serial, entry) for serial in entry.serials)


def _serial(serial: ServedSerial, entry: Expiring) -> str:
    return f"{serial.product} {serial.number}" + (" (kept)" if serial.number in entry.kept else "")


def coordinators(entry: Expiring) -> str:
    """Who coordinates what ends, each once: `bob@acme.example, alice@acme.example`; `-` for none."""
    return ", ".join(entry.coordinators) or "-"


def expiring_lines(entries: Sequence[Expiring], indent: str = "  ") -> Iterator[str]:
    """One scrubbed line per entry: `2027-03-31 (in 14 days): access carol@… on 399-… (AutoCAD
    399-12345678); coordinator bob@acme.example`."""
    for entry in entries:
        who = coordinators(entry)
        coordinated = (
            f"; {plural(len(entry.coordinators), 'coordinator')} {who}" if entry.coordinators else ""
        )
        yield scrub(
            f"{indent}{entry.expires} ({days_said(entry.days_left)}): {entry_label(entry)} ({ends(entry)})"
            + coordinated
        )


def expiring_rows(entries: Sequence[Expiring], cell: Callable[[str], Any] = str) -> list[list[Any]]:
    """A row per entry in COLUMNS' order, each cell through `cell` (markdown's `inert`)."""
    return [
        [
            cell(entry.expires),
            cell(days_said(entry.days_left)),
            cell(entry_label(entry)),
            cell(ends(entry)),
            cell(coordinators(entry)),
        ]
        for entry in entries
    ]


def expiring_to_json(entry: Expiring) -> dict[str, Any]:
    """One entry: `record` (`access`, `team_member`, `user`), `target`, `expires`, `days_left`
    (negative once past), `serials` (each `number`, `product`, `contract`, `group`, `coordinator`),
    `kept` (the serials the user keeps through another source) and `coordinators`."""
    return {
        "record": str(entry.record),
        "target": dict(entry.target),
        "expires": entry.expires,
        "days_left": entry.days_left,
        "serials": [
            {
                "number": serial.number,
                "product": serial.product,
                "contract": serial.contract,
                "group": serial.group,
                "coordinator": serial.coordinator.email,
            }
            for serial in entry.serials
        ],
        "kept": list(entry.kept),
        "coordinators": list(entry.coordinators),
    }


def expiring_csv(usage: Usage, bom: bool = False) -> str:
    """`usage --expiring DAYS --format csv`: what expires within those days (and what is past its day,
    negative `days_left`), one row per entry and serial that ends with it, sorted by date, then entry,
    then serial; an entry that gives no access is one row with the serial columns empty. `kept` is
    `true` for a serial the user keeps through another source. Cells users wrote are defused, as in
    every CSV reconciler writes (report/csv.py)."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPIRING_HEADER)
    for entry in usage.expiring:
        head = (
            entry.expires,
            entry.days_left,
            str(entry.record),
            defused(entry.user),
            defused(entry.target.get("team", "")),
        )
        if not entry.serials:
            writer.writerow((*head, *[""] * (len(EXPIRING_HEADER) - len(head))))
        for serial in entry.serials:
            writer.writerow(
                (
                    *head,
                    defused(serial.number),
                    defused(serial.product),
                    defused(serial.contract),
                    defused(serial.coordinator.email),
                    "true" if serial.number in entry.kept else "false",
                )
            )
    return buffer.getvalue()


def usage_expiring_text(usage: Usage, paint: Callable[[str, str], str]) -> Iterator[str]:
    """`usage --expiring DAYS` in the text report: a heading and a line per entry, those past their day
    in red; nothing when not asked for."""
    if usage.expiring_days is None:
        return
    days = usage.expiring_days
    if not usage.expiring:
        yield f"Nothing expires within {days:,} {plural(days, 'day')}."
        return
    count = len(usage.expiring)
    yield paint(f"Expiring within {days:,} {plural(days, 'day')}, or past their day ({count:,}):", "yellow")
    for entry, line in zip(usage.expiring, expiring_lines(usage.expiring), strict=True):
        yield paint(line, "red") if entry.days_left < 0 else line


def expiring_count(usage: Usage) -> str:
    """`, 2 expiring within 30 days`, for a report's summary; empty when not asked for."""
    if usage.expiring_days is None:
        return ""
    days = usage.expiring_days
    return f", {len(usage.expiring):,} expiring within {days:,} {plural(days, 'day')}"
