"""`scim plan` and `scim apply`, each as one call: read the store and the directory, plan, and run it.

The directory is read whole before anything is planned, and a read that comes
back partial raises PartialRead there: no plan is made from half a list, so
no removal can follow from one. An apply re-reads and re-plans; a run that
stops midway raises a DirectoryError that says what was done and what was
not, and the next run, reading again, does what is left.

A plan runs in four phases, each after the one before has ended: users
(created, adopted, changed), groups (each group's requests one after the
other: created, renamed, members removed, members added), groups deleted,
users deactivated or deleted. So a user exists before a PATCH names it, and
leaves its groups before it is deactivated. Within a phase, the requests of
different resources go `--concurrency` at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from reconciler.core.errors import BudgetReached, DirectoryError, MassRemoval, plural
from reconciler.core.records import Snapshot
from reconciler.scim.budget import Halted
from reconciler.scim.client import DirectoryClient
from reconciler.scim.planning import (
    DEFAULT_PUSH,
    PushOptions,
    by_user_name,
    desired_groups,
    desired_users,
    is_marked,
    is_ours,
    plan_push,
)
from reconciler.scim.profiles import Members
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

#: The phases of a run, in order; see the module's docstring.
PHASES: tuple[frozenset[Request], ...] = (
    frozenset({Request.USER_CREATE, Request.USER_ADOPT, Request.USER_CHANGE}),
    frozenset({Request.GROUP_CREATE, Request.GROUP_RENAME, *MEMBER_CHANGES}),
    frozenset({Request.GROUP_DELETE}),
    frozenset({Request.USER_DEACTIVATE, Request.USER_DELETE}),
)


def read_directory(
    client: DirectoryClient, managed: Callable[[DirectoryUser], bool] = lambda user: True
) -> DirectoryRead:
    """Every user and group of the directory, or PartialRead. Where the settings read members by filter,
    the members of our groups are the `managed` users that a filter finds in them."""
    users = client.users()
    groups = client.groups()
    if client.settings.members == Members.FILTER and any(is_ours(group) for group in groups):
        groups = _members_by_filter(client, [user for user in users if managed(user)], groups)
    return DirectoryRead(users=users, groups=groups, pages=client.counter.pages)


def _members_by_filter(
    client: DirectoryClient, users: list[DirectoryUser], groups: Iterable[DirectoryGroup]
) -> tuple[DirectoryGroup, ...]:
    """`groups` with our groups' members as one `members[value eq …]` query per user finds them."""
    with ThreadPoolExecutor(max_workers=client.concurrency) as pool:
        found = list(pool.map(lambda user: (user.id, client.groups_of(user.id)), users))
    members: dict[str, set[str]] = {}
    for user_id, group_ids in found:
        for group_id in group_ids:
            members.setdefault(group_id, set()).add(user_id)
    return tuple(
        replace(group, members=tuple(sorted(members.get(group.id, ())))) if is_ours(group) else group
        for group in groups
    )


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
    wanted = {user.email.lower() for user in snapshot.state.users}
    remote = read_directory(client, lambda user: user.user_name.lower() in wanted or is_marked(user))
    plan = plan_push(snapshot, remote, client.url, options)
    return snapshot, remote, replace(plan, settings=client.settings)


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
    return PushResult(plan, client.counter.requests, client.counter.pages, client.budget.paused)


class _Run:
    """Runs a plan's requests phase by phase, keeping the ids and versions they give back for the ones
    after; the first that fails or meets the hourly budget stops the run once the requests in flight end."""

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
        self._lock = threading.Lock()
        self._stopped: tuple[int, DirectoryError] | None = None
        self._aborted = False

    def run(self, plan: DirectoryPlan) -> None:
        pool = ThreadPoolExecutor(max_workers=self.client.concurrency)
        try:
            for phase in PHASES:
                chains: dict[str, list[int]] = {}
                for index, action in enumerate(plan.actions):
                    if action.kind in phase:
                        chains.setdefault(next(iter(action.target.values())), []).append(index)
                for future in [pool.submit(self._chain, plan, chain) for chain in chains.values()]:
                    future.result()
                self._raise_if_stopped(plan)
        except BaseException:
            # Ctrl-C, or a bug in a worker: no worker starts another request; those in flight end.
            self._aborted = True
            self.client.budget.halt()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _raise_if_stopped(self, plan: DirectoryPlan) -> None:
        if self._stopped is not None:
            index, error = self._stopped
            message = self._message(plan, index, error)
            raise (BudgetReached(message) if isinstance(error, BudgetReached) else DirectoryError(message))

    def _chain(self, plan: DirectoryPlan, indexes: list[int]) -> None:
        """One resource's requests of a phase, in plan order, unless the run is stopping."""
        for index in indexes:
            if self._stopped is not None or self._aborted:
                return
            action = plan.actions[index]
            try:
                self._one(action)
            except Halted:
                return  # another worker stopped the run while this request waited: it was not sent
            except DirectoryError as error:
                with self._lock:
                    # A failure outweighs the budget: the run must say what needs mending, not "later".
                    budget_only = self._stopped is not None and isinstance(self._stopped[1], BudgetReached)
                    if self._stopped is None or (budget_only and not isinstance(error, BudgetReached)):
                        self._stopped = index, error
                self.client.budget.halt()
                return
            except BaseException:
                self._aborted = True
                self.client.budget.halt()
                raise
            with self._lock:
                self.done[action.kind] += 1

    def _message(self, plan: DirectoryPlan, index: int, error: DirectoryError) -> str:
        action = plan.actions[index]
        label = next(iter(action.target.values()))
        done = ", ".join(f"{n} {kind}" for kind, n in sorted(self.done.items())) or "nothing"
        left = len(plan.actions) - sum(self.done.values())
        if isinstance(error, BudgetReached):
            return (
                f"{error}. The push stopped before request {index + 1} of {len(plan.actions)} "
                f"({action.kind} {label}). Done: {done}. Not done: {left} {plural(left, 'request')}. Run "
                "`reconciler scim apply` again from then: it reads the directory afresh and goes on, making "
                "nothing twice"
            )
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
