"""Warnings: `expires` dates already past, in files that are otherwise as they should be.

A date before today is no error: the plan takes the entry away (`reason: expired DATE`), and once
that is applied the entry is only history. `validate` says where each one stands, so that someone
takes it out of the file (`reconciler fmt --drop-expired` does, once the store holds the removal).
The dates that are errors (after the contract's end, on a Contract Manager or a coordinator) are
rules.py's.

Dates are ISO 8601 text, which compare as the days they name (engine/expiry.py judges them so too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.core.diagnostics import DocPath, Finding, Severity, show_value

#: Where the entry goes once it is applied, as every warning ends.
_THEN = "once applied, `reconciler fmt --drop-expired` takes it out of the file"


def past_dates(documents: Sequence[tuple[str, Any]], today: str) -> list[Finding]:
    """A warning at each `expires` before `today` (ISO 8601) in `documents`, (file name, document)
    pairs that passed the schema: on a user, a user's access entry and a team member."""
    return [
        Finding(source, path, message, severity=Severity.WARNING)
        for source, document in documents
        for path, message in _past(document, today)
    ]


def _past(document: Mapping[str, Any], today: str) -> Iterator[tuple[DocPath, str]]:
    for index, user in enumerate(document.get("users", ())):
        email = show_value(user["email"])
        day = _day(user)
        if day is not None and day < today:
            yield (
                ("users", index, "expires"),
                f"the user {email} expired {day} (today is {today}): the plan removes them with their "
                "access; " + _THEN,
            )
        for at, access in enumerate(user.get("access", ())):
            day = _day(access)
            if day is not None and day < today:
                yield (
                    ("users", index, "access", at, "expires"),
                    f"the access to serial {show_value(access['serial'])} expired {day} (today is {today}): "
                    "the plan revokes it; " + _THEN,
                )
    for index, team in enumerate(document.get("teams", ())):
        for at, member in enumerate(team.get("members", ())):
            day = None if isinstance(member, str) else _day(member)
            if day is not None and day < today:
                yield (
                    ("teams", index, "members", at, "expires"),
                    f"the membership of {show_value(member['email'])} in team {show_value(team['name'])} "
                    f"expired {day} (today is {today}): the plan takes them out of the team; " + _THEN,
                )


def _day(entry: Mapping[str, Any]) -> str | None:
    """The entry's `expires` as ISO 8601 text, whichever way the YAML gave it."""
    value = entry.get("expires")
    return None if value is None else str(value)
