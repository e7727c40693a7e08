"""`--target`: a plan of part of the account, with what that part needs, as Terraform's -target.

A target is `contract:NUMBER`, `serial:NUMBER`, `user:EMAIL` or `team:NAME`.
The plan keeps the actions about a target and, transitively, every action
they wait for in the dependency graph (a user before their access,
revocations that free the seats a grant takes). A team's actions are its
bookkeeping and the access it gives or takes away (a grant whose sources,
before or after, name the team). For emergencies: the rest of the YAML waits
for the next full plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler.core.errors import InputError
from reconciler.core.model import TEAM_SOURCE, DesiredState
from reconciler.core.plan import Action
from reconciler.engine.ordering import waits_on

_KEYS = {"contract": ("contract",), "serial": ("serial",), "user": ("user", "coordinator"), "team": ("team",)}
_USAGE = "use contract:NUMBER, serial:NUMBER, user:EMAIL or team:NAME"


def parse_targets(texts: Iterable[str]) -> tuple[str, ...]:
    """`texts` checked and normalised (e-mails in lower case), sorted, each once."""
    found = set()
    for text in texts:
        kind, _, value = text.partition(":")
        if kind not in _KEYS or not value:
            raise InputError(f"--target {text!r}: {_USAGE}")
        found.add(f"{kind}:{value.lower() if kind == 'user' else value}")
    return tuple(sorted(found))


def check_known(targets: Sequence[str], *states: DesiredState) -> None:
    """Refuse a target neither the YAML nor the store knows: a typo would plan nothing and say nothing."""
    known: set[str] = set()
    for state in states:
        known.update(f"contract:{c.number}" for c in state.contracts)
        known.update(f"serial:{s.number}" for c in state.contracts for s in c.serials)
        known.update(f"user:{u.email}" for u in state.users)
        known.update(f"team:{t.name}" for t in state.teams)
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise InputError(f"--target {', '.join(unknown)}: not in the YAML nor in the store")


def select(actions: Sequence[Action], targets: Sequence[str]) -> list[Action]:
    """The actions about `targets` and everything they wait for, in their original order."""
    wanted = [target.split(":", 1) for target in targets]
    chosen = {i for i, action in enumerate(actions) if any(_about(action, kind, v) for kind, v in wanted)}
    before = waits_on(actions)
    pending = list(chosen)
    while pending:
        for first in before[pending.pop()]:
            if first not in chosen:
                chosen.add(first)
                pending.append(first)
    return [action for i, action in enumerate(actions) if i in chosen]


def _about(action: Action, kind: str, value: str) -> bool:
    if any(action.target.get(key) == value for key in _KEYS[kind]):
        return True
    source = TEAM_SOURCE + value
    return kind == "team" and any(
        source in (record or {}).get("via", ()) for record in (action.before, action.after)
    )
