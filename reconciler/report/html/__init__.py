"""Plans, drifts and seat reports as one self-contained HTML page: to open, print and forward.

For the people who review a licence change without a terminal (a manager
approving a pull request, a reseller's account manager). One file with its
CSS inline, no script and a Content-Security-Policy that forbids every
request (`default-src 'none'`), so it opens offline and cannot call out;
light or dark by the reader's setting, readable on a phone, printable.

The pages are Jinja2 templates (templates/*.html.j2, one base layout; each
report's store line and body in templates/parts/, so that report/accounts.py
can put many reports on one page) with autoescaping on for every template, so
everything users wrote is HTML-escaped wherever it is printed, and
StrictUndefined, so a misspelt field fails instead of printing nothing. On
top of escaping, every printed value passes `characters.scrub` (as the text
and markdown reports do): a name with a control character or a bidi override
cannot reorder or hide what is shown. The functions here only arrange data
for the templates; wording and grouping come from the shared modules
(core/wording.py, report/grouping.py, report/text.py).

Every field users wrote is printed in a <bdi> of its own, so that each is
laid out in its own direction and none reorders its neighbours: joined in one
run of text, a Hebrew first name and an Arabic last name that starts with
digits are shown last name first. A field printed alone goes through the
`bdi` filter. A line the shared wording joins (an action's target and
detail, a drift line, a note) is worded from records whose strings are
scrubbed and put between FSI and PDI marks (`_Marks`), and the marks become
<bdi> elements once the line is escaped (`_lines`): scrubbing replaces any
such mark users wrote, so each mark left is one of ours, and a mark without
its pair shows as U+FFFD. The reasons of blocked actions are the engine's
sentences, each in a table cell of its own, and printed as they are.

Each action leads with a sentence a manager reads (`wording.sentence`: "Give
Carol Smith access to AutoCAD (serial 399-12345678), with downloads"), from
the plan's `products` and `user_names`, marked as the rest is; its kind and
target, as the other reports name them, follow in small print for reviewers.
An action that takes away what expired says so in its sentence ("(expired
2027-01-15)"), and is listed again, with its last day, in the plan's section
of what expired. What the account's policy rules said comes before the
blocked actions (parts/policy.html.j2; report/attention.py decides it), and
the actions a rule denies are told there, by their records, not among those
the actor may not perform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from reconciler.core.characters import REPLACEMENT, scrub
from reconciler.core.errors import plural
from reconciler.core.kinds import Kind
from reconciler.core.model import DIRECT, TEAM_SOURCE
from reconciler.core.plan import Action, Plan
from reconciler.core.records import Difference, Drift, Expiring, SerialUsage, Usage
from reconciler.core.wording import ROLE_NAMES, sentence, target_label
from reconciler.report import grouping
from reconciler.report.attention import (
    NOTHING_APPLIED,
    PolicyFindings,
    RuleFindings,
    attention,
    policy_findings,
    totals,
    verdict_said,
    when_it_ends,
)
from reconciler.report.expiring import COLUMNS as EXPIRING_COLUMNS
from reconciler.report.expiring import EXPIRED_HEADING, expiring_rows
from reconciler.report.fitting import FOLD_AFTER
from reconciler.report.notes import plan_notes
from reconciler.report.text import DRIFT_SECTIONS, SYMBOLS, action_detail, drift_line

#: The page's policy: nothing may be fetched, only inline styles and data: images apply.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _scrubbed(value: Any) -> Any:
    """Every value a template prints, before it is escaped: refused characters replaced (U+FFFD)."""
    if isinstance(value, Markup):  # the templates' own markup (a macro's output), already safe
        return value
    return scrub(str(value))


#: FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, put around each string users wrote in a line that
#: the shared wording joins, and printed as <bdi> and </bdi>; `scrub` replaces any a user wrote.
_OPEN, _CLOSE = "\u2068", "\u2069"


def _bdi(value: Any) -> Markup:
    """A field users wrote, printed alone: scrubbed, escaped, in a <bdi> of its own."""
    return Markup("<bdi>%s</bdi>") % scrub(str(value))


class _Marks:
    """Marks what users wrote in records and targets: each string scrubbed, between FSI and PDI.
    A grant's sources (`via`) are ours but for a team's name. The actions of a plan share strings
    and records (equal grants share one), so each is marked once."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        # By id, each kept with its record, so that the id stays that record's while this lasts.
        self._records: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = {}

    def __call__(self, value: Any, key: str = "") -> Any:
        """`value` (a string, a record, a list of them, or anything else as it is) marked."""
        if isinstance(value, str):
            if key == "via":
                return self._source(value)
            return self._string(value)
        if isinstance(value, Mapping):
            return self._record(value)
        if isinstance(value, list | tuple):
            return type(value)(self(item, key) for item in value)
        return value

    def _string(self, text: str) -> str:
        marked = self._strings.get(text)
        if marked is None:
            marked = self._strings[text] = f"{_OPEN}{scrub(text)}{_CLOSE}"
        return marked

    def _source(self, source: str) -> str:
        if source.startswith(TEAM_SOURCE):
            return TEAM_SOURCE + self._string(source.removeprefix(TEAM_SOURCE))
        return source if source == DIRECT else self._string(source)

    def _record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        known = self._records.get(id(record))
        if known is None:
            # Most values are strings, flags and counts: those first, without a call each.
            marked = {
                scrub(name): self._string(value)
                if type(value) is str and name != "via"
                else value
                if type(value) in (bool, int)
                else self(value, name)
                for name, value in record.items()
            }
            known = self._records[id(record)] = (record, marked)
        return known[1]

    def action(self, action: Action) -> Action:
        """`action` with what users wrote in it marked, to be worded as the other reports word it."""
        strings = self._strings
        return Action(
            action.kind,
            {key: strings.get(value) or self._string(value) for key, value in action.target.items()},
            None if action.before is None else self._record(action.before),
            None if action.after is None else self._record(action.after),
            action.requires,
            action.permitted,
            action.reason,
            action.notifications,
            expired=action.expired,
        )


def _lines(text: str) -> Markup:
    """A line worded from values `_Marks` marked: scrubbed and escaped, each marked value in a <bdi>.
    A mark that pairs with none (a plan file edited past validation) shows as U+FFFD: the elements
    are always whole, one after another. (Escaping leaves the marks and what scrub replaces alone.)"""
    first, *parts = str(escape(text)).split(_OPEN)
    html = [scrub(first)]
    for part in parts:
        inside, closed, after = part.partition(_CLOSE)
        html.append(f"<bdi>{scrub(inside)}</bdi>{scrub(after)}" if closed else REPLACEMENT + scrub(part))
    return Markup("".join(html))


_ENV = Environment(
    loader=PackageLoader("reconciler.report.html", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    finalize=_scrubbed,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# Our constant, printed as it is written (escaping would write its quotes as entities).
_ENV.globals.update(csp=Markup(CONTENT_SECURITY_POLICY), fold_after=FOLD_AFTER, plural=plural)
_ENV.filters["bdi"] = _bdi


def render(template: str, **context: Any) -> str:
    """A template of templates/ with `context`: escaped, scrubbed, as every page here is."""
    return _ENV.get_template(template).render(**context)


@dataclass(frozen=True)
class Part:
    """A report as part of a bigger page (report/accounts.py): its title, the line under the title that
    names the store, and its body, each rendered as on the report's own page."""

    title: str
    meta: Markup
    body: Markup


def _part(name: str, context: dict[str, Any]) -> Part:
    """The parts of `name`'s page (parts/NAME_meta, parts/NAME_body), from the context of its page."""
    return Part(
        context["title"],
        Markup(render(f"parts/{name}_meta.html.j2", **context)),
        Markup(render(f"parts/{name}_body.html.j2", **context)),
    )


@dataclass(frozen=True)
class _Row:
    """One action as a table row: its symbol and effect (for colour), the sentence a manager reads
    (products and names in it), then for a reviewer its kind and target as the other reports name
    them, and what it changes."""

    symbol: str
    effect: str
    sentence: Markup
    kind: str
    target: Markup
    detail: Markup
    blocked: bool


@dataclass(frozen=True)
class _Labels:
    """A plan's products and people's names, marked as what users wrote is (`_Marks`), by their
    marked serial number and e-mail: the keys of a marked action's target."""

    products: dict[str, str]
    names: dict[str, str]

    @classmethod
    def of(cls, plan: Plan, marks: _Marks) -> _Labels:
        return cls(
            {marks(serial): marks(product) for serial, product in plan.products.items()},
            # First and last name each in a <bdi> of its own, as wherever a name is printed.
            {
                marks(email): f"{marks(first)} {marks(last)}"
                for email, (first, last) in plan.user_names.items()
            },
        )


def _row(action: Action, marks: _Marks, labels: _Labels) -> _Row:
    worded = marks.action(action)
    return _Row(
        SYMBOLS[action.effect],
        str(action.effect),
        _lines(sentence(worded, labels.products, labels.names)),
        str(action.kind),
        _lines(target_label(worded)),
        _lines(action_detail(worded)),
        not action.permitted,
    )


def plan_html(plan: Plan) -> str:
    """The plan as a page: summary and blocked actions first, then groups as the markdown report's."""
    return render("plan.html.j2", **_plan_context(plan))


def plan_part(plan: Plan) -> Part:
    """The plan as part of another page: what `plan_html` shows between its title and its footer."""
    return _part("plan", _plan_context(plan))


def _plan_context(plan: Plan) -> dict[str, Any]:
    counts = plan.summary()
    heard = grouping.who_hears(plan)
    marks = _Marks()
    labels = _Labels.of(plan, marks)
    sections = [
        {
            "heading": _lines(section.heading(marks(section.name))),
            "blocks": [
                {
                    "title": str(block.title),
                    "is_kind": isinstance(block.title, Kind),
                    "effects": grouping.effects(block.actions),
                    "rows": [_row(a, marks, labels) for a in block.actions],
                }
                for block in section.blocks
            ],
        }
        for section in grouping.plan_sections(plan.actions)
    ]
    blocked = [
        {
            "row": _row(a, marks, labels),
            "needs": ROLE_NAMES[a.requires],
            "reason": a.reason or "",
        }
        for a in plan.blocked
        if a.denied is None  # the policy section tells those, by their records
    ]
    expired = [{"row": _row(a, marks, labels), "day": a.expired} for a in grouping.expired(plan.actions)]
    mail = [(person, grouping.events_heard(events)) for person, events in heard]
    headline = grouping.plan_headline(counts)
    return dict(
        title=f"reconciler plan: {headline}",
        plan=plan,
        counts=counts,
        people=len(heard),
        notes=[replace(note, text=_lines(note.text)) for note in plan_notes(_noted(plan, marks))],
        policy=_policy(policy_findings(plan)),
        blocked=blocked,
        expired=expired,
        expired_heading=grouping.expired_heading(len(expired)),
        sections=sections,
        mail=mail,
    )


def _policy(found: PolicyFindings | None) -> dict[str, Any] | None:
    """What parts/policy.html.j2 shows: the heading, what to do when a rule blocks, each part (denied,
    could not be evaluated, warnings) with its count and rows (`_rule_rows`), and the approvals line."""
    if found is None:
        return None
    return dict(
        heading=found.heading,
        advice=NOTHING_APPLIED if found.denied or found.errors else "",
        parts=[
            {
                "heading": heading,
                "count": sum(rule.count for rule in rules),
                "warning": rules is found.warnings,
                "rows": [row for rule in rules for row in _rule_rows(rule)],
            }
            for heading, rules in found.parts()
        ],
        approvals=found.approvals_line,
    )


def _rule_rows(rule: RuleFindings) -> list[dict[str, Any]]:
    """A rule's rows: each verdict listed (its place, what it says with the rule's id as code, its
    message and record), then how many more there are, if any."""
    rows: list[dict[str, Any]] = [
        {
            "place": verdict.place,
            "said": Markup(verdict_said(verdict, _code)),
            "message": verdict.message,
            "record": verdict.record,
            "more": "",
        }
        for verdict in rule.listed
    ]
    if rule.more:
        rows.append({"more": rule.more_line})
    return rows


def _code(text: str) -> str:
    """`text` escaped in a <code>: a rule's id in what a verdict says."""
    return str(Markup("<code>%s</code>") % scrub(text))


def _noted(plan: Plan, marks: _Marks) -> Plan:
    """`plan` with the names its notes print marked: its targets' names, the users the YAML leaves be,
    the actor and the addresses the note on an actor with no role names."""
    targets = tuple(kind + ":" + marks(name) for kind, _, name in (t.partition(":") for t in plan.targets))
    standing = plan.standing
    if standing is not None and not standing.roles:
        standing = replace(
            standing, resellers=marks(standing.resellers), lookalikes=marks(standing.lookalikes)
        )
    return replace(
        plan, targets=targets, unmanaged=marks(plan.unmanaged), actor=marks(plan.actor), standing=standing
    )


def drift_html(drift: Drift) -> str:
    """The drift as a page: counts first, then the three sections by record, then stale invites."""
    return render("drift.html.j2", **_drift_context(drift))


def drift_part(drift: Drift) -> Part:
    """The drift as part of another page: what `drift_html` shows between its title and its footer."""
    return _part("drift", _drift_context(drift))


def _drift_context(drift: Drift) -> dict[str, Any]:
    differs = bool(drift.only_in_store or drift.only_in_git or drift.differ)
    headline = grouping.drift_headline(drift)
    counts = drift.summary()
    cards = [
        ("only in the store", counts["only_in_store"]),
        ("only in git", counts["only_in_git"]),
        ("different", counts["differ"]),
    ]
    if drift.stale_after_days is not None:
        cards.append((f"invited {drift.stale_after_days:,}+ days", counts["stale_invites"]))
    if drift.expired:
        cards.append(("past their last day", counts["expired"]))
    sections = []
    marks = _Marks()
    for section, symbol, effect, heading in DRIFT_SECTIONS:
        differences: Sequence[Difference] = getattr(drift, section)
        if not differences:
            continue
        by_record: dict[str, list[Markup]] = {}
        for difference in differences:
            worded = replace(
                difference,
                target=marks(difference.target),
                store=marks(difference.store),
                git=marks(difference.git),
            )
            line = _lines(drift_line(section, worded))
            product = drift.products.get(difference.target.get("serial", ""))
            if product:  # a manager reads products, not serial numbers
                line += Markup(' <span class="muted">(') + _bdi(product) + Markup(")</span>")
            by_record.setdefault(str(difference.record), []).append(line)
        sections.append(
            {
                "heading": heading.removesuffix(":"),
                "symbol": symbol,
                "effect": str(effect),
                "records": [(record.replace("_", " "), lines) for record, lines in by_record.items()],
            }
        )
    return dict(
        title=f"reconciler drift: {headline}",
        drift=drift,
        differs=differs,
        cards=cards,
        sections=sections,
        expiring=_expiring(EXPIRED_HEADING.removesuffix(":"), drift.expired) if drift.expired else None,
    )


@dataclass(frozen=True)
class _Bar:
    """A seat bar: the share of seats assigned, in per cent of the bar (at most 100)."""

    width: str
    over: bool
    full: bool


def _bar(serial: SerialUsage) -> _Bar:
    share = min(serial.assigned / serial.seats, 1.0) if serial.seats else 1.0
    return _Bar(f"{share * 100:.1f}", serial.assigned > serial.seats, serial.full)


def usage_html(usage: Usage) -> str:
    """The seat and renewal report as a page: what needs action first, in the text report's order
    (full serials, unused seats, stale invitations, renewals due; report/attention.py decides), then
    each contract's serials with their seat use drawn as bars, full serials marked."""
    return render("usage.html.j2", **_usage_context(usage))


def usage_part(usage: Usage) -> Part:
    """The usage report as part of another page: what `usage_html` shows between its title and footer."""
    return _part("usage", _usage_context(usage))


def _usage_context(usage: Usage) -> dict[str, Any]:
    counts = totals(usage)
    cards = [
        ("contracts", counts["contracts"]),
        ("renewals due", counts["renewals_due"]),
        ("seats", counts["seats"]),
        ("assigned", counts["assigned"]),
        ("free", counts["free"]),
        ("full serials", counts["full"]),
        # Seats, as "assigned" counts them; the stale card counts people (one may hold several seats).
        ("seats held by invited users", counts["invited"]),
    ]
    if usage.stale_after_days is not None:
        cards.append((f"users invited {usage.stale_after_days:,}+ days", counts["stale_invites"]))
    expiring = None
    if usage.expiring_days is not None:
        days = usage.expiring_days
        cards.append((f"expiring within {days:,} {plural(days, 'day')}", len(usage.expiring)))
        heading = f"Expiring within {days:,} {plural(days, 'day')}, or past their day"
        expiring = _expiring(heading, usage.expiring)
    due = counts["renewals_due"]
    return dict(
        title=f"reconciler usage: {due:,} {plural(due, 'renewal')} due, {counts['assigned']:,} of "
        f"{counts['seats']:,} seats assigned",
        usage=usage,
        cards=cards,
        found=attention(usage),
        when_it_ends=when_it_ends,
        # A stale invitation names the serials its seats are on: each with its product beside it.
        products={
            serial.number: serial.product for contract in usage.contracts for serial in contract.serials
        },
        contracts=[
            (contract, [(serial, _bar(serial)) for serial in contract.serials])
            for contract in usage.contracts
        ],
        expiring=expiring,
    )


def _expiring(heading: str, entries: Sequence[Expiring]) -> dict[str, Any]:
    """What parts/expiring.html.j2 shows: its heading, columns, and each entry's cells, worded as the
    other reports word them with what users wrote each in a <bdi> of its own (`_Marks`), and whether
    the entry is past its day."""
    marks = _Marks()
    worded = [
        replace(
            entry,
            target=marks(entry.target),
            serials=tuple(
                replace(
                    serial,
                    number=marks(serial.number),
                    product=marks(serial.product),
                    coordinator=replace(serial.coordinator, email=marks(serial.coordinator.email)),
                )
                for serial in entry.serials
            ),
            kept=marks(entry.kept),
        )
        for entry in entries
    ]
    rows = expiring_rows(worded, _lines)
    return dict(
        heading=heading,
        columns=EXPIRING_COLUMNS,
        rows=[(cells, entry.days_left < 0) for cells, entry in zip(rows, entries, strict=True)],
    )
