"""One user, whole (`users show`), for a terminal and as JSON: reads a UserOverview, nothing else.

The text reads top down: who they are, what they may administer, what they
have and why, then what changed about them:

    User carol@acme.example (Carol Smith)
      Status: active, added 2025-05-01T09:00:00+00:00
      Teams:  Design Studio (Architects in Oslo)
      Store:  5b0c… at revision 2

    Roles: none (an end user, who administers nothing)

    Access to 1 serial:
      399-12345678 AutoCAD, contract 110001234567, group Design Studio
        via:         direct, team Design Studio
        download:    yes (team Design Studio)
        coordinator: bob@acme.example (Bob Okafor)

    Last changes, newest first:
      Revision 2, applied by orders@cadpartners.example at 2025-05-02T10:00:00+00:00
        from commit 1a2b3c4d5e6f, pull request https://github.com/acme/licences/pull/7
        ~ access.update carol@acme.example on 399-12345678: direct_download (none) → no, via …

A serial that names no Software Coordinator shows the Contract Manager as its
coordinator, and says so (R4). A chore (`users activate`, `resellers add`)
is listed as done outside a plan.

Each change is worded as `history` words it (reconciler/core/wording.py).
Every line is scrubbed (reconciler/core/characters.py): a name written past
validation cannot move the cursor or reorder a line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.model import TEAM_SOURCE
from reconciler.core.planfile import store_to_json
from reconciler.core.records import (
    Chore,
    Coordinating,
    HeldGrant,
    Named,
    ServedSerial,
    UserOverview,
)
from reconciler.report.history import change_line
from reconciler.report.json import FORMAT_VERSION, applied_to_json, dumps
from reconciler.report.text import Paint, no_paint


def render_user(overview: UserOverview, paint: Paint = no_paint) -> Iterator[str]:
    """The user's overview, line by line."""
    yield from (scrub(line) for line in _who(overview))
    yield ""
    yield from (scrub(line) for line in _roles(overview))
    yield ""
    yield from (scrub(line) for line in _access(overview))
    yield ""
    yield from _changes(overview, paint)


def _who(overview: UserOverview) -> Iterator[str]:
    yield f"User {overview.email}" + (f" ({overview.name})" if overview.name else "")
    rows = [("Status", overview.status + (f", added {overview.added_at}" if overview.added_at else ""))]
    if overview.directory_id:
        rows.append(("Directory id", overview.directory_id))
    if overview.protected:
        rows.append(("Protected", "yes: no plan removes them while the store says so"))
    if overview.teams:
        teams = (t.team + (f" ({t.description})" if t.description else "") for t in overview.teams)
        rows.append(("Teams", ", ".join(teams)))
    rows.append(("Store", f"{overview.lineage} at revision {overview.revision}"))
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        yield f"  {label + ':':{width}} {value}"


def _roles(overview: UserOverview) -> Iterator[str]:
    if not (overview.reseller or overview.manages or overview.coordinates):
        yield "Roles: none (an end user, who administers nothing)"
        return
    yield "Roles:"
    if overview.reseller:
        yield "  reseller: may do everything in this store"
    for contract in overview.manages:
        yield (
            f"  Contract Manager of contract {contract}, and so coordinator of its serials that name no "
            "Software Coordinator"
        )
    for role in overview.coordinates:
        yield from _coordinating(role)


def _coordinating(role: Coordinating) -> Iterator[str]:
    may = "may manage users" if role.manage_users else "may not manage users"
    yield f"  Software Coordinator on contract {role.contract}, {may}"
    rows = [("Contract Manager", _person(role.manager))]
    if role.shipping:
        rows.append(("ships to", ", ".join(role.shipping[key] for key in ("name", "address", "country"))))
    rows.append(("coordinates", ", ".join(_serial(s) for s in role.serials[:1]) or "no serial of it"))
    rows.extend(("", _serial(serial)) for serial in role.serials[1:])
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        yield f"    {label + ':' if label else '':{width}} {value}"


def _access(overview: UserOverview) -> Iterator[str]:
    count = len(overview.grants)
    if not count:
        yield "Access: none"
        return
    yield f"Access to {count} {plural(count, 'serial')}:"
    for grant in overview.grants:
        yield from _grant(grant)


def _grant(grant: HeldGrant) -> Iterator[str]:
    serial = grant.serial
    group = f", group {serial.group}" if serial.group else ""
    yield f"  {serial.number} {serial.product}, contract {serial.contract}{group}"
    yield f"    via:         {', '.join(source_words(source) for source in grant.via)}"
    download = f"yes ({', '.join(source_words(s) for s in grant.download_via)})" if grant.download else "no"
    yield f"    download:    {download}"
    coordinator = _person(serial.coordinator)
    if serial.by_manager:
        coordinator += ", the Contract Manager (the serial names no Software Coordinator)"
    yield f"    coordinator: {coordinator}"


def _changes(overview: UserOverview, paint: Paint) -> Iterator[str]:
    if not overview.history:
        yield "Last changes: none recorded"
        return
    yield "Last changes, newest first:"
    for applied in overview.history:
        if all(isinstance(change.kind, Chore) for change in applied.changes):
            how = "outside a plan, by"  # `users activate`, `resellers add`: the revision did not move
        else:
            how = "adopted by" if applied.adopted else "applied by"
        yield scrub(f"  Revision {applied.revision}, {how} {applied.actor} at {applied.at}")
        if applied.source is not None and applied.source.known:
            yield scrub(f"    from {applied.source.describe()}")
        for change in applied.changes:
            yield "  " + change_line(change, paint)


def source_words(source: str) -> str:
    """A grant's source as a person reads it: `direct`, or `team Design Studio`."""
    return f"team {source.removeprefix(TEAM_SOURCE)}" if source.startswith(TEAM_SOURCE) else source


def _person(person: Named) -> str:
    return person.email + (f" ({person.name})" if person.name else "")


def _serial(serial: ServedSerial) -> str:
    return f"{serial.number} {serial.product}" + (f", group {serial.group}" if serial.group else "")


def user_json(overview: UserOverview) -> str:
    """The overview: `format_version`, `store`, `user` (`email`, `first_name`, `last_name`, `status`,
    `added_at`, `directory_id`, `protected`), `roles` (`reseller`; `contract_manager`, the contracts
    they manage; `software_coordinator`, each with `contract`, `manager`, `manage_users`, `shipping`
    and `serials`), `teams` (`name`, `description`), `access` (each serial with `product`,
    `contract`, `group`, `coordinator` (`email`, `name`, `by_manager`), `via`, `download`,
    `download_via` and `direct_download`) and `history`, the applies that concerned them, newest
    first, each with `revision`, `actor`, `at`, `adopted`, `source` and its `actions` about them."""
    return dumps(user_to_json(overview))


def user_to_json(overview: UserOverview) -> dict[str, Any]:
    """What `user_json` writes, as one dict."""
    return {
        "format_version": FORMAT_VERSION,
        "store": store_to_json(overview.lineage, overview.revision),
        "user": {
            "email": overview.email,
            "first_name": overview.first_name,
            "last_name": overview.last_name,
            "status": overview.status,
            "added_at": overview.added_at,
            "directory_id": overview.directory_id,
            "protected": overview.protected,
        },
        "roles": {
            "reseller": overview.reseller,
            "contract_manager": list(overview.manages),
            "software_coordinator": [_coordinating_json(role) for role in overview.coordinates],
        },
        "teams": [{"name": t.team, "description": t.description} for t in overview.teams],
        "access": [_grant_json(grant) for grant in overview.grants],
        "history": [applied_to_json(applied) for applied in overview.history],
    }


def _person_json(person: Named) -> dict[str, Any]:
    return {"email": person.email, "name": person.name}


def _serial_json(serial: ServedSerial) -> dict[str, Any]:
    return {
        "serial": serial.number,
        "product": serial.product,
        "contract": serial.contract,
        "group": serial.group,
        "coordinator": {**_person_json(serial.coordinator), "by_manager": serial.by_manager},
    }


def _coordinating_json(role: Coordinating) -> dict[str, Any]:
    return {
        "contract": role.contract,
        "manager": _person_json(role.manager),
        "manage_users": role.manage_users,
        "shipping": None if role.shipping is None else dict(role.shipping),
        "serials": [_serial_json(serial) for serial in role.serials],
    }


def _grant_json(grant: HeldGrant) -> dict[str, Any]:
    return {
        **_serial_json(grant.serial),
        "via": list(grant.via),
        "download": grant.download,
        "download_via": list(grant.download_via),
        "direct_download": grant.direct_download,
    }
