"""Who may do what: the role matrix (the permission table of docs/plan-and-apply.md), judged against
the store before the plan (R10).

Each kind's scope (in `kinds.TABLE`) says whose it is to take:

| scope    | kinds                                          | reseller | CM            | SC managing users |
|----------|------------------------------------------------|----------|---------------|-------------------|
| PURCHASE | contract.*, serial.create/remove/seats/product | yes      | no (requests) | no                |
| RESELLER | contract.protect/ends_change, serial.protect   | yes      | no            | no                |
| CONTRACT | coordinator.*, serial.(un)assign, rename_group | yes      | own contracts | no                |
| USERS    | user.*                                         | yes      | yes           | yes               |
| TEAMS    | team.create/update/remove, team.member_*       | yes      | yes           | yes               |
| SERIAL   | access.*, team.access_*                        | yes      | own contracts | their serials     |

A team's bookkeeping gives nobody anything: the access it causes is planned
as `access.*` actions of their own and judged as any grant is, so a team
never reaches a serial its author could not grant directly.

An SC never changes or removes a CM, a reseller or another SC; nobody
removes themselves. A user whose e-mail the plan changes (`user.change_email`,
judged as `user.update`) is named by the new address in the rest of the plan
and is who the store knows by the old one: their roles are looked up there.

Everything here is pure: it reads a Snapshot and an Action and returns a
judgement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.core.kinds import TABLE, Effect, Kind, Role, Scope
from reconciler.core.model import Contract
from reconciler.core.plan import Action
from reconciler.core.records import Snapshot
from reconciler.core.wording import ROLE_NAMES, describe


@dataclass(frozen=True)
class Judgement:
    requires: Role
    permitted: bool
    reason: str | None = None


@dataclass(frozen=True)
class Authority:
    """What the store, before the plan, says about the actor and the account's roles."""

    actor: str
    resellers: frozenset[str]
    managers: Mapping[str, str]  # contract -> its CM
    serial_contract: Mapping[str, str]  # serial -> its contract
    serial_coordinator: Mapping[str, str]  # serial -> its SC, where it has one who may manage users
    user_managers: frozenset[str]  # SCs who may manage users, on some contract
    coordinator_contracts: Mapping[str, tuple[str, ...]]  # each SC -> the contracts naming them
    protected: frozenset[tuple[str, str]] = frozenset()  # ("contract" | "serial" | "user", its key)
    #: The users the plan gives a new e-mail: new address to the old one, which the store knows.
    former: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Snapshot, actor: str, moved: Mapping[str, str] | None = None) -> Authority:
        """The authority the store in `snapshot` gives; `moved` are the users the plan gives a new
        e-mail address (old address to new: `plan.renamed_users`)."""
        state = snapshot.state
        may_manage = {(c.number, k.email) for c in state.contracts for k in c.coordinators if k.manage_users}
        return cls(
            actor=actor,
            resellers=snapshot.resellers,
            managers={c.number: c.manager for c in state.contracts},
            serial_contract={s.number: c.number for c in state.contracts for s in c.serials},
            serial_coordinator={
                s.number: s.coordinator
                for c in state.contracts
                for s in c.serials
                if s.coordinator and (c.number, s.coordinator) in may_manage
            },
            user_managers=frozenset(email for _, email in may_manage),
            coordinator_contracts=_contracts_by_coordinator(state.contracts),
            protected=frozenset(
                [("contract", c.number) for c in state.contracts if c.protect]
                + [("serial", s.number) for c in state.contracts for s in c.serials if s.protect]
                + [("user", u.email) for u in state.users if u.protect]
            ),
            former={new: old for old, new in (moved or {}).items()},
        )

    @property
    def is_manager(self) -> bool:
        return self.actor in self.managers.values()

    @property
    def is_reseller(self) -> bool:
        return self.actor in self.resellers

    def manages(self, contract: str) -> bool:
        return self.managers.get(contract) == self.actor

    def known_as(self, user: str) -> str:
        """The address the store knows `user` by: the old one where the plan changes their e-mail."""
        return self.former.get(user, user) if self.former else user


#: The judgement of a permitted action, by the role it requires: most of a plan is permitted.
_PERMITTED = {role: Judgement(role, True) for role in Role}
#: Each kind's scope, looked up once: `Kind.info` is a property, and every action is judged.
_SCOPE = {kind: info.scope for kind, info in TABLE.items()}


def judge(action: Action, authority: Authority) -> Judgement:
    """Who may perform `action`, and whether the actor may."""
    requires = required_role(action, authority)
    kind = action.kind
    if kind is Kind.USER_REMOVE and action.target["user"] == authority.actor:
        return Judgement(
            requires, False, f"{authority.actor} cannot remove themselves; ask another administrator"
        )
    if not _may(action, requires, authority):
        return Judgement(requires, False, _reason(action, requires, authority))
    if kind.effect is Effect.REMOVE and (kind.record, action.target.get(kind.record)) in authority.protected:
        return Judgement(
            requires,
            False,
            f"{kind.record} {action.target[kind.record]} is protected (protect: true); set protect: false "
            "and apply that first, then remove it",
        )
    return _PERMITTED[requires]


def required_role(action: Action, authority: Authority) -> Role:
    """The least role that could perform `action` on its target, given the store."""
    scope, target = _SCOPE[action.kind], action.target
    if scope in (Scope.PURCHASE, Scope.RESELLER):
        return Role.RESELLER
    if scope is Scope.CONTRACT:
        return Role.CONTRACT_MANAGER if target["contract"] in authority.managers else Role.RESELLER
    if scope is Scope.USERS:
        return _role_over_user(action.kind, authority.known_as(target["user"]), authority)
    if scope is Scope.TEAMS:
        return Role.SOFTWARE_COORDINATOR
    # SERIAL: an SC acts on the serials they coordinate, but never on a CM's, a reseller's or
    # another SC's access; the CM of the contract (or the reseller) does that. A team's access
    # names no user.
    user = target.get("user")
    if target["serial"] in authority.serial_coordinator and (
        user is None or not _beyond_an_sc(authority.known_as(user), authority)
    ):
        return Role.SOFTWARE_COORDINATOR
    return Role.CONTRACT_MANAGER if target["contract"] in authority.managers else Role.RESELLER


def _beyond_an_sc(user: str, authority: Authority) -> bool:
    """Whether `user` is someone an SC may not act on: a reseller, a CM, or another SC."""
    return (
        user in authority.resellers
        or user in authority.managers.values()
        or (user in authority.coordinator_contracts and user != authority.actor)
    )


#: What an SC may do to their own user record: correct it.
_OWN_RECORD = frozenset({Kind.USER_UPDATE, Kind.USER_CHANGE_EMAIL})


def _role_over_user(kind: Kind, user: str, authority: Authority) -> Role:
    # An SC never changes a CM, a reseller or another SC, but may correct their own record.
    if user in authority.resellers:
        return Role.RESELLER
    if user in authority.managers.values():
        return Role.CONTRACT_MANAGER
    if user in authority.coordinator_contracts:
        own_record = kind in _OWN_RECORD and user == authority.actor
        return Role.SOFTWARE_COORDINATOR if own_record else Role.CONTRACT_MANAGER
    return Role.SOFTWARE_COORDINATOR


def _contracts_by_coordinator(contracts: Iterable[Contract]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for contract in contracts:
        for coordinator in contract.coordinators:
            found.setdefault(coordinator.email, []).append(contract.number)
    return {email: tuple(numbers) for email, numbers in found.items()}


#: The scopes of whoever may manage users: the CM of any contract, or an SC who may.
_MANAGING_USERS = (Scope.USERS, Scope.TEAMS)


def _may(action: Action, requires: Role, authority: Authority) -> bool:
    if authority.is_reseller:
        return True
    if requires is Role.RESELLER:
        return False
    scope, target = _SCOPE[action.kind], action.target
    if scope in _MANAGING_USERS:
        if requires is Role.CONTRACT_MANAGER:
            return authority.is_manager
        return authority.is_manager or authority.actor in authority.user_managers
    if authority.manages(target["contract"]):
        return True
    return (
        requires is Role.SOFTWARE_COORDINATOR
        and scope is Scope.SERIAL
        and authority.serial_coordinator.get(target["serial"]) == authority.actor
        and authority.serial_contract.get(target["serial"]) == target["contract"]
    )


def _reason(action: Action, requires: Role, authority: Authority) -> str:
    who = _who_may(action, requires, authority)
    reason = f"{describe(action)} needs {ROLE_NAMES[requires]}: ask {who}"
    if action.kind.info.scope is Scope.PURCHASE and authority.manages(action.target["contract"]):
        reason += " (a Contract Manager can only request it)"
    return reason


def who_may(action: Action, authority: Authority) -> tuple[str, ...]:
    """The people, other than the actor, who may perform `action`: the ones a request goes to."""
    requires = required_role(action, authority)
    scope = action.kind.info.scope
    people: list[str] = []
    if requires is Role.SOFTWARE_COORDINATOR and scope is Scope.SERIAL:
        people.append(authority.serial_coordinator[action.target["serial"]])
    contract = action.target.get("contract", "")
    if requires is not Role.RESELLER and contract in authority.managers:
        people.append(authority.managers[contract])
    if requires is Role.CONTRACT_MANAGER and scope is Scope.USERS:
        user = authority.known_as(action.target["user"])
        if user in authority.managers.values():
            people.append(user)
        contracts = authority.coordinator_contracts.get(user, ())
        people.extend(authority.managers[c] for c in contracts if c in authority.managers)
    people.extend(sorted(authority.resellers))
    return tuple(p for p in dict.fromkeys(people) if p != authority.actor)


def _who_may(action: Action, requires: Role, authority: Authority) -> str:
    people = list(who_may(action, authority))
    if requires is Role.SOFTWARE_COORDINATOR and action.kind.info.scope in _MANAGING_USERS:
        people.insert(0, "a Contract Manager, a Software Coordinator who may manage users")
    return " or ".join(people) if people else "the reseller"
