"""How a plan is grouped for reading, and a drift named, once, for every report that shows them
(markdown, HTML).

Users first; then each team, its own record, its members and its access in
one block each; then each contract, its actions by kind (the access a team
gives users is there, under its serials). Apply runs the actions in
dependency order regardless; this is only for the reader. What expired
(`expires`, engine/expiry.py) is also listed in a section of its own, by
the day it ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.errors import plural
from reconciler.core.kinds import Effect, Event, Kind, Record
from reconciler.core.plan import Action, Plan
from reconciler.core.records import Drift
from reconciler.core.wording import EVENT_NAMES

#: The sections of a plan report, in the order they come.
USERS, TEAMS, CONTRACTS = range(3)
#: Each section's heading; `name` is the team's or the contract's, as users wrote it.
HEADINGS = {USERS: "Users", TEAMS: "Team {name}", CONTRACTS: "Contract {name}"}
#: The blocks of a team's section: its own record, its members and its access, each in one block.
TEAM_BLOCKS = {Record.TEAM: "team", Record.TEAM_MEMBER: "members", Record.TEAM_ACCESS: "access"}
EFFECT_WORDS = {Effect.ADD: "to add", Effect.CHANGE: "to change", Effect.REMOVE: "to remove"}


@dataclass(frozen=True)
class Block:
    """Actions of one kind (a contract's, the users') or one team record; `title` is the kind or a word."""

    title: Kind | str
    actions: list[Action]


@dataclass(frozen=True)
class Section:
    """The actions on one contract, one team, or the users; `place` is USERS, TEAMS or CONTRACTS."""

    place: int
    name: str
    blocks: list[Block]

    def heading(self, name: str) -> str:
        """The section's heading with `name` in the name's place (escaped as the report needs)."""
        return HEADINGS[self.place].format(name=name)


def plan_sections(actions: Sequence[Action]) -> list[Section]:
    """The actions grouped for reading, each group in apply order."""
    sections: dict[tuple[int, str], dict[tuple[int, str], list[Action]]] = {}
    for action in actions:
        record = action.kind.record
        if record in TEAM_BLOCKS:
            section = (TEAMS, action.target["team"])
            block = (list(TEAM_BLOCKS).index(record), TEAM_BLOCKS[record])
        else:
            contract = "" if record is Record.USER else action.target.get("contract", "")
            section = (CONTRACTS, contract) if contract else (USERS, "")
            block = (action.kind.rank, action.kind)
        sections.setdefault(section, {}).setdefault(block, []).append(action)
    return [
        Section(place, name, [Block(title, found) for (_, title), found in sorted(blocks.items())])
        for (place, name), blocks in sorted(sections.items())
    ]


def expired(actions: Sequence[Action]) -> list[Action]:
    """The actions that take away what expired (`Action.expired`), by the last day it had, then in
    apply order: the plan's section of what expired."""
    return sorted((action for action in actions if action.expired is not None), key=_last_day)


def _last_day(action: Action) -> str:
    return action.expired or ""


def expired_heading(count: int) -> str:
    """The heading of a plan's section of what expired: `Expired: 3 entries taken away after their last
    day`."""
    whose = plural(count, "its", "their")
    return f"Expired: {count:,} {plural(count, 'entry', 'entries')} taken away after {whose} last day"


def effects(actions: Sequence[Action]) -> str:
    """`4 to add, 1 blocked`: what a group of actions does."""
    counts: dict[Effect, int] = {}
    for action in actions:
        counts[action.effect] = counts.get(action.effect, 0) + 1
    words = [f"{count:,} {EFFECT_WORDS[effect]}" for effect, count in counts.items()]
    blocked = sum(not a.permitted for a in actions)
    if blocked:
        words.append(f"{blocked:,} blocked")
    return ", ".join(words)


def who_hears(plan: Plan) -> list[tuple[str, list[tuple[Event, int]]]]:
    """Each person the plan would e-mail, sorted, with the events they hear of and how often each."""
    heard: dict[str, Counter[Event]] = {}
    for action in plan.actions:
        for notification in action.notifications:
            heard.setdefault(notification.to, Counter())[notification.event] += 1
    return [(person, sorted(heard[person].items())) for person in sorted(heard)]


def drift_headline(drift: Drift) -> str:
    """What a drift found, in a few words: the title of its issue and of its page."""
    if drift.only_in_store or drift.only_in_git or drift.differ:
        return "the store differs from git"
    if drift.expired:
        return "the store holds what git says has ended"
    if drift.stale_invites:
        return "the store matches git, but some users never signed in"
    return "none, the store matches git"


def plan_headline(counts: dict[str, int]) -> str:
    """A plan's counts in a title: `47 to add, 4 to change, 0 to remove, 0 blocked`."""
    return (
        f"{counts['add']:,} to add, {counts['change']:,} to change, {counts['remove']:,} to remove, "
        f"{counts['blocked']:,} blocked"
    )


def events_heard(events: Sequence[tuple[Event, int]]) -> str:
    """What one person hears of, as `who_hears` counts it: `access granted ×2, invited`."""
    return ", ".join(EVENT_NAMES[event] + (f" ×{count}" if count > 1 else "") for event, count in events)
