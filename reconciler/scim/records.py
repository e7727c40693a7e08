"""Plain records of a push to a SCIM 2.0 directory: what the store wants there, what was read there,
and the ordered actions between the two.

Nothing here does I/O or decides anything; planning.py makes a
DirectoryPlan from a snapshot and a DirectoryRead, rendering.py shows it (its
JSON too), and push.py runs it over HTTP through client.py. A user's and a
group's attributes, as a plan shows and compares them, are written here once
(`attributes`); client.py turns them into SCIM resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.kinds import Effect
from reconciler.core.plan import Tripped
from reconciler.scim.profiles import Settings

#: The externalId prefix that marks a group as ours: "serial:" and the serial's number.
GROUP_PREFIX = "serial:"

#: Member changes per PATCH, and members sent with a new group, unless told otherwise.
DEFAULT_CHUNK = 100

#: The attributes of a user that are the parts of its SCIM `name`, one complex attribute.
NAME_PARTS = ("givenName", "familyName")


@dataclass(frozen=True)
class DirectoryUser:
    """A SCIM User as the store wants it, or as it was read (then with `id` and `version`).

    `user_name` is the e-mail; `external_id` the lower-cased e-mail when ours.
    """

    user_name: str
    given_name: str | None
    family_name: str | None
    display_name: str | None
    email: str | None
    active: bool
    external_id: str | None = None
    id: str = ""
    version: str | None = None

    def attributes(self) -> dict[str, Any]:
        """What a plan shows and compares of the user."""
        return {
            "userName": self.user_name,
            "externalId": self.external_id,
            "givenName": self.given_name,
            "familyName": self.family_name,
            "displayName": self.display_name,
            "email": self.email,
            "active": self.active,
        }


@dataclass(frozen=True)
class DirectoryGroup:
    """A SCIM Group: as the store wants it (`members` are user names) or as read (member ids)."""

    external_id: str | None
    display_name: str
    members: tuple[str, ...] = ()
    id: str = ""
    version: str | None = None

    def attributes(self) -> dict[str, Any]:
        """What a plan shows and compares of the group, its members aside."""
        return {"displayName": self.display_name, "externalId": self.external_id}


@dataclass(frozen=True)
class ProviderConfig:
    """What a directory's /ServiceProviderConfig says (RFC 7643 §5, and RFC 9865 §4 for `pagination`).
    None where it does not say, or says it in a shape those RFCs do not give; `offered` is False for a
    directory without the endpoint."""

    offered: bool = False
    patch: bool | None = None
    bulk: bool | None = None
    bulk_max_operations: int | None = None
    bulk_max_payload: int | None = None
    filter: bool | None = None
    max_results: int | None = None
    etag: bool | None = None
    sort: bool | None = None
    change_password: bool | None = None
    cursor: bool | None = None
    index: bool | None = None
    default_paging: str | None = None
    default_page_size: int | None = None
    max_page_size: int | None = None
    cursor_timeout: int | None = None
    authentication: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectoryRead:
    """Everything read from the directory, whole: its pages agreed on the total and held each resource
    once, until the resources received reached the total."""

    users: tuple[DirectoryUser, ...] = ()
    groups: tuple[DirectoryGroup, ...] = ()
    pages: int = 0


class Request(StrEnum):
    """The kinds of request a push makes, in apply order: users exist before groups name them,
    members leave before their group is deleted or their user deactivated. Their own vocabulary,
    not the store's kinds.Kind: a SCIM User is created, adopted, changed; a store user is added."""

    USER_CREATE = "user.create"
    USER_ADOPT = "user.adopt"  # a remote user of the same userName, marked ours and brought in line
    USER_CHANGE = "user.change"
    GROUP_CREATE = "group.create"
    GROUP_RENAME = "group.rename"
    GROUP_MEMBER_REMOVE = "group.member_remove"
    GROUP_MEMBER_ADD = "group.member_add"
    GROUP_DELETE = "group.delete"
    USER_DEACTIVATE = "user.deactivate"
    USER_DELETE = "user.delete"


EFFECT: dict[Request, Effect] = {
    Request.USER_CREATE: Effect.ADD,
    Request.GROUP_CREATE: Effect.ADD,
    Request.GROUP_MEMBER_ADD: Effect.ADD,
    Request.USER_ADOPT: Effect.CHANGE,
    Request.USER_CHANGE: Effect.CHANGE,
    Request.GROUP_RENAME: Effect.CHANGE,
    Request.GROUP_MEMBER_REMOVE: Effect.REMOVE,
    Request.GROUP_DELETE: Effect.REMOVE,
    Request.USER_DEACTIVATE: Effect.REMOVE,
    Request.USER_DELETE: Effect.REMOVE,
}
RANK = {kind: rank for rank, kind in enumerate(Request)}
#: What the removal guard counts as removing a user.
USER_REMOVALS = frozenset({Request.USER_DEACTIVATE, Request.USER_DELETE})
#: The requests that change a group's members, one chunk each.
MEMBER_CHANGES = frozenset({Request.GROUP_MEMBER_ADD, Request.GROUP_MEMBER_REMOVE})


@dataclass(frozen=True)
class DirectoryAction:
    """One request to the directory.

    `target` names what it changes: `{"user": EMAIL}` or `{"group": EXTERNAL_ID}`.
    `before` is the resource as read (None for a create), `after` as it will
    be (None for a delete); a member change's `after` holds `members`, the
    user names added or removed by this one request. `resource_id` is the
    directory's id of what exists already ("" for a create).
    """

    kind: Request
    target: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    resource_id: str = ""

    @property
    def effect(self) -> Effect:
        return EFFECT[self.kind]

    def sort_key(self) -> tuple[int, str, str]:
        members = (self.after or self.before or {}).get("members") or [""]
        return RANK[self.kind], next(iter(self.target.values())), str(members[0])


@dataclass(frozen=True)
class DirectoryPlan:
    """The ordered requests that take the directory to what the store at `revision` wants.

    `managed_users` is how many remote users are ours (the base of the removal
    guard); `guards` the removal guard tripped at `max_removal_ratio`;
    `settings` the provider's settings it was made and is run with.
    """

    url: str
    lineage: str
    revision: int
    actions: tuple[DirectoryAction, ...] = ()
    managed_users: int = 0
    managed_groups: int = 0
    pages_read: int = 0
    guards: tuple[Tripped, ...] = ()
    max_removal_ratio: float = 0.25
    delete_removed: bool = False
    chunk: int = DEFAULT_CHUNK
    unmanaged: Mapping[str, int] = field(default_factory=dict)
    settings: Settings | None = None

    def summary(self) -> dict[str, int]:
        counts = {"add": 0, "change": 0, "remove": 0}
        for action in self.actions:
            counts[action.effect] += 1
        return counts
