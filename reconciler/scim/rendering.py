"""A push to a SCIM directory (a DirectoryPlan) as text, markdown and JSON.

Text is one line per request, `+` add, `~` change, `-` remove, as a plan's:

    + user.create carol.smith@acme.example: Carol Smith
    ~ group.member_add serial:399-12345678: 2 members (carol.smith@acme.example, dana.lund@acme.example)
    - user.deactivate erin.berg@acme.example

    SCIM push: 3 to add, 0 to change, 1 to remove.

JSON has `format_version`, `store`, `directory`, `summary` and `actions`,
sorted keys, so the same plan is the same bytes; its store, its guards and
each action's change are written as a saved plan's are (core/planfile.py).
Markdown escapes what users wrote (report/escaping.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.planfile import change_to_json, guard_to_json, store_to_json
from reconciler.report.escaping import inert
from reconciler.report.text import COLOURS, SYMBOLS, Paint, no_paint
from reconciler.scim.records import MEMBER_CHANGES, DirectoryAction, DirectoryPlan, Request

#: The JSON of a directory plan; its own numbering, as drift's and usage's have theirs.
FORMAT_VERSION = 1
#: Member names shown in one line before "and N more".
SHOWN_MEMBERS = 5
WHERE = "managed in the directory"


def detail(action: DirectoryAction) -> str:
    """What one request changes, in a few words."""
    after, before = action.after or {}, action.before or {}
    if action.kind in MEMBER_CHANGES:
        members = list(after.get("members", []))
        shown = ", ".join(members[:SHOWN_MEMBERS])
        more = f" and {len(members) - SHOWN_MEMBERS} more" if len(members) > SHOWN_MEMBERS else ""
        return f"{len(members)} member{'' if len(members) == 1 else 's'} ({shown}{more})"
    if action.kind == Request.USER_CREATE:
        return str(after.get("displayName") or "")
    if action.kind == Request.GROUP_CREATE:
        count = len(after.get("members", []))
        return f"{after.get('displayName')}, with {count} member{'' if count == 1 else 's'}"
    if action.kind in (Request.USER_ADOPT, Request.USER_CHANGE, Request.GROUP_RENAME):
        return ", ".join(f"{key} {before.get(key)!r} → {after.get(key)!r}" for key in sorted(after))
    if action.kind == Request.GROUP_DELETE:
        return str(before.get("displayName") or "")
    return ""


def _label(action: DirectoryAction) -> str:
    return next(iter(action.target.values()))


def summary_line(plan: DirectoryPlan) -> str:
    counts = plan.summary()
    return f"SCIM push: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove."


def guard_lines(plan: DirectoryPlan) -> list[str]:
    return [
        f"Removal guard: {guard.message(WHERE)}: scim apply refuses it without --allow-mass-removal."
        for guard in plan.guards
    ]


def render_text(plan: DirectoryPlan, paint: Paint = no_paint) -> Iterator[str]:
    """The push, line by line."""
    yield scrub(f"SCIM push to {plan.url} from store {plan.lineage} at revision {plan.revision}:")
    yield ""
    if not plan.actions:
        yield "No changes. The directory holds what the store wants."
    for action in plan.actions:
        symbol = paint(SYMBOLS[action.effect], COLOURS[action.effect])
        text = detail(action)
        yield f"  {symbol} " + scrub(f"{action.kind} {_label(action)}" + (f": {text}" if text else ""))
    yield ""
    yield summary_line(plan)
    yield (
        f"Read {plan.pages_read} page{'' if plan.pages_read == 1 else 's'}: "
        f"{plan.managed_users} managed users, "
        f"{plan.managed_groups} managed groups; {plan.unmanaged.get('users', 0)} other users and "
        f"{plan.unmanaged.get('groups', 0)} other groups are left alone."
    )
    if plan.settings is not None:
        yield f"Settings: {plan.settings.describe()}."
    for line in guard_lines(plan):
        yield paint(scrub(line), "red")


def render_markdown(plan: DirectoryPlan) -> str:
    """The push as a pull-request comment: counts, then a table of the requests."""
    counts = plan.summary()
    lines = [
        f"### SCIM push to {inert(plan.url)}",
        "",
        f"From store `{scrub(plan.lineage)}` at revision {plan.revision}"
        + (f"; {plan.settings.describe()}." if plan.settings is not None else "."),
        "",
        "| add | change | remove |",
        "|---:|---:|---:|",
        f"| {counts['add']} | {counts['change']} | {counts['remove']} |",
        "",
    ]
    for line in guard_lines(plan):
        lines += [f"> **Warning:** {inert(line)}", ""]
    if not plan.actions:
        lines.append("No changes. The directory holds what the store wants.")
    else:
        lines += ["| | request | target | details |", "|---|---|---|---|"]
        for action in plan.actions:
            lines.append(
                f"| {SYMBOLS[action.effect]} | `{action.kind}` | {inert(_label(action))} | "
                f"{inert(detail(action))} |"
            )
    return "\n".join(lines) + "\n"


def render_json(plan: DirectoryPlan) -> str:
    """The push as JSON, keys sorted."""
    return json.dumps(plan_to_json(plan), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def plan_to_json(plan: DirectoryPlan) -> dict[str, Any]:
    """The push as one dict: what `render_json` writes."""
    return {
        "format_version": FORMAT_VERSION,
        "store": store_to_json(plan.lineage, plan.revision),
        "directory": {
            "url": plan.url,
            "managed_users": plan.managed_users,
            "managed_groups": plan.managed_groups,
            "unmanaged_users": plan.unmanaged.get("users", 0),
            "unmanaged_groups": plan.unmanaged.get("groups", 0),
            "pages_read": plan.pages_read,
        },
        "delete_removed": plan.delete_removed,
        "chunk": plan.chunk,
        "max_removal_ratio": plan.max_removal_ratio,
        "guards": [guard_to_json(guard) for guard in plan.guards],
        "settings": None if plan.settings is None else plan.settings.as_json(),
        "summary": plan.summary(),
        "actions": [change_to_json(a.kind, a.target, a.before, a.after) for a in plan.actions],
    }
