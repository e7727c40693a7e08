"""`users activate`: mark invited users active, as their first sign-in does, one or thousands at once.

Addresses come from the command line or from a file: a list (one address a
line; blank lines and lines starting with `#` skipped) or a CSV with an e-mail column,
as the portal's export of sign-ins or `export --format csv` has (headers
matched as `import csv` matches them). A file with a line that is not an
address is refused whole, each such line named, and nothing is activated.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from reconciler.commands.csv_import import column_meaning, delimiter_of
from reconciler.core.diagnostics import show_value
from reconciler.core.errors import InputError
from reconciler.core.model import is_email
from reconciler.core.records import Activation
from reconciler.report.csv import restored
from reconciler.store.protocol import Store

#: Who an activation is recorded as when no --actor is given: the portal's sign-in, as it stands for.
SIGN_IN = "sign-in"


def activate(store: Store, emails: Sequence[str], files: Sequence[str], actor: str | None) -> Activation:
    """Activate the users `emails` and the `files` name, recorded as `actor`'s (or SIGN_IN)."""
    wanted = list(emails)
    bad = [email for email in emails if not is_email(email)]
    if bad:
        raise InputError(f"not an e-mail address: {', '.join(repr(b) for b in bad)}; nothing was activated")
    for path in files:
        wanted += addresses_in(path)
    if not wanted:
        raise InputError("name the users to activate: EMAIL..., or --from FILE")
    return store.activate_users(wanted, actor.lower() if actor else SIGN_IN)


def addresses_in(path: str) -> list[str]:
    """The addresses a list or CSV file at `path` holds, in order; InputError naming every line that
    holds none, or a file that cannot be read."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8; save it again as UTF-8") from None
    found, problems = _from_csv(path, lines) if _is_csv(lines) else _from_list(path, lines)
    if problems:
        shown = "\n".join(problems[:20]) + (
            f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        raise InputError(f"{path} has lines without an e-mail address; nothing was activated:\n{shown}")
    return found


def _is_csv(lines: Sequence[str]) -> bool:
    """A file is a CSV when its first line is a header naming an e-mail column."""
    return bool(lines) and _email_column(_cells(lines[0])) is not None


def _cells(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter_of(line)), [])


def _email_column(header: Sequence[str]) -> int | None:
    for index, name in enumerate(header):
        if column_meaning(name) == "email":
            return index
    return None


def _from_csv(path: str, lines: Sequence[str]) -> tuple[list[str], list[str]]:
    header = lines[0]
    column = _email_column(_cells(header))
    assert column is not None  # _is_csv said so
    found, problems = [], []
    for number, row in enumerate(csv.reader(lines[1:], delimiter=delimiter_of(header)), start=2):
        if not any(cell.strip() for cell in row):
            continue
        value = restored(row[column]).strip() if column < len(row) else ""
        if is_email(value):
            found.append(value)
        else:
            problems.append(
                f"{path}:{number}: {show_value(value, 60) if value else 'empty'} is not an e-mail address"
            )
    return found, problems


def _from_list(path: str, lines: Sequence[str]) -> tuple[list[str], list[str]]:
    found, problems = [], []
    for number, line in enumerate(lines, start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        if is_email(value):
            found.append(value)
        else:
            problems.append(f"{path}:{number}: {show_value(value, 60)} is not an e-mail address")
    return found, problems
