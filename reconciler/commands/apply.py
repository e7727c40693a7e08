"""Apply a plan: refuse what must not run, compose its e-mail, hand both to the store's one transaction.

The messages are composed before the transaction from the store as the plan
saw it, and written to the outbox inside it: the change and the news of it
commit together or not at all. Delivery happens afterwards (notify/).

`run_apply` is the whole of `reconciler apply`: make or read the plan, show
it, check it may run, ask, apply, deliver. Given a plan already in hand
instead of paths, it takes that plan as it is: made in this process, it is
trusted, where a saved file is checked first: its checksum (an HMAC with
RECONCILER_PLAN_KEY), then against the store (`verify_saved`). A saved plan
is known by its content, not its name (`is_saved_plan`).

Adopting (`apply PATH... --adopt`) brings an account that already lives in
the portal under git: the plan of the YAML against an empty store is shown
and asked about as any other (--auto-approve skips the question), but it is
recorded as what was already there: users active, no e-mail composed, no
request, each audit entry marked adopted. Only a reseller adopts, who may
do every action, so nothing is blocked and --request has nothing to do; an
empty store has nothing to remove, so the removal guard never trips. It
takes YAML only, and all of it: a saved plan was judged with its e-mail, and
--target would leave the rest of the account to be invited later. The store
checks again, inside the apply's transaction, that it holds no account.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from reconciler.commands.operations import placed
from reconciler.core.errors import (
    AdoptRefused,
    ApplyRefused,
    InputError,
    MassRemoval,
    PlanBlocked,
    PlanFileError,
    PlanKeyMissing,
    ReconcilerError,
    plural,
)
from reconciler.core.plan import Action, Notification, Plan
from reconciler.core.planfile import NOT_SHOWN, load_plan
from reconciler.core.records import Message, Request, Snapshot, Source, Transaction
from reconciler.core.wording import target_label
from reconciler.engine.guards import mass_removal, rejudge_removals
from reconciler.engine.integrity import check_saved
from reconciler.engine.permissions import Judgement
from reconciler.engine.planner import DEFAULT_OPTIONS, PlanOptions, judgements, make_plan, store_counts
from reconciler.engine.requests import Closing, closings, requests_of, split_blocked
from reconciler.loading import Progress, load_desired_state
from reconciler.notify.compose import DEFAULT_MAIL, MailSettings, compose_notifications
from reconciler.notify.delivery import Courier, DeliveryReport, deliver
from reconciler.notify.requests import compose_closings, compose_requests
from reconciler.store.protocol import Store


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: the store's revision after it, what it applied, queued and asked for.

    `messages` and `requests` are what the store wrote: the e-mails it queued and the requests it
    recorded. `repeated` are requests asked again that the store had on record already, and
    `already_queued` how many of the e-mails composed the outbox held already (asking again sends
    nothing new). `delivery` is what sending the queued mail afterwards did, when there was a server
    to send it to; `delivery_error` why it could not even start (the mail waits in the outbox).
    `notes` are what the store said its user should know of an apply that succeeded all the same.
    `closed` are the open requests this apply closed (made, or made moot), each requester told by
    e-mail: only those the store closed, not one another apply had closed meanwhile.
    """

    revision: int
    plan: Plan
    messages: tuple[Message, ...] = ()
    requests: tuple[Request, ...] = ()
    held_back: tuple[Action, ...] = ()
    delivery: DeliveryReport | None = None
    delivery_error: str | None = None
    notes: tuple[str, ...] = ()
    repeated: tuple[Request, ...] = ()
    already_queued: int = 0
    closed: tuple[Closing, ...] = ()


@dataclass(frozen=True)
class ApplyOptions:
    """What `apply` is told beyond the plan: the command line's options."""

    request: bool = False
    allow_mass_removal: bool = False
    #: Record the YAML as the account that already exists (see the module's docstring).
    adopt: bool = False
    #: How to plan YAML given to apply; of a saved plan, only the removal ratio counts: the applier's.
    #: A plan in hand was planned already: it is applied as it was made.
    planning: PlanOptions = DEFAULT_OPTIONS
    #: The key of saved plans' HMACs (RECONCILER_PLAN_KEY): with it, only a plan made with it applies.
    plan_key: bytes | None = field(default=None, repr=False)
    #: Where the plan came from (commit, pull request, CI run; `--source`), kept with its revision.
    source: Source | None = None


#: Apply as told nothing else: no requests, no mass removal, no adoption.
DEFAULT_APPLY = ApplyOptions()


def check_applicable(plan: Plan, actor: str, request: bool = False, allow_mass_removal: bool = False) -> None:
    """Raise unless `plan` may run as it stands: made for this actor, nothing blocked unless the
    blocked actions are to be requested, and no mass removal unless it is allowed."""
    if actor.lower() != plan.actor:
        raise ApplyRefused(
            f"the plan was made for {plan.actor}, not {actor.lower()}; "
            "permissions were judged for that actor, so make a plan of your own"
        )
    denied = [action for action in plan.actions if action.denied is not None]
    if denied:
        rules = sorted({str(action.denied) for action in denied})
        raise PlanBlocked(
            f"{len(denied)} {plural(len(denied), 'action')} of the plan break policy "
            f"{plural(len(rules), 'rule')} {', '.join(rules)}; nothing was applied: change the YAML "
            "or the rule (a request cannot ask anyone to break a rule)"
        )
    blocked = len(plan.blocked)
    if blocked and not request:
        raise PlanBlocked(
            f"{blocked} {plural(blocked, 'action')} of the plan {'is' if blocked == 1 else 'are'} blocked "
            "for lack of permission; nothing was applied (use --request to ask whoever may)"
        )
    if plan.guards and not allow_mass_removal:
        raise MassRemoval(
            "; ".join(guard.message() for guard in plan.guards)
            + ". Nothing was applied: check the YAML, and if this is meant, apply with --allow-mass-removal"
        )


def verify_saved(plan: Plan, snapshot: Snapshot) -> None:
    """Refuse a saved plan that says other than the store does now.

    A plan file is data that anyone with access to it could have edited between `plan` and
    `apply`, and its checksum stops only those who do not work it out again (anyone can, without a
    key). So the plan is checked against the store on its own: its actions in an order the
    dependency graph allows, each `before` the record as the store holds it, nothing they need
    missing (engine/integrity.py); every action judged again for the plan's actor, and its e-mail
    and removal guard worked out again; anything that differs means the file was changed.
    """
    plan.check_current(snapshot.lineage, snapshot.revision)
    check_saved(plan.actions, snapshot)
    _check_denials(plan)
    judged = judgements(plan.actions, snapshot, plan.actor)
    for saved, (fresh, mail) in zip(plan.actions, judged, strict=True):
        # A policy's denial is the YAML's to judge, not the store's: only its role is checked here,
        # and a plan with one is never applied (check_applicable).
        verdict = (saved.requires,) if saved.denied else (saved.requires, saved.permitted, saved.reason)
        if verdict != (
            (fresh.requires,) if saved.denied else (fresh.requires, fresh.permitted, fresh.reason)
        ):
            raise PlanFileError(
                f"the saved plan does not match the store: it marks {saved.kind} {dict(saved.target)} "
                f"{_verdict(saved)} for {plan.actor}, the store makes it {_verdict(fresh)}; the file was "
                f"changed after it was made; {_NOT_APPLIED}"
            )
        if saved.notifications != mail:
            raise PlanFileError(
                f"the saved plan's {saved.kind} {target_label(saved)} e-mails {_mail(saved.notifications)}, "
                f"and the store says it e-mails {_mail(mail)}: the file was changed after it was made; "
                f"{_NOT_APPLIED}"
            )
    counts = store_counts(snapshot)
    if dict(plan.store_counts) != counts or plan.guards != mass_removal(
        plan.actions, counts, plan.max_removal_ratio
    ):
        raise PlanFileError(
            "the saved plan's removal guard does not match the store; the file was changed after it "
            f"was made; {_NOT_APPLIED}"
        )


_NOT_APPLIED = "nothing was applied: make the plan again with `reconciler plan --out`"


def _check_denials(plan: Plan) -> None:
    """Refuse a saved plan whose policy section denies an action that the action itself does not say
    is denied: the store cannot judge the YAML's rules, but the file must agree with itself."""
    if plan.policy is None:
        return
    for verdict in plan.policy.verdicts:
        if verdict.blocks and any(
            not 0 <= index < len(plan.actions) or plan.actions[index].denied is None
            for index in verdict.actions
        ):
            raise PlanFileError(
                f"the saved plan's policy {verdict.rule} blocks actions on {verdict.record} that the plan "
                f"does not mark denied: the file was changed after it was made; {_NOT_APPLIED}"
            )


def _verdict(judged: Action | Judgement) -> str:
    return "permitted" if judged.permitted else f"blocked (needs {judged.requires})"


def _mail(notifications: tuple[Notification, ...]) -> str:
    return ", ".join(f"{n.to} ({n.event})" for n in notifications) or "nobody"


#: How a saved plan begins: `write_plan` writes its keys sorted, and `actions` sorts first.
_PLAN_START = b'{\n  "actions": ['
#: How much of a file is read to tell a saved plan from YAML.
_HEAD = 4096


def is_saved_plan(paths: Sequence[str]) -> bool:
    """Whether `apply` was given a plan saved by `plan --out` rather than desired-state YAML: one file
    that holds a JSON object with `format_version` or `actions` (which no desired-state file has: its
    schema has no such field), whatever its name. A file that begins as `write_plan` writes one is
    known from its first bytes; one that merely begins with `{` is read whole as JSON."""
    if len(paths) != 1:
        return False
    try:
        with open(paths[0], "rb") as file:
            head = file.read(_HEAD)
            start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
            if start.startswith(_PLAN_START):
                return True
            if not start.startswith(b"{"):
                return False
            data = json.loads(head + file.read())
    except (OSError, ValueError):  # not a file, or not JSON: YAML's loader says what is wrong with it
        return False
    return isinstance(data, dict) and ("format_version" in data or "actions" in data)


def read_saved_plan(path: str, key: bytes | None = None) -> Plan:
    """The plan saved at `path`, its checksum checked (an HMAC with `key`); raises PlanFileError or
    InputError."""
    return load_plan(_read(path), path, key)


def read_plan_to_show(path: str, key: bytes | None = None) -> tuple[Plan, bool]:
    """The plan saved at `path` for `show`, and whether its checksum was checked: a plan made with a
    key, read where there is none, is shown unchecked (apply checks it). Raises PlanFileError for one
    whose checksum does not match."""
    text = _read(path)
    try:
        return load_plan(text, path, key, refused=NOT_SHOWN), True
    except PlanKeyMissing:
        return load_plan(text, path, key, refused=NOT_SHOWN, unkeyed=True), False


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise PlanFileError(f"{path}: not a saved plan: it is not UTF-8 ({error.reason})") from None


def prepare(
    store: Store,
    source: Sequence[str] | Plan,
    actor: str,
    options: ApplyOptions,
    snapshot: Snapshot | None = None,
    reading: Progress | None = None,
) -> tuple[Plan, Snapshot | None]:
    """The plan to apply, and the store it was judged against when that is known: a plan in hand as
    it is, the saved plan at `source` checked against the store, or a new plan of the YAML there.
    `snapshot`, the store as the caller last read it, saves reading it again."""
    if options.adopt:
        _check_adopt_options(source, options)
    if isinstance(source, Plan):
        return source, snapshot
    if not is_saved_plan(source):
        snapshot = store.snapshot() if snapshot is None else snapshot
        plan = make_plan(load_desired_state(source, reading), snapshot, actor, options.planning)
        return placed(plan, source), snapshot
    if options.planning.unmanaged or options.planning.targets:
        raise InputError("--unmanaged and --target shape a new plan; a saved plan already has its own")
    saved = read_saved_plan(source[0], options.plan_key)
    snapshot = store.snapshot() if snapshot is None else snapshot
    verify_saved(saved, snapshot)
    # The share of removals allowed is the applier's to set, never the file's.
    return rejudge_removals(saved, options.planning.max_removal_ratio), snapshot


def _check_adopt_options(source: Sequence[str] | Plan, options: ApplyOptions) -> None:
    """Refuse what --adopt does not go with: a saved plan, --target and --request."""
    if not isinstance(source, Plan) and is_saved_plan(source):
        raise InputError(
            f"--adopt takes the desired-state YAML, not a saved plan ({source[0]}): a saved plan was judged "
            "to be applied with its e-mail. Run `reconciler apply PATH... --adopt` on the YAML itself"
        )
    if options.planning.targets:
        raise InputError(
            "--adopt records the whole desired state: with --target the rest would be applied later, and "
            "its users invited. Drop --target"
        )
    if options.request:
        raise InputError(
            "--adopt and --request do not go together: only a reseller adopts, and a reseller may do "
            "every action, so nothing is blocked to request. Drop --request"
        )


def check_adoptable(snapshot: Snapshot, actor: str, where: str) -> None:
    """Raise AdoptRefused unless the store `snapshot` shows holds no account and `actor` is one of its
    resellers (the store checks again inside the apply's transaction)."""
    state = snapshot.state
    counts = {"users": len(state.users), "contracts": len(state.contracts), "teams": len(state.teams)}
    AdoptRefused.unless_adoptable(where, actor, snapshot.resellers, counts)


def as_adoption(plan: Plan) -> Plan:
    """`plan` as `apply --adopt` records it: the same actions, none of them telling anyone."""
    return replace(plan, actions=tuple(replace(action, notifications=()) for action in plan.actions))


def run_apply(
    store: Store,
    source: Sequence[str] | Plan,
    actor: str,
    options: ApplyOptions = DEFAULT_APPLY,
    *,
    snapshot: Snapshot | None = None,
    show: Callable[[Plan], None] | None = None,
    approve: Callable[[Plan], None] | None = None,
    mail: MailSettings = DEFAULT_MAIL,
    courier: Courier | None = None,
    reading: Progress | None = None,
    writing: Progress | None = None,
    sending: Progress | None = None,
) -> ApplyResult:
    """`reconciler apply`, whole: the plan of `source` (YAML or a saved plan at those paths, or a plan
    in hand) is shown, checked for `actor`, approved (`approve` raises ApplyRefused to stop), applied
    all of it or nothing with its e-mail queued in the same transaction, and its mail sent through
    `courier` if given. Without `show` and `approve`, nothing is shown and the plan is approved.

    With `options.request`, blocked actions (and what waits on them) are not applied but sent as
    requests to the people who may perform them. With `options.adopt`, the plan is recorded as the
    account that already exists (see the module's docstring). `snapshot`, the store as the caller
    last read it (for a plan in hand: as the plan was made from it), saves reading it again; the
    store itself refuses, unchanged, a plan it has moved on from (StalePlan). The progress callbacks
    hear of reading the YAML, writing the actions and sending the mail.
    """
    plan, snapshot = prepare(store, source, actor, options, snapshot, reading)
    if options.adopt:  # refused before it is shown and asked about, not after
        check_adoptable(store.snapshot() if snapshot is None else snapshot, actor, store.url)
        plan = as_adoption(plan)
    if show:
        show(plan)
    check_applicable(plan, actor, options.request, options.allow_mass_removal)
    if not plan.actions:
        return ApplyResult(plan.revision, plan)
    if approve:
        approve(plan)
    applied = _apply(store, plan, snapshot, options, mail, writing)
    if courier is None or not applied.messages:
        return applied
    try:
        return replace(applied, delivery=deliver(store, courier, sending))
    except ReconcilerError as error:  # the apply has committed: its mail waits in the outbox
        return replace(applied, delivery_error=str(error))


def _apply(
    store: Store,
    plan: Plan,
    snapshot: Snapshot | None,
    options: ApplyOptions,
    mail: MailSettings,
    progress: Progress | None,
) -> ApplyResult:
    """Apply a plan already checked; the store refuses it, unchanged, if it has moved on since."""
    if options.adopt:  # nobody hears of an adoption; the store checks, in its transaction, that it may adopt
        said: list[str] = []
        written = store.apply(
            Transaction(plan, adopt=True, progress=progress, notice=said.append, source=options.source)
        )
        return ApplyResult(written.revision, plan, notes=tuple(said))
    if snapshot is None or (snapshot.lineage, snapshot.revision) != (plan.lineage, plan.revision):
        snapshot = store.snapshot()
    runnable = plan
    requests: list[Request] = []
    held_back: tuple[Action, ...] = ()
    if options.request and plan.blocked:
        split = split_blocked(plan, snapshot)
        runnable, held_back = split.runnable, split.held_back
        requests = requests_of(plan, snapshot, datetime.now(UTC).date().isoformat())
    messages = compose_notifications(runnable, snapshot, runnable.revision_after, mail)
    messages += compose_requests(plan, requests, snapshot, mail, options.source)
    # Requests asked before that this apply makes, or makes moot: closed with it, each requester told. The
    # snapshot's: a request recorded since is closed by a later apply (the store closes only what is open).
    asked = {r.request.key: r for r in snapshot.open_requests} if runnable.actions else {}
    closing = closings([r.request for r in asked.values()], runnable.actions)
    messages += compose_closings(closing, asked, runnable, snapshot, mail, options.source)
    notes: list[str] = []
    written = store.apply(
        Transaction(
            runnable,
            messages,
            requests,
            progress=progress,
            notice=notes.append,
            closes=[c.closure for c in closing],
            source=options.source,
        )
    )
    closed = set(written.closed)
    return ApplyResult(
        written.revision,
        runnable,
        written.queued,
        written.recorded,
        held_back,
        notes=tuple(notes),
        repeated=tuple(request for request in requests if request not in written.recorded),
        already_queued=len(messages) - len(written.queued),
        closed=tuple(c for c in closing if c.request.key in closed),
    )
