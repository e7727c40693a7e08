"""Each record of the account as a dict of its fields, written once.

A plan's `before` and `after` hold these (what a change compares and what a
store writes from), and `export` writes them back as YAML under the record's
key; both read this module, so a field added to a record is added here once.
Keys are in the order people read them, which is the order reports show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.model import DIRECT, Access, Contract, Coordinator, Grant, Serial, Team, User


def user_record(user: User) -> dict[str, Any]:
    """A user's own fields, `id` (the directory's) and `expires` named only when set, so plans of users
    without them stay as they were."""
    record: dict[str, Any] = {"first_name": user.first_name, "last_name": user.last_name}
    if user.id is not None:
        record["id"] = user.id
    if user.expires is not None:
        record["expires"] = user.expires
    return record


def email_record(user: User) -> dict[str, Any]:
    """A user's address and directory id: what a `user.change_email` changes, and keeps."""
    return {"email": user.email, "id": user.id}


def contract_record(contract: Contract) -> dict[str, Any]:
    """A contract's own fields, `ends` named only when set, so plans of contracts without one stay as
    they were."""
    record: dict[str, Any] = {"manager": contract.manager}
    if contract.ends is not None:
        record["ends"] = contract.ends
    return record


def coordinator_record(coordinator: Coordinator) -> dict[str, Any]:
    shipping = coordinator.shipping
    return {
        "manage_users": coordinator.manage_users,
        "shipping": None
        if shipping is None
        else {"name": shipping.name, "address": shipping.address, "country": shipping.country},
    }


def serial_record(serial: Serial) -> dict[str, Any]:
    return {"product": serial.product, "seats": serial.seats, "group": serial.group}


def team_record(team: Team) -> dict[str, Any]:
    return {"description": team.description}


def access_entry_record(access: Access) -> dict[str, Any]:
    """An access entry as the YAML lists it under a user or a team: what it lets them download (a
    team's access as its actions hold it; the serial is their target)."""
    return {"download": access.download}


def access_record(grant: Grant) -> dict[str, Any]:
    """A user's effective access as an action's `before` or `after` holds it: `download` when any
    source gives it, and its sources (`via`); `direct_download` only where the user's own grant gives
    less than their teams'; `expires`, the last day of the user's own grant, only where it has one."""
    record: dict[str, Any] = {"download": grant.download, "via": list(grant.via)}
    if grant.direct_download is not None and grant.direct_download != grant.download:
        record["direct_download"] = grant.direct_download
    if grant.expires is not None:
        record["expires"] = grant.expires
    return record


def member_record(expires: str | None) -> dict[str, Any]:
    """A team membership as an action's `before` or `after` holds it: its last day, when it has one."""
    return {} if expires is None else {"expires": expires}


def direct_download(record: Mapping[str, Any]) -> bool | None:
    """The user's own grant's download in an access record (see `access_record`), None without one."""
    if DIRECT not in record["via"]:
        return None
    return bool(record.get("direct_download", record["download"]))
