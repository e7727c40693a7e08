"""`scim plan` and `scim apply`, each as one call: read the store and the directory, plan, and run it.

The directory is read whole before anything is planned, and a read that comes
back partial raises PartialRead there: no plan is made from half a list, so
no removal can follow from one. An apply re-reads and re-plans; a run that
stops midway raises a DirectoryError that says what was done and what was
not, and the next run, reading again, does what is left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.core.errors import DirectoryError, MassRemoval, plural
from reconciler.core.records import Snapshot
from reconciler.scim.client import DirectoryClient
from reconciler.scim.planning import (
    DEFAULT_PUSH,
    PushOptions,
    by_user_name,
    desired_groups,
    desired_users,
    plan_push,
)
from reconciler.scim.records import (
    MEMBER_CHANGES,
    NAME_PARTS,
    DirectoryAction,
    DirectoryGroup,
    DirectoryPlan,
    DirectoryRead,
    DirectoryUser,
    Request,
)
from reconciler.scim.rendering import WHERE
from reconciler.store.protocol import Store


def read_directory(client: DirectoryClient) -> DirectoryRead:
    """Every user and group of the directory, or PartialRead."""
    users = client.users()
    groups = client.groups()
    return DirectoryRead(users=users, groups=groups, pages=client.counter.pages)


def plan_directory(
    store: Store, client: DirectoryClient, options: PushOptions = DEFAULT_PUSH
) -> DirectoryPlan:
    """The requests that make the directory hold what the store wants."""
    return _read_and_plan(store, client, options)[2]


def _read_and_plan(
    store: Store, client: DirectoryClient, options: PushOptions
) -> tuple[Snapshot, DirectoryRead, DirectoryPlan]:
    """The store's snapshot, the directory as read whole, and the plan between them."""
    snapshot = store.snapshot()
    remote = read_directory(client)
    return snapshot, remote, plan_push(snapshot, remote, client.url, options)


@dataclass(frozen=True)
class PushResult:
    """What `scim apply` did: the plan it ran, and the requests and reads it took."""

    plan: DirectoryPlan
    requests: int
    pages: int
    waited: float


def apply_directory(
    store: Store,
    client: DirectoryClient,
    options: PushOptions = DEFAULT_PUSH,
    *,
    allow_mass_removal: bool = False,
    show: Callable[[DirectoryPlan], None] = lambda plan: None,
    approve: Callable[[DirectoryPlan], None] = lambda plan: None,
) -> PushResult:
    """Read, plan, check the removal guard, show, ask `approve` (which raises to stop), then run the
    plan's requests in order. Raises MassRemoval before any request that writes."""
    snapshot, remote, plan = _read_and_plan(store, client, options)
    if plan.guards and not allow_mass_removal:
        raise MassRemoval(
            "; ".join(guard.message(WHERE) for guard in plan.guards)
            + ". Nothing was sent to the directory: check the store, and if this is meant, run "
            "`reconciler scim apply` with --allow-mass-removal"
        )
    show(plan)
    if plan.actions:
        approve(plan)
        _Run(
            client,
            remote,
            {u.user_name.lower(): u for u in desired_users(snapshot)},
            desired_groups(snapshot),
        ).run(plan)
    return PushResult(plan, client.counter.requests, client.counter.pages, client.counter.waited)


class _Run:
    """Runs a plan's requests, keeping the ids and versions they give back for the ones after."""

    def __init__(
        self,
        client: DirectoryClient,
        remote: DirectoryRead,
        wanted: dict[str, DirectoryUser],
        groups: tuple[DirectoryGroup, ...],
    ) -> None:
        self.client = client
        self.ids = {name: user.id for name, user in by_user_name(remote.users).items()}  # as the planner
        self.versions = {u.id: u.version for u in remote.users} | {g.id: g.version for g in remote.groups}
        self.group_ids = {g.external_id: g.id for g in remote.groups if g.external_id}
        self.wanted = wanted
        self.groups = {g.external_id: g for g in groups}
        self.done: Counter[str] = Counter()

    def run(self, plan: DirectoryPlan) -> None:
        for index, action in enumerate(plan.actions):
            try:
                self._one(action)
            except DirectoryError as error:
                raise DirectoryError(self._stopped(plan, index, error)) from None
            self.done[action.kind] += 1

    def _stopped(self, plan: DirectoryPlan, index: int, error: DirectoryError) -> str:
        action = plan.actions[index]
        label = next(iter(action.target.values()))
        done = ", ".join(f"{n} {kind}" for kind, n in sorted(self.done.items())) or "nothing"
        left = len(plan.actions) - index
        return (
            f"{error}. The push stopped at request {index + 1} of {len(plan.actions)} ({action.kind} "
            f"{label}). Done: {done}. Not done: {left} {plural(left, 'request')}, this one included. "
            "Run `reconciler scim apply` again: it reads the directory afresh and does what is left"
        )

    def _member_ids(self, names: list[str]) -> list[str]:
        # a name the directory has no user for is a member id read from the group (someone else's member)
        return [self.ids.get(name, name) for name in names]

    def _one(self, action: DirectoryAction) -> None:
        client, kind = self.client, action.kind
        key = next(iter(action.target.values()))
        if kind == Request.USER_CREATE:
            ident, version = client.create_user(self.wanted[key])
            self.ids[key], self.versions[ident] = ident, version
        elif kind in (Request.USER_ADOPT, Request.USER_CHANGE, Request.USER_DEACTIVATE):
            changed = dict(action.after or {})
            if changed.keys() & NAME_PARTS:  # name is one complex attribute: send both parts
                wanted = self.wanted[key].attributes()
                changed |= {part: wanted[part] for part in NAME_PARTS}
            ident = action.resource_id
            self.versions[ident] = client.patch_user(ident, self.versions.get(ident), changed)
        elif kind == Request.USER_DELETE:
            client.delete("Users", action.resource_id, self.versions.get(action.resource_id))
        elif kind == Request.GROUP_CREATE:
            after = action.after or {}
            ident, version = client.create_group(self.groups[key], self._member_ids(list(after["members"])))
            self.group_ids[key], self.versions[ident] = ident, version
        elif kind == Request.GROUP_RENAME:
            ident = action.resource_id
            name = str((action.after or {})["displayName"])
            self.versions[ident] = client.rename_group(ident, self.versions.get(ident), name)
        elif kind in MEMBER_CHANGES:
            ident = action.resource_id or self.group_ids[key]
            members = self._member_ids(list((action.after or {})["members"]))
            add, remove = (members, []) if kind == Request.GROUP_MEMBER_ADD else ([], members)
            self.versions[ident] = client.change_members(ident, self.versions.get(ident), add, remove)
        elif kind == Request.GROUP_DELETE:
            client.delete("Groups", action.resource_id, self.versions.get(action.resource_id))
        else:  # pragma: no cover - every kind of directory.KINDS is handled above
            raise AssertionError(kind)
