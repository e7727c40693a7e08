"""A markdown report fitted to GitHub's size limits: cut on a whole line, closed, and saying so.

A report longer than its `limit` (UTF-8 bytes, which is never less than
GitHub's count of characters) keeps its head (title, summary), then as much
of its body as fits; open fences and `<details>` are closed, and a note says
how many items were left out and where the full report is, at the top and
again where the cut is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.core.errors import plural

#: A group of more lines than this is folded in <details>.
FOLD_AFTER = 10


@dataclass
class Report:
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

    def fitted(self, limit: int, noun: str, where: str) -> tuple[str, int]:
        """The report in at most `limit` bytes, and how many of its items were cut to fit."""
        return fit_counted(self.head, self.body, self.items, limit, noun, where)


def fit(head: Sequence[str], body: Sequence[str], items: set[int], limit: int, noun: str, where: str) -> str:
    """The report in at most `limit` bytes: all of it, or the head and as much body as fits, closed."""
    return fit_counted(head, body, items, limit, noun, where)[0]


def fit_counted(
    head: Sequence[str], body: Sequence[str], items: set[int], limit: int, noun: str, where: str
) -> tuple[str, int]:
    """`fit`, and how many items were cut (0 when the report is whole)."""
    body, items = _squeezed(body, items)
    full = "\n".join([*head, "", *body] if body else head) + "\n"
    if len(full.encode()) <= limit:
        return full, 0
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
    # Said again where a reader who scrolled to the end stops: where the rest is.
    cut_here = ["", f"**… cut here:** {cut:,} more {plural(cut, noun)} not shown. {where}"]
    note = _cut_note(cut, total, noun, where)
    return "\n".join([*head, "", note, "", *kept, *closing, *cut_here]) + "\n", cut


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
