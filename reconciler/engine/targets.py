"""`--target`: a plan of part of the account, with what that part needs, as Terraform's -target.

A target is `contract:NUMBER`, `serial:NUMBER`, `user:EMAIL` or `team:NAME`.
E-mails and team names are matched ignoring case, as the YAML compares them
(a team's name with `str.casefold`, so `STRASSE` is `Straße`).
The plan keeps the actions about a target and, transitively, every action
they wait for in the dependency graph (a user before their access,
revocations that free the seats a grant takes), and the whole unit of each
(engine/units.py: a team change and the access it causes), so that a
target never leaves a grant that nothing gives. A team's actions are its
bookkeeping and the access it gives or takes away (a grant whose sources,
before or after, name the team). For emergencies: the rest of the YAML waits
for the next full plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.core.errors import InputError
from reconciler.core.kinds import Kind
from reconciler.core.model import TEAM_SOURCE, DesiredState, Team
from reconciler.core.plan import Action
from reconciler.engine.ordering import waits_on
from reconciler.engine.units import units

_KEYS = {"contract": ("contract",), "serial": ("serial",), "user": ("user", "coordinator"), "team": ("team",)}
_USAGE = "use contract:NUMBER, serial:NUMBER, user:EMAIL or team:NAME"


def parse_targets(texts: Iterable[str]) -> tuple[str, ...]:
    """`texts` checked and normalised (e-mails in lower case), sorted, each once (a team as first
    spelt)."""
    found: dict[str, str] = {}
    for text in texts:
        kind, _, value = text.partition(":")
        if kind not in _KEYS or not value:
            raise InputError(f"--target {text!r}: {_USAGE}")
        target = f"{kind}:{value.lower() if kind == 'user' else value}"
        found.setdefault(_key(target), target)
    return tuple(sorted(found.values()))


def _key(target: str) -> str:
    """What two targets share when they name one thing: a team's name ignoring case."""
    return target.casefold() if target.startswith("team:") else target


def check_known(targets: Sequence[str], *states: DesiredState) -> None:
    """Refuse a target neither the YAML nor the store knows: a typo would plan nothing and say nothing."""
    known: set[str] = set()
    for state in states:
        known.update(f"contract:{c.number}" for c in state.contracts)
        known.update(f"serial:{s.number}" for c in state.contracts for s in c.serials)
        known.update(f"user:{u.email}" for u in state.users)
        known.update(_key(f"team:{t.name}") for t in state.teams)
    unknown = [t for t in targets if _key(t) not in known]
    if unknown:
        raise InputError(f"--target {', '.join(unknown)}: not in the YAML nor in the store")


def select(actions: Sequence[Action], targets: Sequence[str], teams: Sequence[Team] = ()) -> list[Action]:
    """The actions about `targets`, everything they wait for and the rest of their units, in their
    original order; `teams` are the store's, before the plan."""
    wanted = [target.split(":", 1) for target in targets]
    chosen = {i for i, action in enumerate(actions) if any(_about(action, kind, v) for kind, v in wanted)}
    before = waits_on(actions)
    unit_of = {i: unit for unit in units(actions, teams) for i in unit}
    pending = list(chosen)
    while pending:
        i = pending.pop()
        for other in (*before[i], *unit_of.get(i, ())):
            if other not in chosen:
                chosen.add(other)
                pending.append(other)
    return [action for i, action in enumerate(actions) if i in chosen]


def _about(action: Action, kind: str, value: str) -> bool:
    if kind != "team":
        if any(action.target.get(key) == value for key in _KEYS[kind]):
            return True
        # A user whose e-mail changes is the target by either address.
        return (
            kind == "user"
            and action.kind is Kind.USER_CHANGE_EMAIL
            and (action.after or {}).get("email") == value
        )
    name = value.casefold()
    if action.target.get("team", "").casefold() == name:
        return True
    source = (TEAM_SOURCE + value).casefold()
    return any(
        given.casefold() == source
        for record in (action.before, action.after)
        for given in (record or {}).get("via", ())
    )
