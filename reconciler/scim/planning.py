"""What a SCIM 2.0 directory should hold for a store, and the requests that take it there: pure.

The mapping (docs/scim.md, "Push to a directory over SCIM"): a user
is a SCIM User whose `userName` and primary work e-mail are the e-mail,
`externalId` the lower-cased e-mail, with `name.givenName`/`familyName`,
`displayName` and `active`; a serial anyone has access to is a SCIM Group
`"PRODUCT SERIAL"`, `externalId` `"serial:SERIAL"`, whose members are the
users with effective access.

Only what is ours is touched: groups whose externalId starts `serial:`, and
users whose userName is a store user (adopted when they are not marked ours
yet) or who carry our mark (externalId = their lower-cased userName). Other
users and groups are counted, never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from reconciler.core.errors import DirectoryError, InputError
from reconciler.core.records import Snapshot
from reconciler.engine.guards import DEFAULT_MAX_REMOVAL_RATIO, removal_tripped
from reconciler.scim.profiles import DeleteMeans
from reconciler.scim.records import (
    DEFAULT_CHUNK,
    GROUP_PREFIX,
    USER_REMOVALS,
    DirectoryAction,
    DirectoryGroup,
    DirectoryPlan,
    DirectoryRead,
    DirectoryUser,
    Request,
)


@dataclass(frozen=True)
class PushOptions:
    """How a push treats users gone from the store, how many members one request carries, and what the
    provider's DELETE of a user does."""

    delete_removed: bool = False
    chunk: int = DEFAULT_CHUNK
    max_removal_ratio: float = DEFAULT_MAX_REMOVAL_RATIO
    delete_means: DeleteMeans = DeleteMeans.DELETE

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise InputError(f"--chunk must be at least 1, not {self.chunk}")


DEFAULT_PUSH = PushOptions()


def desired_users(snapshot: Snapshot) -> tuple[DirectoryUser, ...]:
    """Every store user as a SCIM User, by e-mail."""
    return tuple(
        DirectoryUser(
            user_name=user.email,
            given_name=user.first_name,
            family_name=user.last_name,
            display_name=f"{user.first_name} {user.last_name}",
            email=user.email,
            active=True,
            external_id=user.email.lower(),
        )
        for user in sorted(snapshot.state.users, key=lambda u: u.email.lower())
    )


def desired_groups(snapshot: Snapshot) -> tuple[DirectoryGroup, ...]:
    """Every serial with access as a SCIM Group, members the user names with effective access."""
    members: dict[str, set[str]] = {}
    for user, serial in snapshot.grants:
        members.setdefault(serial, set()).add(user.lower())
    products = {s.number: s.product for c in snapshot.state.contracts for s in c.serials}
    return tuple(
        DirectoryGroup(
            external_id=GROUP_PREFIX + serial,
            display_name=f"{products.get(serial, '')} {serial}".strip(),
            members=tuple(sorted(members[serial])),
        )
        for serial in sorted(members)
    )


def is_marked(user: DirectoryUser) -> bool:
    """Whether a remote user carries our mark: externalId is its lower-cased userName."""
    return user.external_id is not None and user.external_id == user.user_name.lower()


def plan_push(
    snapshot: Snapshot, remote: DirectoryRead, url: str, options: PushOptions | None = None
) -> DirectoryPlan:
    """The ordered requests that make the directory `remote` hold what `snapshot` wants."""
    options = options or DEFAULT_PUSH
    wanted_users = desired_users(snapshot)
    wanted = {user.user_name.lower() for user in wanted_users}
    remote_by_name = by_user_name(remote.users)
    managed = {name: user for name, user in remote_by_name.items() if name in wanted or is_marked(user)}
    actions: list[DirectoryAction] = []
    actions.extend(_user_actions(wanted_users, managed, options))
    name_of = {user.id: name for name, user in managed.items()}
    remote_groups = _our_groups(remote.groups)
    wanted_groups = desired_groups(snapshot)
    for group in wanted_groups:
        actions.extend(_group_actions(group, remote_groups.get(group.external_id), name_of, options.chunk))
    wanted_ids = {group.external_id for group in wanted_groups}
    for external_id, group in sorted(remote_groups.items(), key=lambda item: str(item[0])):
        if external_id not in wanted_ids:
            actions.append(
                DirectoryAction(
                    Request.GROUP_DELETE, {"group": str(external_id)}, group.attributes(), None, group.id
                )
            )
    ordered = tuple(sorted(actions, key=DirectoryAction.sort_key))
    removed = sum(1 for a in ordered if a.kind in USER_REMOVALS)
    guard = removal_tripped("users", removed, len(managed), options.max_removal_ratio)
    return DirectoryPlan(
        url=url,
        lineage=snapshot.lineage,
        revision=snapshot.revision,
        actions=ordered,
        managed_users=len(managed),
        managed_groups=len(remote_groups),
        pages_read=remote.pages,
        guards=() if guard is None else (guard,),
        max_removal_ratio=options.max_removal_ratio,
        delete_removed=options.delete_removed,
        chunk=options.chunk,
        unmanaged={
            "users": len(remote.users) - sum(1 for u in remote.users if u.user_name.lower() in managed),
            "groups": len(remote.groups) - len(remote_groups),
        },
    )


def by_user_name(users: Iterable[DirectoryUser]) -> dict[str, DirectoryUser]:
    """The directory's users by lower-cased `userName`; of two with one name, the first by id (the one
    a push manages, and the one its requests name)."""
    found: dict[str, DirectoryUser] = {}
    for user in sorted(users, key=lambda u: (u.user_name.lower(), u.id)):
        found.setdefault(user.user_name.lower(), user)
    return found


def _our_groups(groups: Iterable[DirectoryGroup]) -> dict[str | None, DirectoryGroup]:
    """Our groups by externalId; a DirectoryError when two claim one serial, since which of them to
    keep would depend on the order the directory lists them in."""
    ours: dict[str | None, DirectoryGroup] = {}
    for group in groups:
        if not is_ours(group):
            continue
        other = ours.setdefault(group.external_id, group)
        if other is not group:
            first, second = sorted((other.id, group.id))
            raise DirectoryError(
                f"two directory groups, {first} and {second}, both have externalId {group.external_id}; "
                "remove or rename one of them and run again. Nothing was changed"
            )
    return ours


def is_ours(group: DirectoryGroup) -> bool:
    """Whether a remote group is one of ours: its externalId is \"serial:\" and a serial's number."""
    return group.external_id is not None and group.external_id.startswith(GROUP_PREFIX)


def _user_actions(
    wanted: Sequence[DirectoryUser], managed: dict[str, DirectoryUser], options: PushOptions
) -> Iterator[DirectoryAction]:
    for user in wanted:
        name = user.user_name.lower()
        found = managed.get(name)
        target = {"user": name}
        if found is None:
            yield DirectoryAction(Request.USER_CREATE, target, None, user.attributes())
            continue
        before, after = _differing(found, user)
        if before:
            kind = Request.USER_CHANGE if is_marked(found) else Request.USER_ADOPT
            yield DirectoryAction(kind, target, before, after, found.id)
    names = {user.user_name.lower() for user in wanted}
    for name, found in sorted(managed.items()):
        if name in names:
            continue
        # where DELETE only deactivates, a user it deactivated is as gone as the provider lets it be
        deleted_already = options.delete_means == DeleteMeans.DEACTIVATE and not found.active
        if options.delete_removed and not deleted_already:
            yield DirectoryAction(Request.USER_DELETE, {"user": name}, found.attributes(), None, found.id)
        elif found.active:
            yield DirectoryAction(
                Request.USER_DEACTIVATE, {"user": name}, {"active": True}, {"active": False}, found.id
            )


def _differing(found: DirectoryUser, user: DirectoryUser) -> tuple[dict[str, object], dict[str, object]]:
    """The attributes in which the remote user differs from the wanted one: before, after. A userName
    or e-mail that differs only in case is the same (directories keep the case they were given)."""
    have, want = found.attributes(), user.attributes()
    before, after = {}, {}
    for key, value in want.items():
        old = have[key]
        same = (
            str(old).lower() == str(value).lower() if key in ("userName", "email") and old else old == value
        )
        if not same:
            before[key], after[key] = old, value
    return before, after


def _group_actions(
    group: DirectoryGroup, found: DirectoryGroup | None, name_of: dict[str, str], chunk: int
) -> Iterator[DirectoryAction]:
    assert group.external_id is not None
    target = {"group": group.external_id}
    if found is None:
        first, rest = group.members[:chunk], group.members[chunk:]
        yield DirectoryAction(
            Request.GROUP_CREATE, target, None, {**group.attributes(), "members": list(first)}
        )
        yield from _chunks(Request.GROUP_MEMBER_ADD, target, rest, chunk, "")
        return
    if found.display_name != group.display_name:
        yield DirectoryAction(
            Request.GROUP_RENAME,
            target,
            {"displayName": found.display_name},
            {"displayName": group.display_name},
            found.id,
        )
    have = {name_of.get(member, member) for member in found.members}
    want = set(group.members)
    yield from _chunks(Request.GROUP_MEMBER_REMOVE, target, sorted(have - want), chunk, found.id)
    yield from _chunks(Request.GROUP_MEMBER_ADD, target, sorted(want - have), chunk, found.id)


def _chunks(
    kind: Request, target: dict[str, str], members: Sequence[str], chunk: int, resource_id: str
) -> Iterable[DirectoryAction]:
    for start in range(0, len(members), chunk):
        part = list(members[start : start + chunk])
        yield DirectoryAction(kind, target, None, {"members": part}, resource_id)
