"""What a policy rule may read: the variables of each kind of record, with their CEL types.

One table, read by the compiler (cel.py declares these and no other names), by the engine (which
fills them in, engine/policies.py) and by the docs (docs/policy.md lists it). A variable that is
`optional` has no value where the record leaves it unset: reading it there is an error of the
rule's, placed on the record, unless a test before it (`contract.ends != "" && …`) skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Type(StrEnum):
    """A variable's CEL type."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    STRINGS = "list(string)"


@dataclass(frozen=True, slots=True)
class Variable:
    """One name a rule may read, its type, and what it holds."""

    name: str
    type: Type
    meaning: str
    optional: bool = False


_COMMON = (
    Variable("actor", Type.STRING, "who plans the change (--actor), lower-case"),
    Variable("today", Type.STRING, "the day the plan is judged on, YYYY-MM-DD (--today)"),
)
_USER = (
    Variable("user.email", Type.STRING, "the user's e-mail address, lower-case"),
    Variable("user.domain", Type.STRING, "what follows the @ of the user's address"),
    Variable("user.first_name", Type.STRING, "the user's first name"),
    Variable("user.last_name", Type.STRING, "the user's last name"),
    Variable("user.expires", Type.STRING, 'the user\'s last day, YYYY-MM-DD; "" when they stay'),
    Variable("user.protected", Type.BOOL, "the user has `protect: true`"),
    Variable("user.new", Type.BOOL, "the store does not have the user yet"),
    Variable("user.serial_count", Type.INT, "how many serials the user has access to after the plan"),
    Variable("user.download_count", Type.INT, "how many of those give download rights"),
    Variable("user.serials", Type.STRINGS, "the serials the user has access to after the plan, sorted"),
    Variable("user.teams", Type.STRINGS, "the teams the user is in, sorted"),
)
_CONTRACT = (
    Variable("contract.number", Type.STRING, "the contract's number"),
    Variable("contract.manager", Type.STRING, "the contract's Contract Manager's e-mail"),
    Variable("contract.ends", Type.STRING, 'the contract\'s last day, YYYY-MM-DD; "" when not said'),
    Variable(
        "contract.days_left",
        Type.INT,
        "days from today to the contract's `ends`; no value when the contract does not say when it ends",
        optional=True,
    ),
)
_SERIAL = (
    Variable("serial.number", Type.STRING, "the serial's number"),
    Variable("serial.product", Type.STRING, "the serial's product"),
    Variable("serial.seats", Type.INT, "the serial's seats after the plan"),
    Variable("serial.seats_added", Type.INT, "seats the plan adds to it (negative: takes away; all, new)"),
    Variable("serial.seats_used", Type.INT, "users with access to it after the plan"),
    Variable("serial.group", Type.STRING, 'the serial\'s product group; "" when none'),
    Variable("serial.coordinator", Type.STRING, "who coordinates it: its SC, or else the CM"),
    Variable("serial.new", Type.BOOL, "the store does not have the serial yet"),
)
_GRANT = (
    Variable("grant.serial", Type.STRING, "the serial the access is to"),
    Variable("grant.download", Type.BOOL, "the access gives download rights (the user's or a team's)"),
    Variable("grant.expires", Type.STRING, 'the last day of the user\'s own grant; "" when none'),
    Variable("grant.direct", Type.BOOL, "the user has a grant of their own (not only a team's)"),
    Variable("grant.teams", Type.STRINGS, "the teams that give the access, sorted"),
    Variable("grant.new", Type.BOOL, "the user has no access to the serial in the store yet"),
)
_TEAM_MEMBER = (
    Variable("team.name", Type.STRING, "the team's name"),
    Variable("team.serials", Type.STRINGS, "the serials the team gives, sorted"),
    Variable("team.member_count", Type.INT, "how many members the team has after the plan"),
    Variable("member.email", Type.STRING, "the member's e-mail address"),
    Variable("member.expires", Type.STRING, 'the member\'s last day in the team; "" when they stay'),
)
_PLAN = (
    Variable("plan.actions", Type.INT, "how many actions the plan has"),
    Variable("plan.users_added", Type.INT, "users the plan adds"),
    Variable("plan.users_removed", Type.INT, "users the plan removes"),
    Variable("plan.users_touched", Type.INT, "users any action of the plan names"),
    Variable("plan.grants_added", Type.INT, "access the plan grants (a user to a serial)"),
    Variable("plan.grants_removed", Type.INT, "access the plan takes away"),
    Variable("plan.downloads_added", Type.INT, "grants that gain download rights"),
    Variable("plan.seats_added", Type.INT, "seats added across serials, new serials' seats too"),
    Variable("plan.seats_removed", Type.INT, "seats taken from serials, removed serials' too"),
)

#: The variables of a rule, by what it `applies_to`: a grant's rule reads the user, the serial and its
#: contract too, a team member's the user.
VARIABLES: dict[str, tuple[Variable, ...]] = {
    "grant": _COMMON + _GRANT + _USER + _SERIAL + _CONTRACT,
    "user": _COMMON + _USER,
    "team_member": _COMMON + _TEAM_MEMBER + _USER,
    "serial": _COMMON + _SERIAL + _CONTRACT,
    "plan": _COMMON + _PLAN,
}

#: What a rule may apply to, as the schema lists them.
APPLIES_TO = tuple(VARIABLES)

#: What a rule may do where it holds.
EFFECTS = ("deny", "warn", "require_approvals")


def variable(applies_to: str, name: str) -> Variable | None:
    """The variable `name` of a rule over `applies_to`, or None."""
    return next((v for v in VARIABLES[applies_to] if v.name == name), None)
