"""Plain records that every layer shares: what a store reads and keeps, what mail is, what drift found.

Nothing here decides anything; it is data passed between the engine, the
store, notify and the reports, so that none of them has to import another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.kinds import TARGET_KEYS, Kind, Record
from reconciler.core.model import DesiredState, Grants, effective_access
from reconciler.core.plan import Action, Plan

#: Reports how much of a long piece of work is done: (done, total).
Progress = Callable[[int, int], None]

#: Hears something its user should know about work that succeeded all the same (one sentence).
Note = Callable[[str], None]

#: A user's status while they have not signed in yet (R7); then the store makes it `active`.
INVITED = "invited"
#: A user who has signed in, or who was adopted (`apply --adopt`: already in the portal).
ACTIVE = "active"


@dataclass(frozen=True)
class Snapshot:
    """The store at one revision, read in one transaction.

    `state` is the account in the same model as the YAML; what only the
    store knows (who the resellers are, which users are still invited)
    sits beside it. `user_added` is when each user was added, as ISO 8601 in UTC.
    `grants` is the effective access the store keeps (what a serial's seats
    count); by default, what `state`'s direct and team grants give.
    """

    lineage: str
    revision: int
    resellers: frozenset[str]
    state: DesiredState
    user_status: Mapping[str, str] = field(default_factory=dict)
    user_added: Mapping[str, str] = field(default_factory=dict)
    grants: Grants = None  # type: ignore[assignment]  # filled in below when not given
    #: The requests no apply has closed yet, oldest first: an apply closes those it makes or makes moot.
    open_requests: tuple[RecordedRequest, ...] = ()

    def __post_init__(self) -> None:
        if self.grants is None:
            object.__setattr__(self, "grants", effective_access(self.state))


class Chore(StrEnum):
    """What the audit log records beside a plan's actions: the store administered by a command of its
    own, not by a plan (`users activate`, `resellers add|remove`)."""

    USER_ACTIVATE = "user.activate"
    RESELLER_ADD = "reseller.add"
    RESELLER_REMOVE = "reseller.remove"


@dataclass(frozen=True)
class Source:
    """Where a change came from, as far as it is known: the `commit` (its hash) and a link to it, the
    `pull_request` it was merged from (a link), the CI `run` that applied it (a link), and what the
    person applying it said (`apply --source TEXT`)."""

    commit: str | None = None
    commit_url: str | None = None
    pull_request: str | None = None
    run: str | None = None
    text: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The fields that are known, by name: how the store keeps a source (as JSON)."""
        return {name: value for name, value in vars(self).items() if value}

    @property
    def known(self) -> bool:
        return bool(self.as_dict())

    def describe(self) -> str:
        """One line: `commit 1a2b3c4d (PR https://…/pull/7) deploy of Monday`; empty when unknown."""
        parts = []
        if self.commit:
            parts.append(f"commit {self.commit[:12]}")
        if self.pull_request:
            parts.append(f"pull request {self.pull_request}")
        elif self.commit_url:
            parts.append(self.commit_url)
        if self.run:
            parts.append(f"run {self.run}")
        if self.text:
            parts.append(self.text)
        return ", ".join(parts)


@dataclass(frozen=True)
class AuditEntry:
    """One action as an apply ran it, from the audit log; `adopted` when `apply --adopt` recorded
    the record as already there (no one was told), rather than made it. A `Chore` is the store
    administered outside a plan: a user's sign-in, a reseller added or removed."""

    kind: Kind | Chore
    target: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    adopted: bool = False


@dataclass(frozen=True)
class Applied:
    """One apply: the revision it made, who ran it, when (ISO 8601, UTC), what it changed and, when
    known, where the change came from. A chore (`users activate`) is listed the same way, at the
    revision the store was at: activating a user does not move the revision."""

    revision: int
    actor: str
    at: str
    changes: tuple[AuditEntry, ...]
    source: Source | None = None

    @property
    def adopted(self) -> bool:
        """Whether this apply adopted an account (`apply --adopt`): its entries record what was there."""
        return bool(self.changes) and all(change.adopted for change in self.changes)


#: The two kinds of message in the outbox.
NOTIFICATION = "notification"
REQUEST = "request"


@dataclass(frozen=True)
class Message:
    """One e-mail to one person from `sender`: a plain-text body and an HTML alternative.

    Composed before an apply and written to the store's outbox in the apply's
    own transaction: everything that makes the e-mail is fixed then. It is
    turned into MIME when it is delivered, the same bytes each time.
    """

    message_id: str
    to: str
    subject: str
    text: str
    html: str
    sender: str
    kind: str = NOTIFICATION


#: The states of a message in the outbox (OutboxEntry.status).
QUEUED = "queued"
UNCERTAIN = "uncertain"
SENT = "sent"


@dataclass(frozen=True)
class OutboxEntry:
    """A message in the store's outbox, with its delivery record.

    It is `queued` until a server accepted it (`sent_at`), unless a delivery
    lost the server's answer after the whole message went out: then it is
    `uncertain` since then (the server may have it), and only a resend asked
    for queues it again.
    """

    id: int
    message: Message
    revision: int
    created_at: str
    attempts: int = 0
    last_error: str | None = None
    sent_at: str | None = None
    uncertain_since: str | None = None

    @property
    def queued(self) -> bool:
        """Whether `notify` sends it: neither sent nor uncertain."""
        return self.sent_at is None and self.uncertain_since is None

    @property
    def uncertain(self) -> bool:
        return self.sent_at is None and self.uncertain_since is not None

    @property
    def status(self) -> str:
        """`queued`, `uncertain` or `sent`."""
        return SENT if self.sent_at is not None else UNCERTAIN if self.uncertain_since else QUEUED


@dataclass(frozen=True)
class OutboxCounts:
    """The queue as it stands: messages `queued` that nobody holds, and those `held` by a delivery
    (its claim lasts until `held_until` at the latest, ISO 8601), which is sending them now."""

    queued: int = 0
    held: int = 0
    held_until: str | None = None


@dataclass(frozen=True)
class Request:
    """A blocked action sent to the people who may perform it; `key` records it once."""

    key: str
    requester: str
    kind: Kind
    target: dict[str, str]
    before: dict[str, object] | None
    after: dict[str, object] | None
    requested_of: tuple[str, ...]

    def as_action(self) -> Action:
        """The action it asks for, so that it is worded and compared as a plan's."""
        return Action(self.kind, self.target, self.before, self.after)


#: How a request is closed: a later apply made the change it asked for, or made it moot (removed its
#: target, or made another change of the same kind to it).
MADE, MOOT = "applied", "moot"


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the store keeps it: when and at which revision it was asked, and whether it is
    still `open`, or was closed (`outcome` MADE or MOOT) by the apply that made `closed_revision`."""

    request: Request
    revision: int
    requested_at: str
    outcome: str | None = None
    closed_revision: int | None = None
    closed_at: str | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class Closure:
    """An open request that an apply closes, and how (MADE or MOOT)."""

    key: str
    outcome: str


@dataclass(frozen=True)
class Activation:
    """What `users activate` did: the users it made active, those already active, and the addresses
    the store does not know (each lower-cased, in the order given, once)."""

    activated: tuple[str, ...] = ()
    already_active: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResellersChanged:
    """What `resellers add|remove` did: the `revision` the store is at after it (one more when anything
    changed), the `resellers` it has now, and which addresses were `added` and `removed`."""

    revision: int
    resellers: tuple[str, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transaction:
    """What one apply writes in one transaction, all of it or none: the plan's actions, the `outbox`
    (their e-mail) and the `requests` (blocked actions asked of whoever may do them). The audit log
    names the plan's actor; with `adopt` (`apply --adopt`), the actions record an account that
    already exists.

    `progress` hears how many actions are written, (done, total); `notice` what the user should know
    of an apply that succeeded all the same. Neither is written.
    """

    plan: Plan
    outbox: Sequence[Message] = ()
    requests: Sequence[Request] = ()
    adopt: bool = False
    progress: Progress | None = None
    notice: Note | None = None
    #: Open requests this apply closes; one closed meanwhile by another apply is left as it is.
    closes: Sequence[Closure] = ()
    #: Where the plan came from (commit, pull request), kept with the revision it makes.
    source: Source | None = None

    def __post_init__(self) -> None:
        # Kept as tuples: a caller's list changed afterwards does not change what is written.
        object.__setattr__(self, "outbox", tuple(self.outbox))
        object.__setattr__(self, "requests", tuple(self.requests))
        object.__setattr__(self, "closes", tuple(self.closes))

    @property
    def actor(self) -> str:
        """Who the apply is recorded as: the actor the plan was judged for."""
        return self.plan.actor


@dataclass(frozen=True)
class Written:
    """What one apply wrote: the store's `revision` after it, the messages it `queued` and the requests
    it `recorded`. A message or request the store held already is in neither (the store keeps each
    once), so these say what asking again really did; each is in the order the transaction gave."""

    revision: int
    queued: tuple[Message, ...] = ()
    recorded: tuple[Request, ...] = ()
    #: The keys of the requests it closed (those still open when it ran).
    closed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    """One record the store and git disagree on.

    `store` is the record as the store has it, None when only git has it;
    `git` the record as the YAML declares it, None when only the store has
    it. For a record in both, each holds only the fields that differ.
    """

    record: Record
    target: Mapping[str, str]
    store: Mapping[str, Any] | None
    git: Mapping[str, Any] | None

    def sort_key(self) -> tuple[int, tuple[str, ...]]:
        return _RECORD_RANK[self.record], tuple(self.target.get(k, "") for k in TARGET_KEYS)


_RECORD_RANK = {record: rank for rank, record in enumerate(Record)}


@dataclass(frozen=True)
class StaleInvite:
    """A user still invited, and since when (ISO 8601, as the store has it)."""

    user: str
    invited_at: str


@dataclass(frozen=True)
class Drift:
    """The store at one revision compared with git."""

    lineage: str
    revision: int
    only_in_store: tuple[Difference, ...] = ()
    only_in_git: tuple[Difference, ...] = ()
    differ: tuple[Difference, ...] = ()
    stale_invites: tuple[StaleInvite, ...] = ()
    stale_after_days: int | None = None
    #: The product of each serial the differences name (the store's, or git's for a serial only in git),
    #: for reports that name the product beside a serial.
    products: Mapping[str, str] = field(default_factory=dict)
    #: What the store still holds after its last day (`expires` before the drift's day): a plan removes it.
    expired: tuple[Expiring, ...] = ()

    @property
    def found(self) -> bool:
        """Whether there is anything to report (and `drift` exits 2)."""
        return bool(
            self.only_in_store or self.only_in_git or self.differ or self.stale_invites or self.expired
        )

    def summary(self) -> dict[str, int]:
        return {
            "only_in_store": len(self.only_in_store),
            "only_in_git": len(self.only_in_git),
            "differ": len(self.differ),
            "stale_invites": len(self.stale_invites),
            "expired": len(self.expired),
        }


@dataclass(frozen=True)
class SerialUsage:
    """How one serial's seats are used: `assigned` users have access (each counts once, R8), of whom
    `invited` have not signed in yet; `stale_invites` lists those invited `Usage.stale_after_days` or
    more ago (empty when not asked)."""

    number: str
    product: str
    group: str | None
    coordinator: str
    seats: int
    assigned: int
    invited: int
    stale_invites: tuple[StaleInvite, ...] = ()

    @property
    def free(self) -> int:
        """Seats nobody uses (never below 0: a store may hold more users than seats after a cut)."""
        return max(self.seats - self.assigned, 0)

    @property
    def full(self) -> bool:
        return self.assigned >= self.seats


@dataclass(frozen=True)
class ContractUsage:
    """One contract before its renewal: when it ends, how many days are left as of `Usage.today`
    (negative once it has ended), whether that is within `Usage.renewal_days`, and its serials."""

    number: str
    manager: str
    ends: str | None
    days_left: int | None
    renewal_due: bool
    serials: tuple[SerialUsage, ...] = ()


@dataclass(frozen=True)
class Usage:
    """The seat and renewal report of a store at one revision, as of `today` (ISO date)."""

    lineage: str
    revision: int
    today: str
    renewal_days: int
    stale_after_days: int | None
    contracts: tuple[ContractUsage, ...] = ()
    #: `usage --expiring DAYS`: what ends within that many days of `today`, and what the store still
    #: holds past its day, by date (empty unless asked for: `expiring_days` None).
    expiring_days: int | None = None
    expiring: tuple[Expiring, ...] = ()


@dataclass(frozen=True)
class Named:
    """A person as a user's overview names them: by address, with their name where the store has it."""

    email: str
    name: str | None = None


@dataclass(frozen=True)
class ServedSerial:
    """A serial as a user's overview shows it: its product, contract and group, and who coordinates it
    (R4: its Software Coordinator, or the contract's Manager when it has none: `by_manager`)."""

    number: str
    product: str
    contract: str
    group: str | None
    coordinator: Named
    by_manager: bool = False


@dataclass(frozen=True)
class Expiring:
    """An entry the store holds until a day, as of another day.

    `record` says what the date stands on: a user's own grant (`access`; `target` names the `user`,
    `serial` and `contract`), a team membership (`team_member`: `team`, `user`) or the user themselves
    (`user`). `expires` is the last day it lasts (ISO 8601); `days_left` counts to it: 0 on that day,
    negative once it has passed, when the next plan removes it. `serials` are what ends with it, each
    with its product, contract, group and coordinator (R4): the grant's serial, the team's serials,
    or every serial the user holds. `kept` names those of them the user keeps afterwards all the same,
    through another source (a team, their own grant).
    """

    record: Record
    target: Mapping[str, str]
    expires: str
    days_left: int
    serials: tuple[ServedSerial, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def user(self) -> str:
        return self.target["user"]

    @property
    def coordinators(self) -> tuple[str, ...]:
        """Who coordinates what ends, each once, sorted: each serial's SC, or its contract's CM (R4)."""
        return tuple(sorted({serial.coordinator.email for serial in self.serials}))

    def sort_key(self) -> tuple[str, int, tuple[str, ...]]:
        """By date, then by what the date stands on, as drift orders records, then by target."""
        return self.expires, _RECORD_RANK[self.record], tuple(self.target.get(k, "") for k in TARGET_KEYS)


#: Who hears of an expiry ahead of it (`Reminder.role`): the person whose entry it is, and the
#: coordinator of what ends with it.
HOLDER, COORDINATOR = "user", "coordinator"


@dataclass(frozen=True)
class Reminder:
    """One reminder due: `expiring` ends in `expiring.days_left` days, within the `mark` (a number of
    days before its date, as `remind --days` gives them), and `to` hears of it as the entry's holder or
    as a coordinator of what ends (`role`)."""

    expiring: Expiring
    mark: int
    to: str
    role: str


@dataclass(frozen=True)
class Reminded:
    """What `remind` did at the store's `lineage` and `revision` (which reminders do not move), on
    `today` at `marks` (days before an expiry, smallest first): the reminders due, those it `queued`
    and those the outbox held `already` (queued by an earlier run), each in the order of the entries."""

    lineage: str
    revision: int
    today: str
    marks: tuple[int, ...]
    queued: tuple[Reminder, ...] = ()
    already: tuple[Reminder, ...] = ()

    def counts(self) -> dict[int, tuple[int, int]]:
        """By mark, largest first: how many reminders were queued, and how many were queued already."""
        return {
            mark: (
                sum(1 for r in self.queued if r.mark == mark),
                sum(1 for r in self.already if r.mark == mark),
            )
            for mark in sorted(self.marks, reverse=True)
        }


@dataclass(frozen=True)
class HeldGrant:
    """A user's effective access to one serial, and why: `via` its sources (`direct`, `team:NAME`),
    sorted; `download` when any source gives it, `download_via` those that do; `direct_download` the
    user's own grant's download, None when they have no grant of their own."""

    serial: ServedSerial
    download: bool
    via: tuple[str, ...]
    download_via: tuple[str, ...] = ()
    direct_download: bool | None = None


@dataclass(frozen=True)
class Coordinating:
    """A user's Software Coordinator role on one contract: its Manager, whether they may manage users
    (R6), where their media is shipped (`name`, `address`, `country`) and the serials named theirs."""

    contract: str
    manager: Named
    manage_users: bool
    shipping: Mapping[str, str] | None = None
    serials: tuple[ServedSerial, ...] = ()


@dataclass(frozen=True)
class Membership:
    """A team a user is a member of."""

    team: str
    description: str | None = None


@dataclass(frozen=True)
class UserOverview:
    """What one user has, and why (`users show`), from the store at one revision: who they are, their
    roles (reseller; Contract Manager of `manages`; Software Coordinator), their teams, each effective
    grant with its sources, and the last applies that concerned them, newest first (each with only
    its entries about them)."""

    lineage: str
    revision: int
    email: str
    first_name: str | None
    last_name: str | None
    status: str
    added_at: str | None = None
    directory_id: str | None = None
    protected: bool = False
    reseller: bool = False
    manages: tuple[str, ...] = ()
    coordinates: tuple[Coordinating, ...] = ()
    teams: tuple[Membership, ...] = ()
    grants: tuple[HeldGrant, ...] = ()
    history: tuple[Applied, ...] = ()

    @property
    def name(self) -> str | None:
        """`First Last`, or None when the store has no names for them."""
        names = [part for part in (self.first_name, self.last_name) if part]
        return " ".join(names) or None
