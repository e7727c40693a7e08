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

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.core.kinds import TABLE, Effect, Kind, Role, Scope
from reconciler.core.model import Contract
from reconciler.core.plan import Action, Standing
from reconciler.core.records import Snapshot
from reconciler.core.wording import instruction


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
    products: Mapping[str, str] = field(default_factory=dict)  # serial -> its product, for reasons

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
            products={s.number: s.product for c in state.contracts for s in c.serials},
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
        return Judgement(requires, False, _reason(action, authority))
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
        user is None or not _beyond_an_sc(authority.known_as(user), authority, authority.actor)
    ):
        return Role.SOFTWARE_COORDINATOR
    return Role.CONTRACT_MANAGER if target["contract"] in authority.managers else Role.RESELLER


def _beyond_an_sc(user: str, authority: Authority, sc: str) -> bool:
    """Whether `user` is someone the SC `sc` may not act on: a reseller, a CM, or another SC."""
    return (
        user in authority.resellers
        or user in authority.managers.values()
        or (user in authority.coordinator_contracts and user != sc)
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


#: How many people of one kind a reason names before it only counts the rest.
NAMED = 5


def _reason(action: Action, authority: Authority) -> str:
    """Who, by name, may perform `action` on its target, as the store before the plan says; every one
    of them is someone `judge` permits it to (tests/test_reasons.py checks each against `judge`)."""
    who = [f"{role} ({_named(people)})" for role, people in deciders(action, authority) if people]
    doing = instruction(action, authority.products)
    reason = f"only {_either(who)} may {doing}" if who else f"nobody in this store may {doing}"
    if _SCOPE[action.kind] is Scope.PURCHASE and authority.manages(action.target["contract"]):
        reason += "; a Contract Manager can only request it (apply --request asks the reseller)"
    return reason


def deciders(action: Action, authority: Authority) -> list[tuple[str, list[str]]]:
    """The people who may perform `action`, by what lets them, most particular first: the rules
    above turned round, from "may the actor" to "who may". Where the least role depends on who acts
    (an SC's own record, an SC's own access), each candidate is judged as themselves."""
    scope, target = _SCOPE[action.kind], action.target
    groups: list[tuple[str, list[str]]] = []
    contract = target.get("contract", "")
    if scope in _MANAGING_USERS:
        user = authority.known_as(target["user"]) if scope is Scope.USERS else None
        if user not in authority.resellers:
            # Nobody removes themselves: the user a removal is of is named by nobody's reason.
            gone = {target["user"]} if action.kind is Kind.USER_REMOVE else set()
            managers = sorted(set(authority.managers.values()) - gone)
            groups.append(("a Contract Manager", managers))
            if user is None or user not in authority.coordinator_contracts:
                if user not in authority.managers.values():
                    others = sorted(authority.user_managers - set(managers) - gone)
                    groups.append(("a coordinator with the right to manage users", others))
            elif (
                action.kind in _OWN_RECORD
                and user in authority.user_managers
                and user not in authority.managers.values()
            ):
                groups.append(("the coordinator whose record it is", [user]))
    elif scope is Scope.SERIAL:
        serial = target["serial"]
        sc = authority.serial_coordinator.get(serial)
        user = authority.known_as(target["user"]) if "user" in target else None
        if (
            sc is not None
            and authority.serial_contract.get(serial) == contract
            and (user is None or not _beyond_an_sc(user, authority, sc))
        ):
            groups.append((f"the coordinator of serial {serial} with the right to manage users", [sc]))
        if contract in authority.managers:
            groups.append((f"the Contract Manager of contract {contract}", [authority.managers[contract]]))
    elif scope is Scope.CONTRACT and contract in authority.managers:
        groups.append((f"the Contract Manager of contract {contract}", [authority.managers[contract]]))
    groups.append(("a reseller", sorted(authority.resellers)))
    return groups


def _named(people: list[str]) -> str:
    if len(people) <= NAMED:
        return ", ".join(people)
    return f"{', '.join(people[:NAMED])} and {len(people) - NAMED:,} more"


def _either(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


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


#: How like the actor's an address must be (difflib's ratio) to be offered as the one they meant.
_LIKE = 0.8


def standing(snapshot: Snapshot, actor: str) -> Standing:
    """The roles `actor` holds in the store of `snapshot`, least first, and its resellers; for an actor
    who holds none, the addresses of those who hold one that are like the actor's, likest first."""
    contracts = snapshot.state.contracts
    roles = []
    if any(actor == k.email for c in contracts for k in c.coordinators):
        roles.append(Role.SOFTWARE_COORDINATOR)
    if any(actor == c.manager for c in contracts):
        roles.append(Role.CONTRACT_MANAGER)
    if actor in snapshot.resellers:
        roles.append(Role.RESELLER)
    resellers = tuple(sorted(snapshot.resellers))
    if roles:
        return Standing(tuple(roles), resellers)
    holders = {*snapshot.resellers, *(c.manager for c in contracts)}
    holders.update(k.email for c in contracts for k in c.coordinators)
    return Standing((), resellers, tuple(_alike(actor, holders)))


def _alike(actor: str, holders: Iterable[str]) -> list[str]:
    """The addresses of `holders` like `actor`'s, likest first, at most three: alike before the @ and
    after it, each (a shared domain alone makes no two people alike)."""
    local, _, domain = actor.partition("@")
    found = []
    for holder in holders:
        their_local, _, their_domain = holder.partition("@")
        near = difflib.SequenceMatcher(None, local, their_local).ratio()
        far = difflib.SequenceMatcher(None, domain, their_domain).ratio()
        if near >= _LIKE and far >= _LIKE:
            found.append((-(near + far), holder))
    return [holder for _, holder in sorted(found)[:3]]
