"""`import csv`: users and their own access from CSV files, as a desired-state users file.

Reads the portal's bulk-import file (`First name,Last name,Email address`)
and the file `export --format csv` writes (`email,first_name,...,via,
expires,user_expires`: the last day of a user's own grant, and of the user,
each YYYY-MM-DD or empty for good):
headers matched ignoring case, spaces and underscores; `,` or `;`; UTF-8
with or without a BOM; CRLF or LF; quoted fields with commas and line
breaks. Each file is read a row at a time (csv.reader over the open file)
and only one record per user is kept, so memory follows the account, not
the files.

Every problem is collected, as a Diagnostic whose line is the row as a
spreadsheet numbers it (the header is row 1) and whose column is the
spreadsheet's column number, with the column's header as its field; a
problem in the whole file (not UTF-8) is placed at the line and byte where
it starts. With contract files, the users are checked with them by the
real loader (R8 and every other rule), and what it finds in the users is
placed back on the CSV rows it came from.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.commands.files import write_whole
from reconciler.core.diagnostics import Diagnostic, show_value
from reconciler.core.errors import InvalidDesiredState
from reconciler.core.model import DIRECT, Access, User, email_problem
from reconciler.loading import (
    Source,
    declared_serials,
    find_sources,
    load_sources,
    schema_max_length,
    schema_pattern,
)
from reconciler.report.csv import VIA_SEPARATOR, restored
from reconciler.report.yaml import users_yaml

#: A header, as matched: lower case, without spaces and underscores; what it names.
COLUMNS = {
    "email": "email",
    "emailaddress": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "serial": "serial",
    "serialnumber": "serial",
    "download": "download",
    "via": "via",
    "expires": "expires",
    "userexpires": "user_expires",
}
REQUIRED = (("first_name", "First name"), ("last_name", "Last name"), ("email", "Email address"))
TRUE_WORDS = frozenset({"true", "yes", "1", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", ""})
RESAVE = (
    'save it again as UTF-8: in Excel, File > Save As > "CSV UTF-8 (Comma delimited) (*.csv)"; '
    'in LibreOffice Calc, File > Save As > "Text CSV (.csv)" with "Edit filter settings" and '
    'Character set "Unicode (UTF-8)"; in Numbers or Google Sheets, export as CSV (always UTF-8)'
)


@dataclass(frozen=True)
class Imported:
    """What `import_csv` made: the users file's text and what went into it."""

    text: str
    users: int
    grants: int
    skipped: int  # rows of access that came from a team, not the user's own


@dataclass(slots=True)
class _Place:
    """A row of one file, and the spreadsheet columns of that file's fields."""

    file: str
    row: int
    columns: dict[str, tuple[int, str]]

    def at(self, name: str, message: str) -> Diagnostic:
        column, header = self.columns.get(name, (0, ""))
        return Diagnostic(self.file, self.row, column, header, message)

    def __str__(self) -> str:
        return f"{self.file}:{self.row}"


@dataclass(slots=True)
class _Person:
    first_name: str
    last_name: str
    place: _Place
    #: By serial: the user's own grant's download and last day, and the row that first gave it.
    access: dict[str, tuple[bool, str | None, _Place]] = field(default_factory=dict)
    #: The user's own last day (`user_expires`), and the row that gave it.
    expires: tuple[str, _Place] | None = None


def import_csv(paths: Sequence[str], contract_paths: Sequence[str] = (), out: str | None = None) -> Imported:
    """The users (with their own access) the CSV files at `paths` hold, as desired-state YAML.

    With `contract_paths`, the result is validated together with those files. Raises
    InvalidDesiredState with every problem; with `out`, the file is written only when there is
    none, and whole (a temporary file renamed into place).
    """
    people: dict[str, _Person] = {}
    sources, problems = find_sources(contract_paths) if contract_paths else ([], [])
    serials = None
    if contract_paths:
        serials, unparsed = declared_serials(sources)
        problems.extend(unparsed)
    skipped = 0
    for path in paths:
        skipped += _read_file(path, people, problems, serials)
    if problems:
        raise InvalidDesiredState(problems)
    emails = sorted(people)
    users = [_user(email, people[email]) for email in emails]
    preamble = "# Made by `reconciler import csv` from " + ", ".join(Path(p).name for p in paths) + ".\n"
    text = users_yaml(users, preamble)
    if contract_paths:
        _check_with_contracts(text, paths, sources, [people[e] for e in emails])
    if out is not None:
        write_whole(Path(out), text.encode("utf-8"), "the YAML")
    grants = sum(len(u.access) for u in users)
    return Imported(text, len(users), grants, skipped)


def _user(email: str, person: _Person) -> User:
    access = tuple(
        Access(serial, download, expires) for serial, (download, expires, _) in sorted(person.access.items())
    )
    expires = None if person.expires is None else person.expires[0]
    return User(email, person.first_name, person.last_name, access, expires=expires)


def _read_file(
    path: str, people: dict[str, _Person], problems: list[Diagnostic], serials: frozenset[str] | None
) -> int:
    """Add the users of the CSV at `path` to `people`, and its problems to `problems`; returns how many
    rows of team access it skipped."""
    try:
        stream = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
    except OSError as error:
        problems.append(Diagnostic(path, 0, 0, "", f"cannot read: {error.strerror}"))
        return 0
    with stream:
        try:
            return _read_rows(path, stream, people, problems, serials)
        except UnicodeDecodeError:
            problems.append(_not_utf8(path))
            return 0
        except csv.Error as error:
            problems.append(Diagnostic(path, 0, 0, "", f"cannot be read as CSV: {error}"))
            return 0


def _read_rows(
    path: str,
    stream: Iterable[str],
    people: dict[str, _Person],
    problems: list[Diagnostic],
    serials: frozenset[str] | None,
) -> int:
    lines = iter(stream)
    first = next(lines, "")
    if first.startswith("\ufeff"):  # a second BOM, as some tools write after re-saving
        first = first[1:]
    delimiter = delimiter_of(first)
    rows = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    header = next(rows, [])
    columns: dict[str, tuple[int, str]] = {}
    for index, name in enumerate(header):
        meaning = column_meaning(name)
        if meaning is not None and meaning not in columns:
            columns[meaning] = (index + 1, name.strip())
    missing = [label for meaning, label in REQUIRED if meaning not in columns]
    if missing:
        shown = show_value(delimiter.join(header), 120) if header else "empty"
        for label in missing:
            problems.append(
                Diagnostic(
                    path,
                    1,
                    1,
                    "",
                    f'there is no "{label}" column (the header is {shown}); a file needs '
                    '"First name", "Last name" and "Email address" (case, spaces and underscores '
                    "do not matter: first_name, last_name and email are the same)",
                )
            )
        return 0
    indices = {meaning: index - 1 for meaning, (index, _) in columns.items()}
    skipped = 0
    for row_number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # the empty rows a spreadsheet leaves at the end
        place = _Place(path, row_number, columns)
        values = {
            meaning: restored(row[index]) if index < len(row) else "" for meaning, index in indices.items()
        }
        skipped += _read_row(values, place, people, problems, serials)
    return skipped


def delimiter_of(header: str) -> str:
    """The delimiter of a CSV whose first line is `header`: ";" where it has more of those, else ","."""
    return ";" if header.count(";") > header.count(",") else ","


def column_meaning(header: str) -> str | None:
    """What a column's header names (`COLUMNS`), matched ignoring case, spaces and underscores."""
    return COLUMNS.get(header.strip().lower().replace(" ", "").replace("_", ""))


def _read_row(
    values: dict[str, str],
    place: _Place,
    people: dict[str, _Person],
    problems: list[Diagnostic],
    serials: frozenset[str] | None,
) -> int:
    email = values["email"].strip()
    found = len(problems)
    if not email:
        problems.append(place.at("email", "the e-mail address is empty"))
    else:
        problem = email_problem(email)
        if problem:
            problems.append(
                place.at("email", f"{show_value(email)} is not a valid e-mail address: {problem}")
            )
    for name, what in (("first_name", "first name"), ("last_name", "last name")):
        problem = _text_problem(values[name])
        if problem:
            problems.append(place.at(name, f"the {what} {problem}"))
    if len(problems) > found:
        return 0
    key = email.lower()
    person = people.get(key)
    if person is None:
        person = people[key] = _Person(values["first_name"], values["last_name"], place)
    elif (person.first_name, person.last_name) != (values["first_name"], values["last_name"]):
        here = show_value(f"{values['first_name']} {values['last_name']}")
        there = show_value(f"{person.first_name} {person.last_name}")
        problems.append(
            place.at(
                "email",
                f"{show_value(key)} is named {here} here but {there} at {person.place}; "
                "one e-mail is one person: give both rows the same name",
            )
        )
        return 0
    if not _read_user_expires(values, place, key, person, problems):
        return 0
    serial = values.get("serial", "").strip()
    if not serial:
        return 0
    if "via" in values and DIRECT not in (part.strip() for part in values["via"].split(VIA_SEPARATOR)):
        return 1  # a team's access: the team gives it, not the user's own grant
    if not schema_pattern("serial_number").fullmatch(serial):
        problems.append(
            place.at("serial", f'{show_value(serial)} is not a serial number (like "399-12345678")')
        )
        return 0
    if serials is not None and serial not in serials:
        problems.append(place.at("serial", f"no contract declares the serial {show_value(serial)}"))
        return 0
    word = values.get("download", "").strip().lower()
    if word not in TRUE_WORDS and word not in FALSE_WORDS:
        problems.append(
            place.at(
                "download",
                f"{show_value(values['download'])} is not true or false (nor yes, no, 1, 0, empty)",
            )
        )
        return 0
    download = word in TRUE_WORDS
    expires = values.get("expires", "").strip() or None
    if expires is not None and _date_problem(expires, place, "expires", problems):
        return 0
    earlier = person.access.get(serial)
    if earlier is None:
        person.access[serial] = (download, expires, place)
    elif earlier[0] != download:
        problems.append(
            place.at(
                "download",
                f"access to the serial {show_value(serial)} for {show_value(key)} has download "
                f"{str(download).lower()} here but {str(earlier[0]).lower()} at {earlier[2]}; keep one",
            )
        )
    elif earlier[1] != expires:
        problems.append(
            place.at(
                "expires",
                f"access to the serial {show_value(serial)} for {show_value(key)} is "
                f"{_until(expires)} here but {_until(earlier[1])} at {earlier[2]}; keep one",
            )
        )
    return 0


def _read_user_expires(
    values: dict[str, str], place: _Place, email: str, person: _Person, problems: list[Diagnostic]
) -> bool:
    """Take the user's own last day from a row's `user_expires`, if it gives one; False, with the
    problem added, for a cell that is not a date or that differs from an earlier row's. A row that
    leaves it empty says nothing of it: the user's other rows may."""
    day = values.get("user_expires", "").strip()
    if not day:
        return True
    if _date_problem(day, place, "user_expires", problems):
        return False
    if person.expires is None:
        person.expires = (day, place)
    elif person.expires[0] != day:
        problems.append(
            place.at(
                "user_expires",
                f"{show_value(email)} expires {day} here but {person.expires[0]} at {person.expires[1]}; "
                "one person has one last day: give their rows the same one",
            )
        )
        return False
    return True


def _date_problem(value: str, place: _Place, column: str, problems: list[Diagnostic]) -> bool:
    """Whether `value`, the cell of `column`, is not a day as the schema takes it (adding the problem)."""
    if schema_pattern("date").fullmatch(value):
        return False
    problems.append(
        place.at(
            column,
            f"{show_value(value)} is not a date: write the last day as YYYY-MM-DD, like 2027-03-31, a day "
            "the calendar has (in a spreadsheet, format the column as text so that it keeps that form)",
        )
    )
    return True


def _until(expires: str | None) -> str:
    return "for good" if expires is None else f"until {expires}"


def _text_problem(value: str) -> str | None:
    """Why `value` is not a name the schema takes (one line of visible text, 1 to 200 characters)."""
    if not value:
        return "is empty"
    most = schema_max_length("text")
    if len(value) > most:
        return f"is {len(value)} characters; at most {most} are allowed"
    pattern = schema_pattern("text")
    if not pattern.fullmatch(value):
        bad = next(c for c in value if not pattern.fullmatch(c))
        return (
            f"{show_value(value)} holds U+{ord(bad):04X}: a name is one line of visible text, without "
            "line breaks, control or invisible characters"
        )
    return None


def _not_utf8(path: str) -> Diagnostic:
    """The problem of a file that is not UTF-8, placed at its first bad byte, with how to re-save it."""
    with open(path, "rb") as raw:
        start = raw.read(2)
        if start in (b"\xff\xfe", b"\xfe\xff"):
            return Diagnostic(path, 1, 1, "", f'the file is UTF-16 ("Unicode Text"), not UTF-8; {RESAVE}')
        raw.seek(0)
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = line[error.start]
                return Diagnostic(
                    path,
                    number,
                    error.start + 1,
                    "",
                    f"the file is not UTF-8: byte 0x{byte:02X} here is not UTF-8 text (the file was "
                    f'probably saved as Windows-1252 or Latin-1, Excel\'s plain "CSV (Comma delimited)"); '
                    f"{RESAVE}",
                )
    return Diagnostic(path, 0, 0, "", f"the file is not UTF-8; {RESAVE}")


def _check_with_contracts(
    text: str, paths: Sequence[str], sources: Sequence[Source], people: Sequence[_Person]
) -> None:
    """Validate the users file with the contract files, as `validate` would; raise with what it finds,
    each problem in the users placed back on the CSV row it came from."""
    name = f"{paths[0]} (as YAML)"
    loaded = load_sources([*sources, Source(name, text.encode("utf-8"))])
    if loaded.state is not None:
        return
    raise InvalidDesiredState([_placed_back(d, name, people) for d in loaded.problems])


_USER_PATH = re.compile(r"users\[(\d+)\](?:\.access\[(\d+)\](?:\.(\w+))?)?(?:\.(\w+))?")


def _placed_back(problem: Diagnostic, name: str, people: Sequence[_Person]) -> Diagnostic:
    found = _USER_PATH.match(problem.path) if problem.file == name else None
    if found is None:
        return problem
    person = people[int(found[1])]
    if found[2] is None:
        if found[4] == "expires" and person.expires is not None:  # the user's own: `user_expires`
            return person.expires[1].at("user_expires", problem.message)
        return person.place.at(found[4] or "email", problem.message)
    place = sorted(person.access.items())[int(found[2])][1][2]
    return place.at(found[3] or "serial", problem.message)
