"""The account as desired-state YAML: what `export` prints, and what a plan of it leaves unchanged.

Strings that YAML 1.1 or 1.2 would read as something else (`NO`, `on`,
`0755`, `0o17`, `110001234567`, `null`) are double-quoted, so the file reads
the same under either version and under our strict loader.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import yaml

from reconciler.diff import coordinator_record
from reconciler.loader import plain_scalar
from reconciler.model import Contract, DesiredState, User

_STR_TAG = "tag:yaml.org,2002:str"
_YAML_1_1 = yaml.resolver.Resolver()


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent lists under their key, as people write them.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    ambiguous = (
        not isinstance(plain_scalar(value), str)
        or _YAML_1_1.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG  # type: ignore[no-untyped-call]
    )
    return dumper.represent_scalar(_STR_TAG, value, style='"' if ambiguous else None)


class _Number(str):
    """A contract or serial number: always quoted, as the schema asks people to write it."""


def _represent_number(dumper: yaml.SafeDumper, value: _Number) -> yaml.ScalarNode:
    return dumper.represent_scalar(_STR_TAG, str(value), style='"')


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Number, _represent_number)


def export_yaml(state: DesiredState, contract: str | None = None) -> str:
    """`state` as YAML; with `contract`, only it and the users it concerns."""
    contracts = [c for c in state.contracts if contract is None or c.number == contract]
    users = list(state.users)
    if contract is not None:
        serials = {s.number for c in contracts for s in c.serials}
        people = {p for c in contracts for p in (c.manager, *(k.email for k in c.coordinators))}
        users = [
            _only_access_to(u, serials)
            for u in users
            if u.email in people or any(a.serial in serials for a in u.access)
        ]
    document = {
        "version": 1,
        "contracts": [_contract(c) for c in contracts],
        "users": [_user(u) for u in users],
    }
    text: str = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    return text


def _only_access_to(user: User, serials: set[str]) -> User:
    return replace(user, access=tuple(a for a in user.access if a.serial in serials))


def _contract(contract: Contract) -> dict[str, Any]:
    data: dict[str, Any] = {"number": _Number(contract.number), "manager": contract.manager}
    if contract.protect:
        data["protect"] = True
    if contract.coordinators:
        data["coordinators"] = [
            _without_defaults({"email": k.email, **coordinator_record(k)}) for k in contract.coordinators
        ]
    if contract.serials:
        data["serials"] = [
            _without_defaults(
                {
                    "number": _Number(s.number),
                    "product": s.product,
                    "seats": s.seats,
                    "group": s.group,
                    "coordinator": s.coordinator,
                    "protect": s.protect,
                }
            )
            for s in contract.serials
        ]
    return data


def _user(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    if user.protect:
        data["protect"] = True
    if user.access:
        data["access"] = [
            _without_defaults({"serial": a.serial, "download": a.download}) for a in user.access
        ]
    return data


def _without_defaults(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the YAML leaves out by default: false flags and absent values."""
    return {key: value for key, value in record.items() if value is not None and value is not False}
