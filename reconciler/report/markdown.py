"""Plans, drifts and the history as GitHub-flavoured markdown: a pull-request comment or a job summary.

A plan report opens with a hidden marker (an HTML comment CI looks for, to
update one sticky comment instead of adding another), a title and a summary
table; then the blocked actions with who may perform them; then the actions
grouped by contract and kind, each group a ```` ```diff ```` block so GitHub
colours `+` add, `!` change and `-` remove. A group longer than FOLD_AFTER
lines is folded in `<details>`.

Everything users wrote reaches the page either inside a code block, where
nothing renders, with control characters replaced (`literal`), or through
`inert`, which leaves no markdown, HTML, link, mention or math in it.

A report longer than its `limit` (UTF-8 bytes, which is never less than
GitHub's count of characters) is cut on a whole line: open fences and
`<details>` are closed, the summary is kept, and a note says how many
actions were left out and where the full report is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from reconciler.diagnostics import Diagnostic
from reconciler.drift import Drift
from reconciler.errors import plural
from reconciler.plan import KIND_RANK, Action, Plan
from reconciler.report.notes import plan_notes
from reconciler.report.text import (
    DRIFT_SECTIONS,
    as_action,
    details,
    drift_line,
    record_fields,
    target_label,
)
from reconciler.store.base import Applied

#: GitHub refuses a comment over 65,536 characters; keep well below, with room for the marker.
COMMENT_LIMIT = 60_000
#: GitHub allows 1 MiB of job summary per step.
SUMMARY_LIMIT = 1_000_000
PLAN_MARKER = "<!-- reconciler:plan -->"
DRIFT_MARKER = "<!-- reconciler:drift -->"
HISTORY_MARKER = "<!-- reconciler:history -->"
#: A group of more lines than this is folded in <details>.
FOLD_AFTER = 10

SYMBOLS = {"add": "+", "change": "!", "remove": "-"}
EFFECT_WORDS = {"add": "to add", "change": "to change", "remove": "to remove"}
ROLE_NAMES = {
    "reseller": "the reseller",
    "contract_manager": "the Contract Manager",
    "software_coordinator": "a Software Coordinator who may manage users",
}

# Characters that would start markdown (or GitHub's math) inline; escaped with a backslash.
_MARKDOWN = frozenset("\\`*_[]|#~$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Control characters, line and paragraph separators, and bidi overrides (which reorder what is shown).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ZWJ = "\u200d"
_WORD = re.compile(r"[A-Za-z0-9_]")
# Bare URLs GitHub would turn into links: a scheme's `://`, and `www.`.
_AUTOLINK = re.compile(r"://|(?i:www)\.")
# Markers that start a block when at the start of a line: `-`, `+`, `=`, `1.`, `1)`.
_BLOCK_START = re.compile(r"^([-+=]|\d+[.)])")


def literal(text: str) -> str:
    """`text` for a code block: one line, nothing that reorders or hides what is shown."""
    return _UNSAFE.sub("\ufffd", str(text))


def inert(text: str) -> str:
    """`text` as markdown that renders as exactly that text: no markup, HTML, links or mentions.

    Backslash-escapes what markdown reads (\\ ` * _ [ ] | # ~ $), writes
    & < > " as entities, breaks bare URLs and @-mentions with a zero-width
    joiner (an @ after a letter or digit, as in an e-mail address, is not
    a mention and is left alone), and replaces control characters. Safe in
    a table cell, a heading, a list item and inside <summary>.
    """
    text = literal(text)
    text = _AUTOLINK.sub(lambda m: m.group()[:-1] + _ZWJ + m.group()[-1], text)
    out = []
    for index, char in enumerate(text):
        if char in _MARKDOWN:
            out.append("\\" + char)
        elif char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char == "@" and (index == 0 or not _WORD.match(text[index - 1])):
            out.append("@" + _ZWJ)
        else:
            out.append(char)
    escaped = "".join(out)
    return _BLOCK_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], escaped)


@dataclass
class _Report:
    """A report being written: a head always kept, and a body that may be cut on a line."""

    head: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    #: Indexes into body of the lines that each stand for one action.
    items: set[int] = field(default_factory=set)

    def item(self, line: str) -> None:
        self.items.add(len(self.body))
        self.body.append(line)

    def fenced(self, title: str, summary: str, lines: Sequence[str]) -> None:
        """A ```diff block of `lines` under `title` (markdown), folded under `summary` (HTML) when long."""
        fold = len(lines) > FOLD_AFTER
        self.body += [f"<details><summary>{summary}</summary>" if fold else title, ""]
        self.body.append("```diff")
        for line in lines:
            self.item(line)
        self.body += ["```", ""]
        if fold:
            self.body += ["</details>", ""]

    def text(self, limit: int, noun: str, where: str) -> str:
        return fit(self.head, self.body, self.items, limit, noun, where)


def fit(head: Sequence[str], body: Sequence[str], items: set[int], limit: int, noun: str, where: str) -> str:
    """The report in at most `limit` bytes: all of it, or the head and as much body as fits, closed."""
    body, items = _squeezed(body, items)
    full = "\n".join([*head, "", *body] if body else head) + "\n"
    if len(full.encode()) <= limit:
        return full
    total = len(items)
    # Room for the head, the note (its numbers are never longer than with `total` twice) and the closers.
    note = _cut_note(total, total, noun, where)
    budget = limit - len("\n".join(head).encode()) - 2 * len(note.encode()) - 128
    kept: list[str] = []
    used = 0
    fenced = False
    open_details = 0
    shown = 0
    for index, line in enumerate(body):
        size = len(line.encode()) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
        shown += index in items
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("<details"):
            open_details += 1
        elif line.startswith("</details>"):
            open_details -= 1
    cut = total - shown
    closing = (["```"] if fenced else []) + ["", "</details>"] * open_details
    cut_here = ["", f"**… cut here:** {cut:,} more {plural(cut, noun)} not shown."]
    note = _cut_note(cut, total, noun, where)
    return "\n".join([*head, "", note, "", *kept, *closing, *cut_here]) + "\n"


def _squeezed(body: Sequence[str], items: set[int]) -> tuple[list[str], set[int]]:
    """`body` without blank lines at its ends or next to another, and `items` renumbered to match."""
    lines: list[str] = []
    kept: set[int] = set()
    for index, line in enumerate(body):
        if line == "" and (not lines or lines[-1] == ""):
            continue
        if index in items:
            kept.add(len(lines))
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return lines, kept


def _cut_note(cut: int, total: int, noun: str, where: str) -> str:
    return (
        f"> [!WARNING]\n> Cut to fit: {cut:,} of {total:,} {plural(total, noun)} are not shown here. {where}"
    )


def _counts_table(headers: Sequence[str], values: Iterable[int]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---:|" * len(headers),
        "| " + " | ".join(f"{value:,}" for value in values) + " |",
    ]


def _kind(kind: str, html: bool = False) -> str:
    """An action kind: code when it is one of ours, escaped text when a plan file says otherwise."""
    if kind not in KIND_RANK:
        return inert(kind)
    return f"<code>{kind}</code>" if html else f"`{kind}`"


def action_line(action: Action, with_kind: bool = False) -> str:
    """One action as a line of a ```diff block: `! 399-12345678: seats 10 → 12`."""
    detail = record_fields(action.before) if action.effect == "remove" else details(action)
    kind = f"{action.kind} " if with_kind else ""
    line = f"{SYMBOLS[action.effect]} {kind}{target_label(action)}" + (f": {detail}" if detail else "")
    if not action.permitted:
        line += "   (blocked)"
    return literal(line)


def _effects(actions: Sequence[Action]) -> str:
    """`4 to add, 1 blocked`: what a group of actions does."""
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.effect] = counts.get(action.effect, 0) + 1
    words = [f"{count:,} {EFFECT_WORDS[effect]}" for effect, count in counts.items()]
    blocked = sum(not a.permitted for a in actions)
    if blocked:
        words.append(f"{blocked:,} blocked")
    return ", ".join(words)


def render_plan(
    plan: Plan,
    *,
    title: str = "reconciler plan",
    limit: int = COMMENT_LIMIT,
    where: str = "The full plan is in the job summary of this run; `reconciler show PLANFILE` prints it.",
) -> str:
    """The plan as a pull-request comment of at most `limit` bytes."""
    counts = plan.summary()
    people = {n.to for a in plan.actions for n in a.notifications}
    report = _Report()
    headline = (
        f"{counts['add']:,} to add, {counts['change']:,} to change, {counts['remove']:,} to remove, "
        f"{counts['blocked']:,} blocked"
    )
    report.head += [PLAN_MARKER, f"### {title}: {headline}", ""]
    report.head.append(f"Store {inert(plan.lineage)} at revision {plan.revision:,}, as {inert(plan.actor)}.")
    report.head.append("")
    report.head += _counts_table(
        ["to add", "to change", "to remove", "blocked", "people e-mailed (one message each)"],
        [counts["add"], counts["change"], counts["remove"], counts["blocked"], len(people)],
    )
    for note in plan_notes(plan):
        report.head += ["", f"> **{note.label}:** {inert(note.text)}"]
    if not plan.actions:
        report.head += ["", "No changes. The store matches the desired state."]
        return report.text(limit, "action", where)
    if plan.blocked:
        _blocked_section(report, plan.blocked)
    groups: dict[str, dict[str, list[Action]]] = {}
    for action in plan.actions:
        key = "" if action.kind.startswith("user.") else action.target.get("contract", "")
        groups.setdefault(key, {}).setdefault(action.kind, []).append(action)
    for key in sorted(groups):
        report.body += ["", f"#### Contract {inert(key)}" if key else "#### Users", ""]
        by_kind = groups[key]
        for kind in sorted(by_kind, key=lambda k: (KIND_RANK.get(k, len(KIND_RANK)), k)):
            actions = by_kind[kind]
            effects = _effects(actions)
            report.fenced(
                f"**{_kind(kind)}**: {effects}",
                f"<b>{_kind(kind, html=True)}</b>: {effects}",
                [action_line(a) for a in actions],
            )
    _mail_section(report, plan)
    report.body += [
        "",
        "<sub>Grouped for reading; apply runs the actions in dependency order, "
        "which `reconciler show PLANFILE` lists.</sub>",
    ]
    return report.text(limit, "action", where)


#: What each notification event is called in the list of who will be e-mailed.
EVENT_NAMES = {
    "user.invited": "invitation",
    "user.removed": "removal",
    "access.granted": "access granted",
    "access.changed": "access changed",
    "access.revoked": "access removed",
    "coordinator.assigned": "serial given to them",
    "coordinator.unassigned": "serial taken from them",
    "coordinator.removed": "coordinator role ended",
    "manager.changed": "new Contract Manager",
    "group.renamed": "group renamed",
}


def _mail_section(report: _Report, plan: Plan) -> None:
    """Who will be e-mailed, and about what: a reviewer sees the mail before it goes."""
    heard: dict[str, Counter[str]] = {}
    for action in plan.actions:
        for notification in action.notifications:
            heard.setdefault(notification.to, Counter())[notification.event] += 1
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
    for person in sorted(heard):
        events = ", ".join(
            EVENT_NAMES.get(event, event) + (f" ×{count}" if count > 1 else "")
            for event, count in sorted(heard[person].items())
        )
        report.body.append(f"| {inert(person)} | {inert(events)} |")
    report.body += ["", "</details>"]


def _blocked_section(report: _Report, blocked: Sequence[Action]) -> None:
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
        needs = ROLE_NAMES.get(action.requires, action.requires)
        # Not an item: the action is counted where its group lists it.
        report.body.append(
            f"| {_kind(action.kind)} | {inert(target_label(action))} | {inert(needs)} | "
            f"{inert(action.reason or '')} |"
        )
    if fold:
        report.body += ["", "</details>"]


def render_invalid(
    diagnostics: Sequence[Diagnostic], summary: str, limit: int = COMMENT_LIMIT, marker: str = PLAN_MARKER
) -> str:
    """Why the YAML is invalid, as a pull-request comment: every problem a list item, each escaped.

    It carries the plan's marker by default, so the comment that would have held the plan says why
    there is none, and the next push that fixes the YAML replaces it with the plan.
    """
    report = _Report()
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
) -> str:
    """The drift as an issue or a job summary of at most `limit` bytes."""
    report = _Report()
    counts = drift.summary()
    differs = bool(drift.only_in_store or drift.only_in_git or drift.differ)
    if differs:
        headline = "the store differs from git"
    elif drift.stale_invites:
        headline = "the store matches git, but some users never signed in"
    else:
        headline = "none, the store matches git"
    report.head += [DRIFT_MARKER, f"### reconciler drift: {headline}", ""]
    report.head.append(f"Store {inert(drift.lineage)} at revision {drift.revision:,}, compared with git.")
    report.head.append("")
    headers = ["only in the store", "only in git", "different"]
    values = [counts["only_in_store"], counts["only_in_git"], counts["differ"]]
    if drift.stale_after_days is not None:
        headers.append(f"invited {drift.stale_after_days:,}+ days")
        values.append(counts["stale_invites"])
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
            report.fenced(f"**{record}**: {len(lines):,}", f"<b>{record}</b>: {len(lines):,}", lines)
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
    return report.text(limit, "difference", where)


def render_history(applies: Sequence[Applied], *, limit: int = SUMMARY_LIMIT) -> str:
    """What each apply changed, by whom and when, newest first."""
    report = _Report()
    report.head += [HISTORY_MARKER, "### reconciler history"]
    if not applies:
        report.head += ["", "Nothing has been applied to this store yet."]
    for applied in applies:
        count = len(applied.changes)
        report.body += [
            f"#### Revision {applied.revision:,}",
            "",
            f"Applied by {inert(applied.actor)} at {inert(applied.at)}: {count:,} {plural(count, 'action')}.",
            "",
        ]
        lines = [action_line(as_action(change), with_kind=True) for change in applied.changes]
        report.fenced("", f"{count:,} {plural(count, 'action')}", lines)
    return report.text(limit, "action", "`reconciler history --format json` has all of it.")
