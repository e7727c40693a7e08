"""What a report puts first, the same in every format: what needs action.

In a seat and renewal report: full serials (nobody can be given access
without a seat more), serials with seats nobody uses (money at the renewal),
users still invited long after they were added (a mistyped address, someone
who left; each once, with every serial they hold), and contracts whose
renewal is due (soonest first, those that have ended before them).

In a plan: what its policy rules said (`policy_findings`): the records a rule
denies, those a rule could not be evaluated for (which block as a deny
does), those a rule warns of, each rule's first `LISTED` in plan order and
how many more (a rule that warns of every user of a large account holds
thousands), and the approving reviews the plan needs.

The text, markdown and HTML reports each lay this out their own way; none
of them decides it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.core.errors import plural
from reconciler.core.plan import Plan, Verdict
from reconciler.core.records import ContractUsage, SerialUsage, Usage


@dataclass(frozen=True)
class StaleUser:
    """A user still invited, since when, and the serials whose seats they hold meanwhile."""

    user: str
    invited_at: str
    serials: tuple[str, ...]


@dataclass(frozen=True)
class Attention:
    """What needs action in a usage report, in the order a report shows it."""

    full: tuple[tuple[ContractUsage, SerialUsage], ...] = ()
    unused: tuple[tuple[ContractUsage, SerialUsage], ...] = ()
    stale: tuple[StaleUser, ...] = ()
    renewals: tuple[ContractUsage, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.full or self.unused or self.stale or self.renewals)

    @property
    def unused_seats(self) -> int:
        return sum(serial.free for _, serial in self.unused)


def attention(usage: Usage) -> Attention:
    """What needs action in `usage`: full serials, unused seats, stale invitations, renewals due."""
    placed = [(contract, serial) for contract in usage.contracts for serial in contract.serials]
    stale: dict[str, tuple[str, list[str]]] = {}
    for _, serial in placed:
        for invite in serial.stale_invites:
            stale.setdefault(invite.user, (invite.invited_at, []))[1].append(serial.number)
    return Attention(
        full=tuple((c, s) for c, s in placed if s.full),
        unused=tuple((c, s) for c, s in placed if s.free),
        stale=tuple(
            StaleUser(user, at, tuple(sorted(serials))) for user, (at, serials) in sorted(stale.items())
        ),
        renewals=tuple(
            sorted(
                (c for c in usage.contracts if c.renewal_due),
                key=lambda c: (c.days_left if c.days_left is not None else 0, c.number),
            )
        ),
    )


def totals(usage: Usage) -> dict[str, int]:
    """The report's counts: contracts, serials, seats, assigned, free, invited (seats held by users
    still invited, as assigned counts seats), and what needs action (`stale_invites`: people)."""
    serials = [serial for contract in usage.contracts for serial in contract.serials]
    found = attention(usage)
    return {
        "contracts": len(usage.contracts),
        "serials": len(serials),
        "seats": sum(s.seats for s in serials),
        "assigned": sum(s.assigned for s in serials),
        "free": sum(s.free for s in serials),
        "invited": sum(s.invited for s in serials),
        "full": len(found.full),
        "unused": len(found.unused),
        "stale_invites": len(found.stale),
        "renewals_due": len(found.renewals),
    }


def when_it_ends(contract: ContractUsage) -> str:
    """`ends 2027-03-31, in 120 days`, `ends today (2026-12-01)`, `ended 2026-11-20, 11 days ago`."""
    days = contract.days_left
    if contract.ends is None or days is None:
        return "no end date recorded"
    if days == 0:
        return f"ends today ({contract.ends})"
    if days > 0:
        return f"ends {contract.ends}, in {days:,} {plural(days, 'day')}"
    return f"ended {contract.ends}, {-days:,} {plural(-days, 'day')} ago"


#: How many records of each rule a plan report lists, in each part of its policy section, before it
#: only counts the rest.
LISTED = 10
#: What a report says under its policy heading when a rule blocks an action.
NOTHING_APPLIED = (
    "Nothing is applied while a rule denies an action, and no request can ask for one: change the YAML, "
    "or the rule."
)


@dataclass(frozen=True)
class RuleFindings:
    """What one rule said with one effect: its first verdicts, in plan order, and how many more."""

    rule: str
    listed: tuple[Verdict, ...]
    more: int = 0

    @property
    def count(self) -> int:
        return len(self.listed) + self.more

    @property
    def more_line(self) -> str:
        """`… and 1,234 more of many-serials`"""
        return f"… and {self.more:,} more of {self.rule}"


@dataclass(frozen=True)
class PolicyFindings:
    """What a plan's policy rules said, in the order a report shows it: see the module's docstring."""

    denied: tuple[RuleFindings, ...]
    errors: tuple[RuleFindings, ...]
    warnings: tuple[RuleFindings, ...]
    approvals: int = 0
    approvals_from: tuple[str, ...] = ()
    rules: int = 0
    records: int = 0

    def parts(self) -> tuple[tuple[str, tuple[RuleFindings, ...]], ...]:
        """Each part that holds anything, with its heading: denied, could not be evaluated, warnings."""
        named = (
            ("Denied", self.denied),
            ("Could not be evaluated", self.errors),
            ("Warnings", self.warnings),
        )
        return tuple((heading, found) for heading, found in named if found)

    @property
    def heading(self) -> str:
        """`Policy: 3 rules over 32 records`"""
        return (
            f"Policy: {self.rules:,} {plural(self.rules, 'rule')} over {self.records:,} "
            f"{plural(self.records, 'record')}"
        )

    @property
    def approvals_line(self) -> str:
        """`This plan needs 2 approving reviews (policy big-change).`, or "" when it needs none."""
        if not self.approvals:
            return ""
        rules = ", ".join(self.approvals_from)
        return (
            f"This plan needs {self.approvals:,} approving {plural(self.approvals, 'review')} "
            f"({plural(len(self.approvals_from), 'policy', 'policies')} {rules})."
        )


def policy_findings(plan: Plan, listed: int = LISTED) -> PolicyFindings | None:
    """What `plan`'s policy rules said, each rule's first `listed` records of each effect; None when the
    account has no rules, or they said nothing."""
    outcome = plan.policy
    if outcome is None or not outcome.verdicts:
        return None
    return PolicyFindings(
        denied=_by_rule([v for v in outcome.verdicts if v.effect == "deny"], listed),
        errors=_by_rule([v for v in outcome.verdicts if v.effect == "error"], listed),
        warnings=_by_rule(outcome.warnings, listed),
        approvals=outcome.required_approvals,
        approvals_from=outcome.approvals_from,
        rules=outcome.rules,
        records=outcome.records,
    )


def _by_rule(verdicts: Sequence[Verdict], listed: int) -> tuple[RuleFindings, ...]:
    """`verdicts` by rule, the rules in the order of their first verdict, each with its first `listed`."""
    found: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        found.setdefault(verdict.rule, []).append(verdict)
    return tuple(
        RuleFindings(rule, tuple(held[:listed]), max(len(held) - listed, 0)) for rule, held in found.items()
    )


def verdict_said(verdict: Verdict, name: Callable[[str], str] = str) -> str:
    """What a verdict says before its message: `deny RULE`, `warn RULE`, `RULE could not be evaluated`,
    the rule's id as `name` makes it (a code span, in markdown)."""
    if verdict.effect == "error":
        return f"{name(verdict.rule)} could not be evaluated"
    return f"{verdict.effect} {name(verdict.rule)}"


def verdict_line(verdict: Verdict) -> str:
    """`accounts/users.yaml:14:7: deny RULE: MESSAGE (RECORD)`; without its place when that is not
    known."""
    line = f"{verdict_said(verdict)}: {verdict.message} ({verdict.record})"
    return f"{verdict.place}: {line}" if verdict.place else line
