"""Plans, drifts, the history and usage as GitHub-flavoured markdown: a pull-request comment, an issue
or a job summary.

A plan report opens with a hidden marker (an HTML comment CI looks for, to
update one sticky comment instead of adding another), a title and a summary
table; then what the account's policy rules said (report/attention.py: the
records a rule denies, could not be evaluated for, or warns of, a bounded
number of each rule's, and the approving reviews the plan needs); then the
actions the actor may not perform with who may; then what
expired (`expires`), each with its last day; then the actions grouped by
contract and kind, each group a ```` ```diff ```` block so GitHub
colours `+` add, `!` change and `-` remove. A group longer than FOLD_AFTER
lines is folded in `<details>`.

Everything users wrote reaches the page either inside a code block, where
nothing renders, with control characters replaced (`literal`), or through
`inert`, which leaves no markdown, HTML, link, mention or math in it
(report/escaping.py). A report longer than its `limit` is cut on a whole
line (report/fitting.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from reconciler.core.diagnostics import Diagnostic
from reconciler.core.errors import plural
from reconciler.core.kinds import Effect, Kind
from reconciler.core.plan import Action, Plan
from reconciler.core.records import Drift, Usage
from reconciler.core.wording import ROLE_NAMES, expired_reason, target_label
from reconciler.report import grouping
from reconciler.report.attention import (
    NOTHING_APPLIED,
    PolicyFindings,
    attention,
    policy_findings,
    totals,
    verdict_said,
    when_it_ends,
)
from reconciler.report.escaping import inert, literal
from reconciler.report.expiring import COLUMNS as EXPIRING_COLUMNS
from reconciler.report.expiring import EXPIRED_HEADING, expiring_count, expiring_rows
from reconciler.report.fitting import FOLD_AFTER, Report
from reconciler.report.notes import plan_notes
from reconciler.report.summary import Brief
from reconciler.report.text import DRIFT_SECTIONS, NO_CONTRACT, action_detail, drift_line

#: GitHub refuses a comment over 65,536 characters; keep well below, with room for the marker.
COMMENT_LIMIT = 60_000
#: GitHub allows 1 MiB of job summary per step.
SUMMARY_LIMIT = 1_000_000
PLAN_MARKER = "<!-- reconciler:plan -->"
DRIFT_MARKER = "<!-- reconciler:drift -->"
USAGE_MARKER = "<!-- reconciler:usage -->"

SYMBOLS = {Effect.ADD: "+", Effect.CHANGE: "!", Effect.REMOVE: "-"}


def _marker(marker: str | None) -> list[str]:
    """The hidden marker a report opens with, none for a report that is part of another."""
    return [] if marker is None else [marker]


def _counts_table(headers: Sequence[str], values: Iterable[int]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---:|" * len(headers),
        "| " + " | ".join(f"{value:,}" for value in values) + " |",
    ]


def _kind(kind: Kind, html: bool = False) -> str:
    """An action kind as code."""
    return f"<code>{kind}</code>" if html else f"`{kind}`"


def action_line(action: Action, with_kind: bool = False) -> str:
    """One action as a line of a ```diff block: `! 399-12345678: seats 10 → 12`."""
    detail = action_detail(action)
    kind = f"{action.kind} " if with_kind else ""
    line = f"{SYMBOLS[action.effect]} {kind}{target_label(action)}" + (f": {detail}" if detail else "")
    if action.expired is not None:
        line += f"   ({expired_reason(action)})"
    if action.denied is not None:
        line += f"   (denied by policy {action.denied})"
    elif not action.permitted:
        line += "   (blocked)"
    elif action.held:
        line += f"   (held back: {action.held})"
    return literal(line)


#: Where the rest of a cut plan is, when nothing better is known (a plan comment made outside CI).
ELSEWHERE = "Run the same command with `--format text` or `--format html` to see every action."
#: Where the rest of a plan in brief is, when nothing better is known.
WITHOUT_SUMMARY = "Run the same command without `--summary` to see every action."


def render_plan(
    plan: Plan,
    *,
    title: str = "reconciler plan",
    limit: int = COMMENT_LIMIT,
    where: str = ELSEWHERE,
    marker: str | None = PLAN_MARKER,
) -> str:
    """The plan as a pull-request comment of at most `limit` bytes; without `marker` (None), a part of
    another comment. `where` (markdown) says where a reader finds what a cut left out: see
    `rest_of_plan`."""
    return fit_plan(plan, title=title, limit=limit, where=where, marker=marker)[0]


def fit_plan(
    plan: Plan,
    *,
    title: str = "reconciler plan",
    limit: int = COMMENT_LIMIT,
    where: str = ELSEWHERE,
    marker: str | None = PLAN_MARKER,
) -> tuple[str, bool]:
    """`render_plan`, and whether it holds the whole plan (it was not cut to fit)."""
    report = Report()
    _plan_head(report, plan, title, marker)
    if not plan.actions:
        report.head += ["", "No changes. The store matches the desired state."]
        text, cut = report.fitted(limit, "action", where)
        return text, not cut
    _policy_section(report, policy_findings(plan))
    _blocked_section(report, plan.blocked)
    _expired_section(report, plan.actions)
    for heading, blocks in _sections(plan.actions):
        report.body += ["", heading, ""]
        for (block_title, html_title), actions in blocks:
            effects = grouping.effects(actions)
            report.fenced(
                f"**{block_title}**: {effects}",
                f"<b>{html_title}</b>: {effects}",
                [action_line(a) for a in actions],
            )
    _mail_section(report, plan)
    report.body += [
        "",
        "<sub>Grouped for reading; apply runs the actions in dependency order, "
        "which `reconciler show PLANFILE` lists.</sub>",
    ]
    text, cut = report.fitted(limit, "action", where)
    return text, not cut


def _plan_head(report: Report, plan: Plan, title: str, marker: str | None) -> None:
    """What a plan report always keeps: its marker, title, store, counts and notes."""
    counts = plan.summary()
    people = {n.to for a in plan.actions for n in a.notifications}
    headline = grouping.plan_headline(counts)
    report.head += [*_marker(marker), f"### {title}: {headline}", ""]
    report.head.append(f"Store {inert(plan.lineage)} at revision {plan.revision:,}, as {inert(plan.actor)}.")
    report.head.append("")
    report.head += _counts_table(
        ["to add", "to change", "to remove", "blocked", "people e-mailed (one message each)"],
        [counts["add"], counts["change"], counts["remove"], counts["blocked"], len(people)],
    )
    for note in plan_notes(plan):
        report.head += ["", f"> **{note.label}:** {inert(note.text)}"]


def rest_of_plan(
    saved: str | None = None, run: str | None = None, whole: bool = False, again: bool = False
) -> str:
    """Where a reader of a cut or brief plan report finds every action, in markdown: the same command
    without --summary (`again`, for a brief), the job summary of the GitHub Actions run at `run` (an
    address; `whole` when it holds all of the plan, else as much as fits there), and the plan saved as
    `saved` (a file's name, which users chose)."""
    found = ["run the same command without `--summary` to see every action"] if again else []
    if run and _RUN.fullmatch(run):
        found.append(f"the job summary of [this run]({run}) has {'all' if whole else 'more'} of it")
    if saved:
        found.append(f"{_code(f'reconciler show {saved}')} prints every action of the saved plan")
    if not found:
        return ELSEWHERE
    sentence = "; ".join(found)
    return sentence[0].upper() + sentence[1:] + "."


#: The address of a GitHub Actions run, as the runner's variables give it: nothing markdown would read.
_RUN = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._-]+)*/actions/runs/[0-9]+")


def _code(text: str) -> str:
    """`text` as a code span that no backtick in it can close (CommonMark: a longer fence)."""
    text = literal(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def render_brief(
    found: Brief,
    *,
    see_all: str = WITHOUT_SUMMARY,
    title: str = "reconciler plan, in brief",
    limit: int = COMMENT_LIMIT,
    marker: str | None = PLAN_MARKER,
) -> str:
    """A plan in brief (report/summary.py) as a pull-request comment of at most `limit` bytes: its
    head as `render_plan` has it, then how much it shows and `see_all` (markdown: where every action
    is), each contract's counts, every blocked action with its reason, what expired counted by its last
    day, each kind's first actions."""
    plan = found.plan
    report = Report()
    _plan_head(report, plan, title, marker)
    if not plan.actions:
        report.head += ["", "No changes. The store matches the desired state."]
        return report.text(limit, "action", see_all)
    total = len(plan.actions)
    if found.listed == total:
        report.head += ["", f"**In brief:** all {total:,} {plural(total, 'action')} are shown."]
    else:
        report.head += [
            "",
            f"**In brief:** {found.listed:,} of {total:,} {plural(total, 'action')} are shown. {see_all}",
        ]
    report.body += ["", "#### By contract", ""]
    report.body += ["| contract | to add | to change | to remove | blocked |", "| --- |" + " ---: |" * 4]
    for counted in found.contracts:
        name = inert(counted.contract) if counted.contract else inert(NO_CONTRACT)
        tally = counted.tally
        report.body.append(
            f"| {name} | {tally.add:,} | {tally.change:,} | {tally.remove:,} | {tally.blocked:,} |"
        )
    _policy_section(report, policy_findings(plan))
    _blocked_section(report, found.blocked)
    if found.expired:
        report.body += ["", f"#### {grouping.expired_heading(found.expired_count)}", ""]
        report.body += ["| last day | entries |", "| --- | ---: |"]
        report.body += [f"| {inert(day)} | {count:,} |" for day, count in found.expired]
    heading = f"#### By kind: the first {found.shown:,} of each" if found.shown else "#### By kind"
    report.body += ["", heading, ""]
    for kind in found.kinds:
        aside = f", {kind.held} (above)" if kind.blocked else ""
        counted_kind = f"{kind.count:,}{aside}"
        if not kind.first:
            report.body += [f"- {_kind(kind.kind)}: {counted_kind}"]
            continue
        more = f", the first {len(kind.first):,} shown" if kind.unshown else ""
        report.fenced(
            f"**{_kind(kind.kind)}**: {counted_kind}{more}",
            f"<b>{_kind(kind.kind, html=True)}</b>: {counted_kind}{more}",
            [action_line(a) for a in kind.first],
        )
    _mail_section(report, plan)
    return report.text(limit, "action", see_all)


def _sections(actions: Sequence[Action]) -> list[tuple[str, list[tuple[tuple[str, str], list[Action]]]]]:
    """The actions grouped for reading (report/grouping.py): each section's heading, and its blocks,
    each with its title (markdown, HTML)."""
    return [
        (
            "#### " + section.heading(inert(section.name)),
            [(_block_title(block.title), block.actions) for block in section.blocks],
        )
        for section in grouping.plan_sections(actions)
    ]


def _block_title(title: Kind | str) -> tuple[str, str]:
    if isinstance(title, Kind):
        return _kind(title), _kind(title, html=True)
    return title, title


def _mail_section(report: Report, plan: Plan) -> None:
    """Who will be e-mailed, and about what: a reviewer sees the mail before it goes."""
    heard = grouping.who_hears(plan)
    if not heard:
        return
    people = len(heard)
    report.body += [
        "",
        "#### Who will be e-mailed",
        "",
        f"<details><summary>{people:,} {plural(people, 'person', 'people')}, one message each</summary>",
        "",
        "| person | hears of |",
        "| --- | --- |",
    ]
    for person, events_heard in heard:
        report.body.append(f"| {inert(person)} | {inert(grouping.events_heard(events_heard))} |")
    report.body += ["", "</details>"]


def _policy_section(report: Report, found: PolicyFindings | None) -> None:
    """What the plan's policy rules said (report/attention.py): the records a rule denies, those a rule
    could not be evaluated for, those a rule warns of, each rule's first few and how many more, each
    part folded when long; then the approving reviews the plan needs. Nothing when they said nothing.
    Messages and records are what users wrote: each goes through `inert`."""
    if found is None:
        return
    report.body += ["", f"#### {found.heading}", ""]
    if found.denied or found.errors:
        report.body += [NOTHING_APPLIED, ""]
    for heading, rules in found.parts():
        count = sum(rule.count for rule in rules)
        lines = []
        for rule in rules:
            for verdict in rule.listed:
                place = f"{_code(verdict.place)}: " if verdict.place else ""
                said = verdict_said(verdict, _code)
                lines.append(f"- {place}{said}: {inert(verdict.message)} ({inert(verdict.record)})")
            if rule.more:
                lines.append(f"- {inert(rule.more_line)}")
        title = f"{heading}: {count:,} {plural(count, 'record')}"
        if len(lines) > FOLD_AFTER:
            report.body += [f"<details><summary>{title}</summary>", "", *lines, "", "</details>", ""]
        else:
            report.body += [f"**{title}**", "", *lines, ""]
    if found.approvals:
        report.body += [f"**{inert(found.approvals_line)}**", ""]


def _blocked_section(report: Report, actions: Sequence[Action]) -> None:
    """The actions the actor may not perform, with who may; those a policy denies are in the policy
    section, by their records."""
    blocked = [action for action in actions if action.denied is None]
    if not blocked:
        return
    count = len(blocked)
    report.body += [
        "",
        f"#### Blocked: {count:,} {plural(count, 'action')} the actor may not perform",
        "",
        "Nothing is applied while any action is blocked. Ask whoever may perform it, or leave it out.",
        "",
    ]
    fold = count > FOLD_AFTER
    if fold:
        report.body += [f"<details><summary>{count:,} blocked {plural(count, 'action')}</summary>", ""]
    report.body += ["| action | on | needs | why |", "| --- | --- | --- | --- |"]
    for action in blocked:
        needs = ROLE_NAMES[action.requires]
        # Not an item: the action is counted where its group lists it.
        report.body.append(
            f"| {_kind(action.kind)} | {inert(target_label(action))} | {inert(needs)} | "
            f"{inert(action.reason or '')} |"
        )
    if fold:
        report.body += ["", "</details>"]


def _expired_section(report: Report, actions: Sequence[Action]) -> None:
    """What the plan takes away because its last day (`expires`) has passed, by that day."""
    expired = grouping.expired(actions)
    if not expired:
        return
    count = len(expired)
    report.body += [
        "",
        f"#### {grouping.expired_heading(count)}",
        "",
        "Each was given until a day (`expires`) that has passed; the removal guard counts them as any "
        "removal.",
        "",
    ]
    fold = count > FOLD_AFTER
    if fold:
        report.body += [
            f"<details><summary>{count:,} expired {plural(count, 'entry', 'entries')}</summary>",
            "",
        ]
    report.body += ["| action | on | last day |", "| --- | --- | --- |"]
    for action in expired:
        blocked = " (blocked)" if not action.permitted else ""
        day = inert(action.expired or "")
        # Not an item: the action is counted where its group lists it.
        report.body.append(f"| {_kind(action.kind)}{blocked} | {inert(target_label(action))} | {day} |")
    if fold:
        report.body += ["", "</details>"]


def render_invalid(
    diagnostics: Sequence[Diagnostic], summary: str, limit: int = COMMENT_LIMIT, marker: str = PLAN_MARKER
) -> str:
    """Why the YAML is invalid, as a pull-request comment: every problem a list item, each escaped.

    It carries the plan's marker by default, so the comment that would have held the plan says why
    there is none, and the next push that fixes the YAML replaces it with the plan.
    """
    report = Report()
    report.head += [marker, f"### reconciler: {inert(summary)}", ""]
    report.head.append(
        "Nothing was planned. Fix these in the pull request; `reconciler validate` says the same."
    )
    for diagnostic in diagnostics:
        # Paths hold keys users wrote: escaped like the rest, never put in a code span they could close.
        report.item(f"- {inert(str(diagnostic))}")
    return report.text(limit, "problem", "`reconciler validate` lists every problem.")


def render_drift(
    drift: Drift,
    *,
    limit: int = COMMENT_LIMIT,
    where: str = "The job summary of this run has the full report.",
    marker: str | None = DRIFT_MARKER,
) -> str:
    """The drift as an issue or a job summary of at most `limit` bytes; without `marker` (None), a
    part of another."""
    report = Report()
    counts = drift.summary()
    differs = bool(drift.only_in_store or drift.only_in_git or drift.differ)
    headline = grouping.drift_headline(drift)
    report.head += [*_marker(marker), f"### reconciler drift: {headline}", ""]
    report.head.append(f"Store {inert(drift.lineage)} at revision {drift.revision:,}, compared with git.")
    report.head.append("")
    headers = ["only in the store", "only in git", "different"]
    values = [counts["only_in_store"], counts["only_in_git"], counts["differ"]]
    if drift.stale_after_days is not None:
        headers.append(f"invited {drift.stale_after_days:,}+ days")
        values.append(counts["stale_invites"])
    if drift.expired:
        headers.append("past their last day")
        values.append(counts["expired"])
    report.head += _counts_table(headers, values)
    if not drift.found:
        return report.text(limit, "difference", where)
    if differs:
        report.head += [
            "",
            "Read from git to the store: `+` the store has it and git does not, `-` git has it and the "
            "store does not, `!` the fields differ (git → store). A plan of the YAML would undo all of it; "
            "what was meant belongs in git (`reconciler export` prints the store as YAML).",
        ]
    for section, _, effect, heading in DRIFT_SECTIONS:
        differences = getattr(drift, section)
        if not differences:
            continue
        report.body += ["", f"#### {heading.removesuffix(':')}", ""]
        by_record: dict[str, list[str]] = {}
        for difference in differences:
            line = f"{SYMBOLS[effect]} {drift_line(section, difference)}"
            by_record.setdefault(difference.record, []).append(literal(line))
        for record, lines in by_record.items():
            name = record.replace("_", " ")  # team_member: team member
            report.fenced(f"**{name}**: {len(lines):,}", f"<b>{name}</b>: {len(lines):,}", lines)
    if drift.stale_invites:
        count = len(drift.stale_invites)
        report.body += [
            "",
            f"#### Still invited {drift.stale_after_days:,} days or more after being added",
            "",
            f"{count:,} {plural(count, 'user')} never signed in: a mistyped address, or someone who left?",
            "",
            "| user | invited |",
            "| --- | --- |",
        ]
        for invite in drift.stale_invites:
            report.item(f"| {inert(invite.user)} | {inert(invite.invited_at)} |")
    if drift.expired:
        report.body += ["", f"#### {EXPIRED_HEADING.removesuffix(':')}", ""]
        _table(report, EXPIRING_COLUMNS, 0, expiring_rows(drift.expired, inert), "entries")
    return report.text(limit, "difference", where)


def _table(
    report: Report, headers: Sequence[str], numbers: int, rows: Sequence[Sequence[str]], what: str
) -> None:
    """A table whose last `numbers` columns are right-aligned, each row an item; folded when long."""
    fold = len(rows) > FOLD_AFTER
    if fold:
        report.body += [f"<details><summary>{len(rows):,} {what}</summary>", ""]
    report.body.append("| " + " | ".join(headers) + " |")
    report.body.append("|" + " --- |" * (len(headers) - numbers) + " ---: |" * numbers)
    for row in rows:
        report.item("| " + " | ".join(row) + " |")
    report.body.append("")
    if fold:
        report.body += ["</details>", ""]


def render_usage(
    usage: Usage,
    *,
    limit: int = COMMENT_LIMIT,
    where: str = "`reconciler usage --format json` has all of it.",
    marker: str | None = USAGE_MARKER,
) -> str:
    """Seats and renewals as a pull-request comment, an issue or a job summary of at most `limit` bytes:
    what needs action first, then each contract's serials. Without `marker` (None), a part of another."""
    report = Report()
    counts = totals(usage)
    found = attention(usage)
    headline = (
        f"{counts['full']:,} full, {counts['unused']:,} with unused seats, "
        f"{counts['renewals_due']:,} {plural(counts['renewals_due'], 'renewal')} due"
    )
    if usage.stale_after_days is not None:
        headline += f", {counts['stale_invites']:,} stale {plural(counts['stale_invites'], 'invite')}"
    headline += expiring_count(usage)
    report.head += [*_marker(marker), f"### reconciler usage: {headline}", ""]
    report.head.append(f"Store {inert(usage.lineage)} at revision {usage.revision:,}, on {usage.today}.")
    report.head.append("")
    headers = [
        "contracts",
        "serials",
        "seats",
        "assigned",
        "free",
        "full",
        f"renewals due ({usage.renewal_days:,} days)",
    ]
    values = [
        counts[k] for k in ("contracts", "serials", "seats", "assigned", "free", "full", "renewals_due")
    ]
    if usage.stale_after_days is not None:
        headers.append(f"users invited {usage.stale_after_days:,}+ days")
        values.append(counts["stale_invites"])
    if usage.expiring_days is not None:
        headers.append(f"expiring ({usage.expiring_days:,} days)")
        values.append(len(usage.expiring))
    report.head += _counts_table(headers, values)
    if found:
        report.body += ["", "#### Needs action", ""]
    else:
        report.body += [
            "",
            "Nothing needs action.",
            "",
        ]
    if found.full:
        count = len(found.full)
        report.body += [f"**Full**: {count:,} {plural(count, 'serial')}", ""]
        rows = [
            [inert(s.number), inert(s.product), inert(c.number), f"{s.assigned:,}", f"{s.seats:,}"]
            for c, s in found.full
        ]
        _table(report, ["serial", "product", "contract", "assigned", "seats"], 2, rows, "full serials")
    if found.unused:
        count = len(found.unused)
        report.body += [
            f"**Unused seats**: {found.unused_seats:,} on {count:,} {plural(count, 'serial')}",
            "",
        ]
        rows = [
            [inert(s.number), inert(s.product), inert(c.number), f"{s.free:,}", f"{s.seats:,}"]
            for c, s in found.unused
        ]
        _table(
            report, ["serial", "product", "contract", "free", "seats"], 2, rows, "serials with unused seats"
        )
    if found.stale:
        count = len(found.stale)
        report.body += [
            f"**Still invited {usage.stale_after_days:,} days or more after being added**: {count:,} "
            f"{plural(count, 'user')}, each holding a seat: a mistyped address, or someone who left?",
            "",
        ]
        rows = [[inert(u.user), inert(u.invited_at), inert(", ".join(u.serials))] for u in found.stale]
        _table(report, ["user", "invited", "holds"], 0, rows, "users")
    if found.renewals:
        count = len(found.renewals)
        report.body += [
            f"**Renewal due within {usage.renewal_days:,} days**: {count:,} {plural(count, 'contract')}",
            "",
        ]
        rows = [[inert(c.number), inert(c.manager), inert(when_it_ends(c))] for c in found.renewals]
        _table(report, ["contract", "manager", "ends"], 0, rows, "contracts")
    if usage.expiring_days is not None:
        days = usage.expiring_days
        report.body += [f"#### Expiring within {days:,} {plural(days, 'day')}, or past their day", ""]
        if usage.expiring:
            _table(report, EXPIRING_COLUMNS, 0, expiring_rows(usage.expiring, inert), "entries")
        else:
            report.body += ["Nothing expires.", ""]
    columns = ["serial", "product", "group", "coordinator", "seats", "assigned", "free", "invited"]
    if usage.stale_after_days is not None:
        columns.append("stale")
    for contract in usage.contracts:
        due = ", renewal due" if contract.renewal_due else ""
        report.body += [
            "",
            f"#### Contract {inert(contract.number)}",
            "",
            f"Manager {inert(contract.manager)}, {inert(when_it_ends(contract))}{due}.",
            "",
        ]
        if not contract.serials:
            report.body += ["No serials.", ""]
            continue
        rows = [
            [
                inert(s.number),
                inert(s.product),
                inert(s.group or "(none)"),
                inert(s.coordinator),
                f"{s.seats:,}",
                f"{s.assigned:,}",
                f"{s.free:,}",
                f"{s.invited:,}",
                f"{len(s.stale_invites):,}",
            ][: len(columns)]
            for s in contract.serials
        ]
        _table(report, columns, len(columns) - 4, rows, "serials")
    return report.text(limit, "row", where)
