"""Who may do what: the role matrix of DOMAIN.md, judged against the store before the plan (R10).

| action kinds                                         | reseller | CM              | SC with manage_users  |
|------------------------------------------------------|----------|-----------------|-----------------------|
| contract.*, serial.create/remove/seats/product       | yes      | no (requests)   | no                    |
| coordinator.*, serial.(un)assign_coordinator, group  | yes      | own contracts   | no                    |
| user.add/update/remove                               | yes      | yes             | yes                   |
| access.*                                             | yes      | own contracts   | serials they coordinate|

An SC never changes or removes a CM, a reseller or another SC; nobody
removes themselves. Everything here is pure: it reads a Snapshot and an
Action and returns a judgement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.model import Contract
from reconciler.plan import Action
from reconciler.store.base import Snapshot

RESELLER = "reseller"
CONTRACT_MANAGER = "contract_manager"
SOFTWARE_COORDINATOR = "software_coordinator"

_RESELLER_KINDS = frozenset(
    {
        "contract.create",
        "contract.remove",
        "contract.manager_change",
        "serial.create",
        "serial.remove",
        "serial.seats_change",
        "serial.product_change",
    }
)
_MANAGER_KINDS = frozenset(
    {
        "coordinator.add",
        "coordinator.update",
        "coordinator.remove",
        "serial.assign_coordinator",
        "serial.unassign_coordinator",
        "serial.rename_group",
    }
)


@dataclass(frozen=True)
class Judgement:
    requires: str
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

    @classmethod
    def of(cls, snapshot: Snapshot, actor: str) -> Authority:
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
        )

    @property
    def is_manager(self) -> bool:
        return self.actor in self.managers.values()

    @property
    def is_reseller(self) -> bool:
        return self.actor in self.resellers

    def manages(self, contract: str) -> bool:
        return self.managers.get(contract) == self.actor


def judge(action: Action, authority: Authority) -> Judgement:
    """Who may perform `action`, and whether the actor may."""
    requires = required_role(action, authority)
    if action.kind == "user.remove" and action.target["user"] == authority.actor:
        return Judgement(
            requires, False, f"{authority.actor} cannot remove themselves; ask another administrator"
        )
    if not _may(action, requires, authority):
        return Judgement(requires, False, _reason(action, requires, authority))
    what = action.kind.split(".", 1)[0]
    if action.kind in _REMOVALS and (what, action.target[what]) in authority.protected:
        return Judgement(
            requires,
            False,
            f"{what} {action.target[what]} is protected (protect: true); set protect: false and apply "
            "that first, then remove it",
        )
    return Judgement(requires, True)


_REMOVALS = frozenset({"contract.remove", "serial.remove", "user.remove"})
#: Changing protection takes the role that may remove the item: unprotecting is half a removal.
_PROTECTION_AS = {
    "contract.protect": "contract.remove",
    "serial.protect": "serial.remove",
    "user.protect": "user.remove",
}


def required_role(action: Action, authority: Authority) -> str:
    """The least role that could perform `action` on its target, given the store."""
    kind, target = _PROTECTION_AS.get(action.kind, action.kind), action.target
    if kind in _RESELLER_KINDS:
        return RESELLER
    if kind in _MANAGER_KINDS:
        return CONTRACT_MANAGER if target["contract"] in authority.managers else RESELLER
    if kind.startswith("user."):
        return _role_over_user(kind, target["user"], authority)
    # access.*: an SC acts on the serials they coordinate, but never on a CM's, a reseller's or
    # another SC's access; the CM of the contract (or the reseller) does that.
    if target["serial"] in authority.serial_coordinator and not _beyond_an_sc(target["user"], authority):
        return SOFTWARE_COORDINATOR
    return CONTRACT_MANAGER if target["contract"] in authority.managers else RESELLER


def _beyond_an_sc(user: str, authority: Authority) -> bool:
    """Whether `user` is someone an SC may not act on: a reseller, a CM, or another SC."""
    return (
        user in authority.resellers
        or user in authority.managers.values()
        or (user in authority.coordinator_contracts and user != authority.actor)
    )


def _role_over_user(kind: str, user: str, authority: Authority) -> str:
    # An SC never changes a CM, a reseller or another SC, but may correct their own record.
    if user in authority.resellers:
        return RESELLER
    if user in authority.managers.values():
        return CONTRACT_MANAGER
    if user in authority.coordinator_contracts:
        own_record = kind == "user.update" and user == authority.actor
        return SOFTWARE_COORDINATOR if own_record else CONTRACT_MANAGER
    return SOFTWARE_COORDINATOR


def _contracts_by_coordinator(contracts: Iterable[Contract]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for contract in contracts:
        for coordinator in contract.coordinators:
            found.setdefault(coordinator.email, []).append(contract.number)
    return {email: tuple(numbers) for email, numbers in found.items()}


def _may(action: Action, requires: str, authority: Authority) -> bool:
    if authority.is_reseller:
        return True
    if requires == RESELLER:
        return False
    kind, target = action.kind, action.target
    if kind.startswith("user."):
        if requires == CONTRACT_MANAGER:
            return authority.is_manager
        return authority.is_manager or authority.actor in authority.user_managers
    if authority.manages(target["contract"]):
        return True
    return (
        requires == SOFTWARE_COORDINATOR
        and kind.startswith("access.")
        and authority.serial_coordinator.get(target["serial"]) == authority.actor
        and authority.serial_contract.get(target["serial"]) == target["contract"]
    )


def _reason(action: Action, requires: str, authority: Authority) -> str:
    who = _who_may(action, requires, authority)
    reason = f"{describe(action)} needs {_ROLE_NAMES[requires]}: ask {who}"
    if (
        requires == RESELLER
        and action.kind in _RESELLER_KINDS
        and authority.manages(action.target["contract"])
    ):
        reason += " (a Contract Manager can only request it)"
    return reason


_ROLE_NAMES = {
    RESELLER: "the reseller",
    CONTRACT_MANAGER: "the Contract Manager",
    SOFTWARE_COORDINATOR: "a Software Coordinator who may manage users",
}


def who_may(action: Action, authority: Authority) -> tuple[str, ...]:
    """The people, other than the actor, who may perform `action`: the ones a request goes to."""
    requires = required_role(action, authority)
    people: list[str] = []
    if requires == SOFTWARE_COORDINATOR and action.kind.startswith("access."):
        people.append(authority.serial_coordinator[action.target["serial"]])
    contract = action.target.get("contract", "")
    if requires != RESELLER and contract in authority.managers:
        people.append(authority.managers[contract])
    if requires == CONTRACT_MANAGER and action.kind.startswith("user."):
        user = action.target["user"]
        if user in authority.managers.values():
            people.append(user)
        contracts = authority.coordinator_contracts.get(user, ())
        people.extend(authority.managers[c] for c in contracts if c in authority.managers)
    people.extend(sorted(authority.resellers))
    return tuple(p for p in dict.fromkeys(people) if p != authority.actor)


def _who_may(action: Action, requires: str, authority: Authority) -> str:
    people = list(who_may(action, authority))
    if requires == SOFTWARE_COORDINATOR and action.kind.startswith("user."):
        people.insert(0, "a Contract Manager, a Software Coordinator who may manage users")
    return " or ".join(people) if people else "the reseller"


_PHRASES = {
    "contract.create": "creating contract {contract}",
    "contract.remove": "removing contract {contract}",
    "contract.manager_change": "changing the Contract Manager of contract {contract}",
    "serial.create": "adding serial {serial}",
    "serial.remove": "removing serial {serial}",
    "serial.seats_change": "changing the seats of serial {serial}",
    "serial.product_change": "changing the product of serial {serial}",
    "serial.rename_group": "renaming the group of serial {serial}",
    "serial.assign_coordinator": "giving serial {serial} to {new_coordinator}",
    "serial.unassign_coordinator": "handing serial {serial} back to the Contract Manager",
    "coordinator.add": "naming {coordinator} a coordinator on contract {contract}",
    "coordinator.update": "changing coordinator {coordinator} on contract {contract}",
    "coordinator.remove": "removing coordinator {coordinator} from contract {contract}",
    "user.add": "adding user {user}",
    "user.update": "changing user {user}",
    "user.remove": "removing user {user}",
    "user.protect": "changing the protection of user {user}",
    "contract.protect": "changing the protection of contract {contract}",
    "serial.protect": "changing the protection of serial {serial}",
    "access.grant": "giving {user} access to serial {serial}",
    "access.update": "changing {user}'s access to serial {serial}",
    "access.revoke": "taking {user}'s access to serial {serial} away",
}


def describe(action: Action) -> str:
    """The action in words, as a reason or a request names it."""
    new_coordinator = (action.after or {}).get("coordinator")
    return _PHRASES[action.kind].format(**action.target, new_coordinator=new_coordinator)
