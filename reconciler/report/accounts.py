"""One report for a run over many accounts (a workspace, reconciler.yaml): a table, then each account.

A run gives one AccountRun per account (core/workspace.py): its plan, drift
or usage report, or why there is none. Every format opens with a summary
table, one row per account in the order given, and the totals; then each
account with something to say (changes, drift, a block, an error; every
usage report) as its own report shows it, or its reason and details.

              text          markdown          json          html
    plans     plans_text    plans_markdown    plans_json    plans_html
    drifts    drifts_text   drifts_markdown   drifts_json   drifts_html
    usage     usages_text   usages_markdown   usages_json   usages_html

The kind is in the function's name rather than read from the results: in a
run where every account failed there is none to read it from, and that
comment must still replace the last one of its kind.

The markdown is one pull-request comment that stays within its `limit`
however many accounts there are. After the table come the errors, then the
blocked accounts, then the others in the order given, each folded in
<details> around its own report (fitted to what is left; report/fitting.py),
until the room runs out; a last line says how many accounts are not shown
and where they are. Past some thousand accounts the table is cut too,
unchanged accounts first.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.plan import Plan
from reconciler.core.planfile import plan_to_json
from reconciler.core.records import Drift, Usage
from reconciler.core.workspace import STATUS_ORDER, AccountRun, AccountStatus
from reconciler.report import markdown, text
from reconciler.report.attention import totals
from reconciler.report.escaping import in_html, inert
from reconciler.report.fitting import fit
from reconciler.report.html import Part, drift_part, plan_part, render, usage_part
from reconciler.report.json import drift_to_json, dumps, usage_to_json
from reconciler.report.markdown import COMMENT_LIMIT
from reconciler.report.text import Paint, no_paint

#: The accounts report's own JSON version: each account's plan, drift or usage keeps its own.
FORMAT_VERSION = 1
#: The hidden markers of the comments, as report/markdown.py's: one for each kind, apart from theirs.
PLANS_MARKER = "<!-- reconciler:accounts-plan -->"
DRIFTS_MARKER = "<!-- reconciler:accounts-drift -->"
USAGES_MARKER = "<!-- reconciler:accounts-usage -->"
#: Where the markdown says the rest is, unless told: a run printed markdown, so its own JSON and HTML
#: are not there to point to; the same command in those formats is.
ELSEWHERE = "the whole report in HTML or JSON (this command with `--format html` or `--format json`)"
#: The least room an account's markdown is cut to fit in; in less, it is shown whole or not at all.
SMALLEST_CUT = 2_000

T = TypeVar("T")

#: The colour of each status in the text table; errors and blocks stand out as a blocked action does.
_COLOURS = {
    AccountStatus.ERROR: "red",
    AccountStatus.BLOCKED: "red",
    AccountStatus.CHANGES: "yellow",
    AccountStatus.DONE: "green",
}
_ALERTS = (AccountStatus.ERROR, AccountStatus.BLOCKED)


@dataclass(frozen=True)
class _Column:
    """A count in the summary table: its heading, which is also its word in the totals, and that word
    for one (`e-mails`, `e-mail`)."""

    heading: str
    one: str

    def phrase(self, count: int) -> str:
        return f"{count:,} {self.one if count == 1 else self.heading}"


@dataclass(frozen=True)
class _Kind(Generic[T]):
    """What the report of many accounts needs of one kind of report: plans, drifts or usage."""

    noun: str  # in the title, and the key of each account's report in the JSON
    marker: str
    columns: tuple[_Column, ...]
    counts: Callable[[T], tuple[int, ...]]  # one for each column
    says: Callable[[T], bool]  # whether an account that came out well has a section of its own
    words: Mapping[AccountStatus, str]  # each status in the table
    tally: Mapping[AccountStatus, str]  # each status in the count of accounts
    text: Callable[[T, Paint], Iterator[str]]
    markdown: Callable[[T, int, str], str]  # the report, its limit, where the rest is
    document: Callable[[T, bytes | None], dict[str, Any]]
    part: Callable[[T], Part]


def _plan_counts(plan: Plan) -> tuple[int, ...]:
    counts = plan.summary()
    people = len({n.to for a in plan.actions for n in a.notifications})  # one message each
    return counts["add"], counts["change"], counts["remove"], counts["blocked"], people


def _drift_counts(drift: Drift) -> tuple[int, ...]:
    # What the store holds past its last day is a difference too: git says it has ended.
    differences = len(drift.only_in_store) + len(drift.only_in_git) + len(drift.differ) + len(drift.expired)
    return differences, len(drift.stale_invites)


def _usage_counts(usage: Usage) -> tuple[int, ...]:
    counts = totals(usage)
    return tuple(
        counts[key] for key in ("contracts", "serials", "seats", "assigned", "free", "full", "renewals_due")
    )


_FAILED = {AccountStatus.ERROR: "error", AccountStatus.BLOCKED: "blocked"}
_FAILED_TALLY = {AccountStatus.ERROR: "failed", AccountStatus.BLOCKED: "blocked"}

_PLANS: _Kind[Plan] = _Kind(
    noun="plan",
    marker=PLANS_MARKER,
    columns=(
        _Column("to add", "to add"),
        _Column("to change", "to change"),
        _Column("to remove", "to remove"),
        _Column("blocked", "blocked"),
        _Column("e-mails", "e-mail"),
    ),
    counts=_plan_counts,
    says=lambda plan: bool(plan.actions),
    words={**_FAILED, AccountStatus.CHANGES: "changes", AccountStatus.DONE: "no changes"},
    tally={**_FAILED_TALLY, AccountStatus.CHANGES: "with changes", AccountStatus.DONE: "unchanged"},
    text=text.render_plan,
    markdown=lambda plan, limit, where: markdown.render_plan(plan, limit=limit, where=where, marker=None),
    document=plan_to_json,
    part=plan_part,
)
_DRIFTS: _Kind[Drift] = _Kind(
    noun="drift",
    marker=DRIFTS_MARKER,
    columns=(_Column("differences", "difference"), _Column("stale invites", "stale invite")),
    counts=_drift_counts,
    says=lambda drift: drift.found,
    words={**_FAILED, AccountStatus.CHANGES: "drift", AccountStatus.DONE: "no drift"},
    tally={**_FAILED_TALLY, AccountStatus.CHANGES: "with drift", AccountStatus.DONE: "matching git"},
    text=text.render_drift,
    markdown=lambda drift, limit, where: markdown.render_drift(drift, limit=limit, where=where, marker=None),
    document=lambda drift, key: drift_to_json(drift),
    part=drift_part,
)
_USAGES: _Kind[Usage] = _Kind(
    noun="usage",
    marker=USAGES_MARKER,
    columns=(
        _Column("contracts", "contract"),
        _Column("serials", "serial"),
        _Column("seats", "seat"),
        _Column("assigned", "assigned"),
        _Column("free", "free"),
        _Column("full serials", "full serial"),
        _Column("contracts ending", "contract ending"),
    ),
    counts=_usage_counts,
    says=lambda usage: True,  # a usage report is read for itself: there is no "unchanged" one
    words={**_FAILED, AccountStatus.CHANGES: "needs action", AccountStatus.DONE: "done"},
    tally={**_FAILED_TALLY, AccountStatus.CHANGES: "needing action", AccountStatus.DONE: "done"},
    text=text.render_usage,
    markdown=lambda usage, limit, where: markdown.render_usage(usage, limit=limit, where=where, marker=None),
    document=lambda usage, key: usage_to_json(usage),
    part=usage_part,
)


# The public functions: the kind in the name, the work in the shared ones below.


def plans_text(runs: Sequence[AccountRun[Plan]], paint: Paint = no_paint) -> Iterator[str]:
    """The plans of many accounts for a terminal, line by line: the table, the totals, each account's plan."""
    return _text(runs, _PLANS, paint)


def plans_markdown(
    runs: Sequence[AccountRun[Plan]], limit: int = COMMENT_LIMIT, elsewhere: str | None = None
) -> str:
    """The plans of many accounts as one pull-request comment of at most `limit` bytes; `elsewhere`
    (markdown, such as "the plan artifact") is where a reader finds the accounts left out."""
    return _markdown(runs, _PLANS, limit, elsewhere or ELSEWHERE)


def plans_json(runs: Sequence[AccountRun[Plan]], key: bytes | None = None) -> str:
    """The plans of many accounts as JSON, each plan as its plan file holds it (sealed with `key`)."""
    return _json(runs, _PLANS, key)


def plans_html(runs: Sequence[AccountRun[Plan]]) -> str:
    """The plans of many accounts as one page: the table, then each account's plan as its page shows it."""
    return _html(runs, _PLANS)


def drifts_text(runs: Sequence[AccountRun[Drift]], paint: Paint = no_paint) -> Iterator[str]:
    """The drift of many accounts for a terminal, line by line."""
    return _text(runs, _DRIFTS, paint)


def drifts_markdown(
    runs: Sequence[AccountRun[Drift]], limit: int = COMMENT_LIMIT, elsewhere: str | None = None
) -> str:
    """The drift of many accounts as one issue or comment of at most `limit` bytes."""
    return _markdown(runs, _DRIFTS, limit, elsewhere or ELSEWHERE)


def drifts_json(runs: Sequence[AccountRun[Drift]]) -> str:
    """The drift of many accounts as JSON, each as `drift --format json` writes it."""
    return _json(runs, _DRIFTS, None)


def drifts_html(runs: Sequence[AccountRun[Drift]]) -> str:
    """The drift of many accounts as one page."""
    return _html(runs, _DRIFTS)


def usages_text(runs: Sequence[AccountRun[Usage]], paint: Paint = no_paint) -> Iterator[str]:
    """The seats and renewals of many accounts for a terminal, line by line."""
    return _text(runs, _USAGES, paint)


def usages_markdown(
    runs: Sequence[AccountRun[Usage]], limit: int = COMMENT_LIMIT, elsewhere: str | None = None
) -> str:
    """The seats and renewals of many accounts as one comment or job summary of at most `limit` bytes."""
    return _markdown(runs, _USAGES, limit, elsewhere or ELSEWHERE)


def usages_json(runs: Sequence[AccountRun[Usage]]) -> str:
    """The seats and renewals of many accounts as JSON, each as `usage --format json` writes it."""
    return _json(runs, _USAGES, None)


def usages_html(runs: Sequence[AccountRun[Usage]]) -> str:
    """The seats and renewals of many accounts as one page."""
    return _html(runs, _USAGES)


# What every format shares.


def _shown(run: AccountRun[T], kind: _Kind[T]) -> bool:
    """Whether an account has more to say than its row: all but those that came out well with nothing
    to show (an unchanged plan, no drift)."""
    if run.status is not AccountStatus.DONE or run.result is None or run.reason or run.details:
        return True
    return kind.says(run.result)


def _rank(run: AccountRun[Any]) -> int:
    """Errors first, then blocked accounts, then those with changes, then the rest."""
    return STATUS_ORDER.index(run.status)


def _cells(run: AccountRun[T], kind: _Kind[T]) -> list[str]:
    """The counts of an account's row; a dash for each when it has no report."""
    if run.result is None:
        return ["-"] * len(kind.columns)
    return [f"{count:,}" for count in kind.counts(run.result)]


def _tally(runs: Sequence[AccountRun[T]], kind: _Kind[T]) -> str:
    """`4 accounts: 1 failed, 1 blocked, 1 with changes, 1 unchanged`"""
    found = [(status, sum(run.status is status for run in runs)) for status in STATUS_ORDER]
    tally = ", ".join(f"{count:,} {kind.tally[status]}" for status, count in found if count)
    return f"{len(runs):,} {plural(len(runs), 'account')}" + (f": {tally}" if tally else "")


def _totals(runs: Sequence[AccountRun[T]], kind: _Kind[T]) -> str:
    """`3 to add, 1 to change, …` over every account with a report; empty when none has one."""
    results = [run.result for run in runs if run.result is not None]
    if not results:
        return ""
    sums = [sum(column) for column in zip(*(kind.counts(result) for result in results), strict=True)]
    return _phrases(kind, sums)


def _phrases(kind: _Kind[T], counts: Sequence[int]) -> str:
    return ", ".join(column.phrase(count) for column, count in zip(kind.columns, counts, strict=True))


def _reason(run: AccountRun[T], kind: _Kind[T]) -> str:
    """`blocked: the folder accounts/acme is gone`, or the status word alone without a reason."""
    word = kind.words[run.status]
    return word if run.reason is None else f"{word}: {run.reason}"


def _headline(run: AccountRun[T], kind: _Kind[T]) -> str:
    """An account in one line, for the fold it is in: `acme: 3 to add, …` or `acme: error: …`."""
    said = []
    if run.reason is not None or run.result is None:
        said.append(_reason(run, kind))
    if run.result is not None:
        said.append(_phrases(kind, kind.counts(run.result)))
    return f"{run.name}: " + "; ".join(said)


def _text(runs: Sequence[AccountRun[T]], kind: _Kind[T], paint: Paint) -> Iterator[str]:
    headings = ["account", *(column.heading for column in kind.columns)]
    rows = [[scrub(run.name), *_cells(run, kind)] for run in runs]
    widths = [max([len(heading), *(len(row[i]) for row in rows)]) for i, heading in enumerate(headings)]

    def line(cells: Sequence[str], status: str) -> str:
        name, *counts = (
            cell.rjust(width) if i else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join([name, *counts, status])

    yield line(headings, "status")
    for run, row in zip(runs, rows, strict=True):
        yield line(row, paint(kind.words[run.status], _COLOURS[run.status]))
    yield ""
    in_all = _totals(runs, kind)
    yield _tally(runs, kind) + "." + (f" In all: {in_all}." if in_all else "")
    for run in runs:
        if not _shown(run, kind):
            continue
        yield ""
        yield scrub(f"== {run.name} ==")
        if run.reason is not None or run.result is None:
            yield paint(scrub(_reason(run, kind)), _COLOURS[run.status])
        for detail in run.details:
            yield scrub(f"  {detail}")
        if run.result is not None:
            if run.reason is not None or run.details:
                yield ""
            yield from kind.text(run.result, paint)


def _size(lines: Sequence[str]) -> int:
    """The bytes `lines` take in the report, a newline after each."""
    return sum(len(line.encode()) + 1 for line in lines)


def _markdown(runs: Sequence[AccountRun[T]], kind: _Kind[T], limit: int, where: str) -> str:
    """The marker, the title and totals, the table, then the folds while they fit, then what is left."""
    if not runs:  # --changed found no account concerned: say so, or the comment is an empty table
        nothing = "No account's files changed: nothing to run."
        return f"{kind.marker}\n### reconciler {kind.noun}, no account\n\n{nothing}\n"
    in_all = _totals(runs, kind)
    out = [kind.marker, f"### reconciler {kind.noun}, {_tally(runs, kind)}", ""]
    if in_all:
        out += [f"In all: {in_all}.", ""]
    out += [
        "| account | " + " | ".join(column.heading for column in kind.columns) + " | status |",
        "| --- |" + " ---: |" * len(kind.columns) + " --- |",
    ]
    rows = [
        "| " + " | ".join([inert(run.name), *_cells(run, kind), kind.words[run.status]]) + " |"
        for run in runs
    ]
    folds = sorted((run for run in runs if _shown(run, kind)), key=_rank)  # stable: in the order given
    # Room for the last line at its longest, whatever comes before it.
    room = limit - _size(["", _not_shown(len(folds), where)])
    shown = 0
    if _size(out) + _size(rows) <= room:
        out += rows
        for run in folds:
            fold = _fold(run, kind, room - _size(out), where)
            if fold is None:
                break
            out += fold
            shown += 1
    else:
        out += _cut_table(runs, rows, room - _size(out), where)
    if shown < len(folds):
        out += ["", _not_shown(len(folds) - shown, where)]
    return "\n".join(out) + "\n"


def _cut_table(runs: Sequence[AccountRun[T]], rows: Sequence[str], room: int, where: str) -> list[str]:
    """As many rows as fit in `room` with the line that says how many are left out: errors first, then
    blocked accounts, then those with changes, each in the order given, and shown in that order."""
    room -= _size(["", _rows_left_out(len(rows), where)])
    kept: list[int] = []
    for index in sorted(range(len(rows)), key=lambda i: _rank(runs[i])):
        room -= _size([rows[index]])
        if room < 0:
            break
        kept.append(index)
    return [*(rows[i] for i in sorted(kept)), "", _rows_left_out(len(rows) - len(kept), where)]


def _rows_left_out(count: int, where: str) -> str:
    rows = f"{count:,} more {plural(count, 'row')}"
    return f"… {rows} left out of this table, unchanged accounts first: see {where}."


def _not_shown(count: int, where: str) -> str:
    return f"**{count:,} {plural(count, 'account')} not shown here**, for want of room: see {where}."


def _fold(run: AccountRun[T], kind: _Kind[T], room: int, where: str) -> list[str] | None:
    """An account's own markdown in <details>, open for an error or a block, in at most `room` bytes;
    None when it does not fit. In less room than SMALLEST_CUT it is shown whole or not at all."""
    details = "<details open>" if run.status in _ALERTS else "<details>"
    opening = f"{details}<summary>{in_html(_headline(run, kind))}</summary>"
    frame = ["", opening, "", "", "</details>"]
    limit = room - _size(frame)
    if limit <= 0:
        return None
    own = _account_markdown(
        run, kind, limit if limit >= SMALLEST_CUT else sys.maxsize, f"See {where} for all of it."
    )
    if len(own.encode()) > limit:
        return None
    body = [*own.removesuffix("\n").split("\n"), ""] if own else []
    return ["", opening, "", *body, "</details>"]


def _account_markdown(run: AccountRun[T], kind: _Kind[T], limit: int, where: str) -> str:
    """The account's reason, details and report, each escaped, in `limit` bytes if it can; for an
    account without a report, its details alone (its summary says the reason)."""
    details = [f"- {inert(detail)}" for detail in run.details]
    if run.result is None:
        return fit([], details, set(range(len(details))), limit, "line", where).lstrip("\n")
    word = kind.words[run.status]
    lead = [f"**{word}:** {inert(run.reason)}"] if run.reason is not None else []
    lead += details
    lead += [""] if lead else []
    return "\n".join([*lead, kind.markdown(run.result, limit - _size(lead), where)])


def _json(runs: Sequence[AccountRun[T]], kind: _Kind[T], key: bytes | None) -> str:
    """`{"format_version": 1, "accounts": [{"name", "status", KIND}, …]}`, KIND being `plan`, `drift` or
    `usage`; an account without one has `reason` and `details` instead, one with a reason has both."""
    return dumps(
        {"format_version": FORMAT_VERSION, "accounts": [_account_json(run, kind, key) for run in runs]}
    )


def _account_json(run: AccountRun[T], kind: _Kind[T], key: bytes | None) -> dict[str, Any]:
    account: dict[str, Any] = {"name": run.name, "status": run.status.value}
    if run.result is not None:
        account[kind.noun] = kind.document(run.result, key)
    if run.result is None or run.reason is not None or run.details:
        account["reason"] = run.reason
        account["details"] = list(run.details)
    return account


@dataclass(frozen=True)
class _Section:
    """An account on the page: its row of the table and its own section, which `anchor` names."""

    anchor: str
    name: str
    word: str
    alert: bool
    cells: list[tuple[str, str]]
    reason: str | None
    details: tuple[str, ...]
    part: Part | None


def _html(runs: Sequence[AccountRun[T]], kind: _Kind[T]) -> str:
    headings = [column.heading for column in kind.columns]
    sections = [
        _Section(
            anchor,
            run.name,
            kind.words[run.status],
            run.status in _ALERTS,
            list(zip(headings, _cells(run, kind), strict=True)),
            run.reason,
            run.details,
            None if run.result is None else kind.part(run.result),
        )
        for run, anchor in zip(runs, _anchors([run.name for run in runs]), strict=True)
    ]
    return render(
        "accounts.html.j2",
        title=f"reconciler {kind.noun}, {_tally(runs, kind)}",
        kind=kind.noun,
        totals=_totals(runs, kind),
        headings=headings,
        accounts=sections,
    )


#: A name the workspace schema lets through, which an id and a link can hold as it is.
_NAME = re.compile(r"[a-z0-9_-]+")


def _anchors(names: Sequence[str]) -> list[str]:
    """The id of each account's section: `account-acme`, or `row-3` (its place) for a name the schema
    would refuse, or one met before, so that every id is unique and says nothing users could abuse."""
    anchors = []
    seen = set()
    for place, name in enumerate(names, start=1):
        anchors.append(f"account-{name}" if _NAME.fullmatch(name) and name not in seen else f"row-{place}")
        seen.add(name)
    return anchors
