"""Policy rules over a plan: each rule evaluated over the records the plan's actions touch, as the
plan leaves them, and over the plan itself; a `deny` blocks the actions that touch its record.

| a rule over   | is evaluated for                                          | a deny blocks          |
|---------------|-----------------------------------------------------------|------------------------|
| `grant`       | each `access.grant`, `access.update`: the effective grant | that action            |
| `user`        | each user an add or change names (their access too)       | those adds and changes |
| `team_member` | each `team.member_add`, `team.member_update`              | that action            |
| `serial`      | each serial an add or change names                        | those actions          |
| `plan`        | the plan, once                                            | every action           |

A removal is never judged: taking away is how a record comes back within a rule, and a record the
plan removes is not there to judge. The counts rules read (a user's serials, a serial's seats used)
are worked out once for the account, and only those some rule reads (`Rule.reads`). A rule that cannot
be evaluated for a record (a value it reads is not there) blocks as a deny does: a rule that cannot
say yes never lets a change through. `check_account` evaluates the rules over every record instead
(`reconciler policy check`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from reconciler.core.kinds import Effect, Kind, Record
from reconciler.core.model import DIRECT, Contract, DesiredState, Grants, Serial, User, effective_access
from reconciler.core.plan import Action, PolicyOutcome, Verdict, renamed_users
from reconciler.core.records import Snapshot
from reconciler.core.wording import record_label
from reconciler.policy.cel import Rule

#: A record's keys, the user's first wherever there is one: (user, serial) for a grant, (user,) for a
#: user, (user, team) for a team member, (serial,) for a serial, () for the plan.
Key = tuple[str, ...]

#: Hears how many records of how many have been evaluated (`policy check` on a terminal).
Progress = Callable[[int, int], None]

_GRANT_KINDS = frozenset({Kind.ACCESS_GRANT, Kind.ACCESS_UPDATE})
_MEMBER_KINDS = frozenset({Kind.TEAM_MEMBER_ADD, Kind.TEAM_MEMBER_UPDATE})


def judge_policies(
    rules: Sequence[Rule],
    actions: Sequence[Action],
    goal: DesiredState,
    snapshot: Snapshot,
    actor: str,
    today: str | None,
    grants: Grants | None = None,
    whole: Sequence[Action] | None = None,
) -> tuple[tuple[Action, ...], PolicyOutcome]:
    """`actions` with those a rule denies blocked, and what the rules said of them.

    `goal` is the account the plan makes (after expiry and the unmanaged-users policy), `snapshot` the
    store before it; `grants`, the access `goal` gives, when the caller has it; `whole`, the plan's
    actions before --target cut them, which rules over the plan count."""
    facts = _Facts(goal, snapshot, actor, today or "", actions, grants, whole)
    touched = _touched(actions)
    verdicts: list[Verdict] = []
    records = 0
    for rule in rules:
        applies_to = rule.policy.applies_to
        found: list[tuple[Key, tuple[int, ...]]]
        if applies_to == "plan":
            found = [((), tuple(range(len(actions))))] if actions else []
        else:
            found = [
                (key, tuple(at)) for key, at in touched[applies_to].items() if facts.exists(applies_to, key)
            ]
        records += len(found)
        for key, at in found:
            verdict = _evaluate(rule, facts, key, at)
            if verdict is not None:
                verdicts.append(verdict)
    verdicts.sort(key=lambda v: (v.actions[:1] or (-1,), v.rule))
    return _blocked(actions, verdicts), _outcome(verdicts, len(rules), records)


def check_account(
    rules: Sequence[Rule], desired: DesiredState, actor: str, today: str, progress: Progress | None = None
) -> PolicyOutcome:
    """What the rules say of every record of `desired` (`policy check`: the nightly sweep), as though
    each were new; rules over the plan are not evaluated (there is none). `progress` hears how many
    records have been evaluated, of how many."""
    facts = _Facts(desired, Snapshot("", 0, frozenset(), DesiredState(), grants={}), actor, today, ())
    keys = {
        applies_to: list(facts.every(applies_to)) for applies_to in ("grant", "user", "team_member", "serial")
    }
    record_rules = [rule for rule in rules if rule.policy.applies_to != "plan"]
    total = sum(len(keys[rule.policy.applies_to]) for rule in record_rules)
    done, verdicts = 0, []
    for rule in record_rules:
        for key in keys[rule.policy.applies_to]:
            verdict = _evaluate(rule, facts, key, ())
            if verdict is not None:
                verdicts.append(verdict)
            done += 1
            if progress is not None and done % 2048 == 0:
                progress(done, total)
    if progress is not None:
        progress(total, total)
    return _outcome(verdicts, len(record_rules), total)


def _evaluate(rule: Rule, facts: _Facts, key: Key, at: tuple[int, ...]) -> Verdict | None:
    policy = rule.policy
    held = rule.holds(facts.values(rule, key))
    if held is False:
        return None
    effect, message = (policy.effect, policy.message or policy.when) if held is True else ("error", held)
    subject = facts.subject(policy.applies_to, key)
    return Verdict(
        rule=policy.id,
        effect=effect,
        message=message,
        applies_to=policy.applies_to,
        subject=subject,
        record=_label(policy.applies_to, subject),
        actions=at,
        approvals=(policy.approvals or 0) if effect == "require_approvals" else 0,
    )


def _blocked(actions: Sequence[Action], verdicts: Iterable[Verdict]) -> tuple[Action, ...]:
    denials: dict[int, Verdict] = {}
    for verdict in verdicts:
        if verdict.blocks:
            for index in verdict.actions:
                denials.setdefault(index, verdict)
    if not denials:
        return tuple(actions)
    return tuple(
        action if index not in denials else _deny(action, denials[index])
        for index, action in enumerate(actions)
    )


def _deny(action: Action, verdict: Verdict) -> Action:
    said = "could not be evaluated" if verdict.effect == "error" else "denies it"
    return Action(
        action.kind,
        action.target,
        action.before,
        action.after,
        action.requires,
        False,
        f"policy {verdict.rule} {said}: {verdict.message} ({verdict.record})",
        action.notifications,
        action.held,
        action.expired,
        verdict.rule,
    )


def _outcome(verdicts: Sequence[Verdict], rules: int, records: int) -> PolicyOutcome:
    asking = [v for v in verdicts if v.effect == "require_approvals"]
    return PolicyOutcome(
        verdicts=tuple(verdicts),
        required_approvals=max((v.approvals for v in asking), default=0),
        approvals_from=tuple(sorted({v.rule for v in asking})),
        rules=rules,
        records=records,
    )


def _touched(actions: Sequence[Action]) -> dict[str, dict[Key, list[int]]]:
    """The records `actions` add to or change, by what a rule applies to, each with the positions of
    the actions that touch it."""
    touched: dict[str, dict[Key, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, action in enumerate(actions):
        kind = action.kind
        if kind.effect is Effect.REMOVE:
            continue
        target = action.target
        if kind in _GRANT_KINDS:
            touched["grant"][(target["user"], target["serial"])].append(index)
        elif kind in _MEMBER_KINDS:
            touched["team_member"][(target["user"], target["team"])].append(index)
        elif kind.record is Record.SERIAL:
            touched["serial"][(target["serial"],)].append(index)
        if "user" in target:
            user = target["user"]
            if kind is Kind.USER_CHANGE_EMAIL:
                user = str((action.after or {}).get("email", user))
            touched["user"][(user,)].append(index)
    return touched


def _label(applies_to: str, subject: Mapping[str, str]) -> str:
    if applies_to == "grant":
        return record_label(Record.ACCESS, subject)
    if applies_to == "team_member":
        return record_label(Record.TEAM_MEMBER, subject)
    if applies_to == "plan":
        return "the plan"
    return record_label(Record(applies_to), subject)


@dataclass
class _Facts:
    """The account after the plan, indexed once, and each variable's value for one record."""

    goal: DesiredState
    snapshot: Snapshot
    actor: str
    today: str
    actions: Sequence[Action]
    given_grants: Grants | None = None
    #: The plan before --target cut it: what rules over the plan count (a change split into
    #: targeted plans asks for the approvals of the whole).
    whole: Sequence[Action] | None = None

    def exists(self, applies_to: str, key: Key) -> bool:
        if applies_to == "grant":
            return _pair(key) in self.grants
        if applies_to == "user":
            return key[0] in self.users
        if applies_to == "team_member":
            return key[0] in self.members.get(key[1], {})
        return key[0] in self.serials

    def every(self, applies_to: str) -> Iterator[Key]:
        """Every record of `applies_to` in the account, in a stable order."""
        if applies_to == "grant":
            yield from sorted(self.grants)
        elif applies_to == "user":
            yield from ((email,) for email in sorted(self.users))
        elif applies_to == "team_member":
            for team in self.goal.teams:
                yield from ((member, team.name) for member in team.members)
        else:
            yield from ((number,) for number in sorted(self.serials))

    def subject(self, applies_to: str, key: Key) -> dict[str, str]:
        if applies_to == "grant":
            subject = {"user": key[0], "serial": key[1]}
            via = self.grants[_pair(key)].via
            if DIRECT not in via:  # access only teams give is written on the (first) team's line
                subject["team"] = via[0].split(":", 1)[1]
            return subject
        if applies_to == "team_member":
            return {"team": key[1], "user": key[0]}
        if applies_to == "user":
            return {"user": key[0]}
        if applies_to == "serial":
            return {"serial": key[0]}
        return {}

    def values(self, rule: Rule, key: Key) -> dict[str, object]:
        values: dict[str, object] = {}
        for name in rule.reads:
            value = _VALUES[name](self, key)
            if value is not None:
                values[name] = value
        return values

    # The account after the plan, indexed: each built the first time a rule reads it.

    @cached_property
    def users(self) -> dict[str, User]:
        return {user.email: user for user in self.goal.users}

    @cached_property
    def grants(self) -> Grants:
        return effective_access(self.goal) if self.given_grants is None else self.given_grants

    @cached_property
    def serials(self) -> dict[str, tuple[Serial, Contract]]:
        return {s.number: (s, c) for c in self.goal.contracts for s in c.serials}

    @cached_property
    def stored_seats(self) -> dict[str, int]:
        return {s.number: s.seats for c in self.snapshot.state.contracts for s in c.serials}

    @cached_property
    def renamed(self) -> dict[str, str]:
        """The users the plan gives a new address: old to new (they are not new users)."""
        return renamed_users(self.actions)

    @cached_property
    def stored_users(self) -> frozenset[str]:
        renamed = self.renamed
        return frozenset(renamed.get(user.email, user.email) for user in self.snapshot.state.users)

    @cached_property
    def stored_grants(self) -> Collection[tuple[str, str]]:
        """The access the store has, by the users' addresses after the plan."""
        renamed = self.renamed
        if not renamed:
            return self.snapshot.grants.keys()
        return {(renamed.get(user, user), serial) for user, serial in self.snapshot.grants}

    @cached_property
    def access_of(self) -> dict[str, list[str]]:
        """Each user's serials after the plan (in no order: `user.serials` sorts the few it reads)."""
        found: dict[str, list[str]] = defaultdict(list)
        for user, serial in self.grants:
            found[user].append(serial)
        return found

    @cached_property
    def downloads_of(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for (user, _), grant in self.grants.items():
            found[user] += grant.download
        return found

    @cached_property
    def seats_used(self) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for _, serial in self.grants:
            found[serial] += 1
        return found

    @cached_property
    def teams_of(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for team in self.goal.teams:  # sorted by name
            for member in team.members:
                found[member].append(team.name)
        return found

    @cached_property
    def members(self) -> dict[str, dict[str, str]]:
        """Each team's members, by team name, each with their last day ("" for good)."""
        found: dict[str, dict[str, str]] = {}
        for team in self.goal.teams:
            until = dict(team.member_expires)
            found[team.name] = {member: until.get(member, "") for member in team.members}
        return found

    @cached_property
    def team_serials(self) -> dict[str, list[str]]:
        return {team.name: sorted(a.serial for a in team.access) for team in self.goal.teams}

    @cached_property
    def plan_counts(self) -> dict[str, int]:
        return _plan_counts(self.whole if self.whole is not None else self.actions, self.renamed)

    def days_left(self, ends: str | None) -> int | None:
        if not ends or not self.today:  # no end, or no day to count from (a plan made without --today)
            return None
        return (date.fromisoformat(ends) - date.fromisoformat(self.today)).days


_USER_FIELDS = "email domain first_name last_name expires protected new serial_count download_count"
_USER_FIELDS += " serials teams"
_PLAN_COUNTS = "actions users_added users_removed users_touched grants_added grants_removed"
_PLAN_COUNTS += " downloads_added seats_added seats_removed"


def _plan_count(name: str) -> Callable[[_Facts, Key], Any]:
    return lambda facts, key: facts.plan_counts[name]


def _plan_counts(actions: Sequence[Action], renamed: Mapping[str, str]) -> dict[str, int]:
    counts = dict.fromkeys(_PLAN_COUNTS.split(), 0)
    counts["actions"] = len(actions)
    people = set()
    for action in actions:
        kind, before, after = action.kind, action.before or {}, action.after or {}
        if "user" in action.target:
            user = action.target["user"]
            people.add(renamed.get(user, user))
        if kind is Kind.USER_ADD:
            counts["users_added"] += 1
        elif kind is Kind.USER_REMOVE:
            counts["users_removed"] += 1
        elif kind is Kind.ACCESS_GRANT:
            counts["grants_added"] += 1
            counts["downloads_added"] += bool(after.get("download"))
        elif kind is Kind.ACCESS_UPDATE:
            counts["downloads_added"] += bool(after.get("download")) and not before.get("download")
        elif kind is Kind.ACCESS_REVOKE:
            counts["grants_removed"] += 1
        elif kind in (Kind.SERIAL_CREATE, Kind.SERIAL_SEATS_CHANGE, Kind.SERIAL_REMOVE):
            change = int(after.get("seats", 0)) - int(before.get("seats", 0))
            counts["seats_added" if change > 0 else "seats_removed"] += abs(change)
    counts["users_touched"] = len(people)
    return counts


def _user(name: str) -> Callable[[_Facts, Key], Any]:
    """A user variable's value, for the user of any record (a grant's, a member's) by their e-mail."""

    def value(facts: _Facts, key: Key) -> Any:
        email = key[0]
        user = facts.users[email]
        if name == "email":
            return user.email
        if name == "domain":
            return user.email.rpartition("@")[2]
        if name == "first_name":
            return user.first_name or ""
        if name == "last_name":
            return user.last_name or ""
        if name == "expires":
            return user.expires or ""
        if name == "protected":
            return user.protect
        if name == "new":
            return user.email not in facts.stored_users
        if name == "serial_count":
            return len(facts.access_of.get(email, ()))
        if name == "download_count":
            return facts.downloads_of.get(email, 0)
        if name == "serials":
            return sorted(facts.access_of.get(email, ()))
        return list(facts.teams_of.get(email, ()))  # teams

    return value


def _pair(key: Key) -> tuple[str, str]:
    return key[0], key[1]


def _serial(facts: _Facts, key: Key) -> tuple[Serial, Contract]:
    return facts.serials[key[1] if len(key) == 2 else key[0]]


_VALUES: dict[str, Callable[[_Facts, Key], Any]] = {
    "actor": lambda facts, key: facts.actor,
    "today": lambda facts, key: facts.today,
    **{f"user.{name}": _user(name) for name in _USER_FIELDS.split()},
    "grant.serial": lambda facts, key: key[1],
    "grant.download": lambda facts, key: facts.grants[_pair(key)].download,
    "grant.expires": lambda facts, key: facts.grants[_pair(key)].expires or "",
    "grant.direct": lambda facts, key: DIRECT in facts.grants[_pair(key)].via,
    "grant.teams": lambda facts, key: [
        via.split(":", 1)[1] for via in facts.grants[_pair(key)].via if via != DIRECT
    ],
    "grant.new": lambda facts, key: _pair(key) not in facts.stored_grants,
    "serial.number": lambda facts, key: _serial(facts, key)[0].number,
    "serial.product": lambda facts, key: _serial(facts, key)[0].product,
    "serial.seats": lambda facts, key: _serial(facts, key)[0].seats,
    "serial.seats_added": lambda facts, key: (
        _serial(facts, key)[0].seats - facts.stored_seats.get(_serial(facts, key)[0].number, 0)
    ),
    "serial.seats_used": lambda facts, key: facts.seats_used.get(_serial(facts, key)[0].number, 0),
    "serial.group": lambda facts, key: _serial(facts, key)[0].group or "",
    "serial.coordinator": lambda facts, key: _serial(facts, key)[1].coordinator_of(_serial(facts, key)[0]),
    "serial.new": lambda facts, key: _serial(facts, key)[0].number not in facts.stored_seats,
    "contract.number": lambda facts, key: _serial(facts, key)[1].number,
    "contract.manager": lambda facts, key: _serial(facts, key)[1].manager,
    "contract.ends": lambda facts, key: _serial(facts, key)[1].ends or "",
    "contract.days_left": lambda facts, key: facts.days_left(_serial(facts, key)[1].ends),
    "team.name": lambda facts, key: key[1],
    "team.serials": lambda facts, key: list(facts.team_serials[key[1]]),
    "team.member_count": lambda facts, key: len(facts.members[key[1]]),
    "member.email": lambda facts, key: key[0],
    "member.expires": lambda facts, key: facts.members[key[1]][key[0]],
    **{f"plan.{name}": _plan_count(name) for name in _PLAN_COUNTS.split()},
}
