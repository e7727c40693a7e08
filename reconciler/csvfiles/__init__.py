"""The account as CSV, the way admins keep it in spreadsheets, and CSV back as desired-state YAML.

    export.py    `export --format csv`: one row per effective grant, streamed
    import_.py   `import csv`: the portal's bulk-import file or our export, as a users file

Both sides share what a spreadsheet would do to a cell: one that starts
like a formula (`=`, `+`, `-`, `@`, tab, carriage return) is written with
a leading `'` (CSV injection), and that `'` is taken off again on import.
"""

from __future__ import annotations

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
