"""Plans, drifts and seat reports as one self-contained HTML page: to open, print and forward.

For the people who review a licence change without a terminal (a manager
approving a pull request, a reseller's account manager). One file with its
CSS inline, no script and a Content-Security-Policy that forbids every
request (`default-src 'none'`), so it opens offline and cannot call out;
light or dark by the reader's setting, readable on a phone, printable.

The pages are Jinja2 templates (templates/*.html.j2, one base layout) with
autoescaping on for every template, so everything users wrote is HTML-escaped
wherever it is printed, and StrictUndefined, so a misspelt field fails instead
of printing nothing. On top of escaping, every printed value passes
`characters.scrub` (as the text and markdown reports do): a name with a
control character or a bidi override cannot reorder or hide what is shown.
The functions here only arrange data for the templates; wording and grouping
come from the shared modules (core/wording.py, report/grouping.py, report/text.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action, Plan
from reconciler.core.records import Difference, Drift, SerialUsage, Usage
from reconciler.core.wording import ROLE_NAMES, target_label
from reconciler.report import grouping
from reconciler.report.attention import attention, totals, when_it_ends
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


def _render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


@dataclass(frozen=True)
class _Row:
    """One action as a table row: its symbol and effect (for colour), what it is on, what it does."""

    symbol: str
    effect: str
    kind: str
    target: str
    detail: str
    blocked: bool


def _row(action: Action) -> _Row:
    detail = action_detail(action)
    return _Row(
        SYMBOLS[action.effect],
        str(action.effect),
        str(action.kind),
        target_label(action),
        detail,
        not action.permitted,
    )


def plan_html(plan: Plan) -> str:
    """The plan as a page: summary and blocked actions first, then groups as the markdown report's."""
    counts = plan.summary()
    heard = grouping.who_hears(plan)
    sections = [
        {
            "heading": section.heading(section.name),
            "blocks": [
                {
                    "title": str(block.title),
                    "is_kind": isinstance(block.title, Kind),
                    "effects": grouping.effects(block.actions),
                    "rows": [_row(a) for a in block.actions],
                }
                for block in section.blocks
            ],
        }
        for section in grouping.plan_sections(plan.actions)
    ]
    blocked = [
        {
            "kind": str(a.kind),
            "target": target_label(a),
            "needs": ROLE_NAMES[a.requires],
            "reason": a.reason or "",
        }
        for a in plan.blocked
    ]
    mail = [(person, grouping.events_heard(events)) for person, events in heard]
    headline = grouping.plan_headline(counts)
    return _render(
        "plan.html.j2",
        title=f"reconciler plan: {headline}",
        plan=plan,
        counts=counts,
        people=len(heard),
        notes=plan_notes(plan),
        blocked=blocked,
        sections=sections,
        mail=mail,
    )


def drift_html(drift: Drift) -> str:
    """The drift as a page: counts first, then the three sections by record, then stale invites."""
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
    sections = []
    for section, symbol, effect, heading in DRIFT_SECTIONS:
        differences: Sequence[Difference] = getattr(drift, section)
        if not differences:
            continue
        by_record: dict[str, list[str]] = {}
        for difference in differences:
            by_record.setdefault(str(difference.record), []).append(drift_line(section, difference))
        sections.append(
            {
                "heading": heading.removesuffix(":"),
                "symbol": symbol,
                "effect": str(effect),
                "records": [(record.replace("_", " "), lines) for record, lines in by_record.items()],
            }
        )
    return _render(
        "drift.html.j2",
        title=f"reconciler drift: {headline}",
        drift=drift,
        differs=differs,
        cards=cards,
        sections=sections,
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
    due = counts["renewals_due"]
    return _render(
        "usage.html.j2",
        title=f"reconciler usage: {due:,} {plural(due, 'renewal')} due, {counts['assigned']:,} of "
        f"{counts['seats']:,} seats assigned",
        usage=usage,
        cards=cards,
        found=attention(usage),
        when_it_ends=when_it_ends,
        contracts=[
            (contract, [(serial, _bar(serial)) for serial in contract.serials])
            for contract in usage.contracts
        ],
    )
