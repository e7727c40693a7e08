"""What each SCIM service provider allows, as one named profile of settings a push follows.

A profile says how many member changes one PATCH may carry, how many writes a
minute and an hour the provider takes, how it pages (by index, RFC 7644
§3.4.2.4, or by cursor, RFC 9865), how a group's members are read, and what its
DELETE of a user does. Each setting can be given on the command line instead
(`--chunk`, `--rate`, `--hourly-limit`, `--paging`, `--members`, `--page-size`,
`--delete-means`); what is not given comes from the profile.

The figures are what the providers document; where one documents none, the
generic value stands and the provider's own 429 and Retry-After do the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from reconciler.core.errors import InputError


class Paging(StrEnum):
    """How list reads page: `auto` is `index`, unless the ServiceProviderConfig says only `cursor`."""

    AUTO = "auto"
    INDEX = "index"
    CURSOR = "cursor"


class Members(StrEnum):
    """How a group's members are read: inside each group of the list, or, where a provider lists
    groups with empty `members`, by a `members[value eq "USER-ID"]` filter for each managed user."""

    EMBEDDED = "embedded"
    FILTER = "filter"


class DeleteMeans(StrEnum):
    """What the provider's DELETE of a user does: delete it, or only deactivate it (the user stays,
    `active: false`, and a push must not delete it again on every run)."""

    DELETE = "delete"
    DEACTIVATE = "deactivate"


@dataclass(frozen=True)
class Settings:
    """One provider's settings, a profile's or a profile's with some of them overridden.

    `rate` is writes a minute and `hourly_limit` writes an hour; None is no limit of ours.
    """

    profile: str
    chunk: int = 100
    rate: int | None = None
    hourly_limit: int | None = None
    paging: Paging = Paging.AUTO
    members: Members = Members.EMBEDDED
    page_size: int = 100
    delete_means: DeleteMeans = DeleteMeans.DELETE

    def __post_init__(self) -> None:
        for name, least in (("chunk", 1), ("page_size", 1), ("rate", 1), ("hourly_limit", 1)):
            value = getattr(self, name)
            if value is not None and value < least:
                raise InputError(f"--{name.replace('_', '-')} must be at least {least}, not {value}")

    def overridden(self, **given: Any) -> Settings:
        """These settings with each of `given` that is not None in place of the profile's; `rate` and
        `hourly_limit` given as 0 switch that limit off."""
        chosen = {name: value for name, value in given.items() if value is not None}
        for limit in ("rate", "hourly_limit"):
            if chosen.get(limit) == 0:
                chosen[limit] = None
        return replace(self, **chosen)

    def describe(self) -> str:
        """The settings in one line, as a plan's header shows them."""
        rate = f"{self.rate:,} writes a minute" if self.rate else "no write rate"
        hourly = f"{self.hourly_limit:,} writes an hour" if self.hourly_limit else "no hourly budget"
        members = "read by filter" if self.members == Members.FILTER else "embedded"
        delete = "deactivates" if self.delete_means == DeleteMeans.DEACTIVATE else "deletes"
        return (
            f"profile {self.profile}: {self.chunk} members a PATCH, {rate}, {hourly}, {self.paging} paging "
            f"of {self.page_size}, members {members}, DELETE {delete}"
        )

    def as_json(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


#: The providers a push knows by name (docs/scim.md, "Profiles", says where each figure comes from).
PROFILES: dict[str, Settings] = {
    "generic": Settings("generic"),
    # GET /Groups returns empty member lists; at most 100 member changes a PATCH and 100 a page.
    "aws-identity-center": Settings(
        "aws-identity-center", paging=Paging.CURSOR, members=Members.FILTER, page_size=100
    ),
    # 600 writes a minute across every SCIM app of the organisation; DELETE deactivates.
    "slack": Settings("slack", rate=600, delete_means=DeleteMeans.DEACTIVATE),
    # At most 1,000 users an hour.
    "github-emu": Settings("github-emu", hourly_limit=1000),
    # Cursor paging only; DELETE deactivates.
    "atlassian": Settings("atlassian", paging=Paging.CURSOR, delete_means=DeleteMeans.DEACTIVATE),
}

_RATE = re.compile(r"(?P<count>\d+)\s*(?:/\s*(?P<unit>s|sec|second|min|minute|h|hour))?")
_PER_MINUTE = {None: 1, "min": 1, "minute": 1, "s": 60, "sec": 60, "second": 60}


def profile(name: str) -> Settings:
    """The named profile; InputError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"--profile {name!r} is not one of {', '.join(PROFILES)}") from None


def parse_rate(text: str) -> int:
    """Writes a minute from `N/min` (or `N`, `N/s`); 0 or `off` switches a profile's rate off. A rate
    given per second becomes that many times 60 a minute, so that no minute holds more."""
    text = text.strip().lower()
    if text in ("off", "none"):
        return 0
    found = _RATE.fullmatch(text)
    if found and found["unit"] in ("h", "hour"):
        raise InputError(
            f"--rate {text!r} is per hour: give writes an hour as --hourly-limit {found['count']}"
        )
    if not found or found["unit"] not in _PER_MINUTE:
        raise InputError(f"--rate {text!r} is not a rate: write N/min (600/min), N/s, or off")
    return int(found["count"]) * _PER_MINUTE[found["unit"]]
