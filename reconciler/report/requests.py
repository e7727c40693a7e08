"""The requests `apply --request` made, as text, markdown or JSON: what, by whom, of whom, when, and
what became of each.

Newest first, as `history` lists applies: the request just made, or just
closed, is the one looked for. Text reads like this:

    open     contract.manager_change 110001234567: manager alice@acme.example → bob@acme.example
               Changing the Contract Manager of contract 110001234567
               asked by alice@acme.example of orders@cadpartners.example
               asked at revision 3, 2025-03-01T09:30:00+00:00
    applied  serial.seats_change 399-12345678: seats 2 → 5
               Changing the seats of serial 399-12345678
               asked by alice@acme.example of orders@cadpartners.example
               asked at revision 2, 2025-02-27T14:02:11+00:00
               applied at revision 4, 2025-02-28T08:00:00+00:00

    2 requests: 1 open, 1 applied, 0 no longer needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.planfile import change_to_json
from reconciler.core.records import MADE, MOOT, RecordedRequest
from reconciler.core.wording import describe, details, target_label
from reconciler.report.escaping import inert
from reconciler.report.json import dumps

FORMAT_VERSION = 1

#: A request's status, as the reports say it: still open, or how it was closed.
OPEN = "open"
STATUSES = (OPEN, MADE, MOOT)
_STATUS_WORDS = {OPEN: "open", MADE: "applied", MOOT: "no longer needed"}


def status(recorded: RecordedRequest) -> str:
    """`open`, `applied` or `moot`."""
    return OPEN if recorded.open else str(recorded.outcome)


def newest_first(requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    """The requests as the reports list them: the last asked first (the store gives them oldest first)."""
    return sorted(requests, key=lambda r: (r.requested_at, r.revision, r.request.key), reverse=True)


def render_requests(requests: Sequence[RecordedRequest], open_only: bool = False) -> Iterator[str]:
    """The requests as text, newest first, each line scrubbed; a friendly line when there are none."""
    if not requests:
        yield _none(open_only)
        return
    shown = newest_first(requests)
    width = max(len(status(r)) for r in shown)
    indent = " " * (width + 4)
    for recorded in shown:
        action = recorded.request.as_action()
        change = details(action)
        yield scrub(
            f"{status(recorded):<{width}}  {action.kind} {target_label(action)}"
            + (f": {change}" if change else "")
        )
        yield scrub(f"{indent}{_sentence(describe(action))}")
        yield scrub(f"{indent}{_asked(recorded)}")
        yield f"{indent}asked at revision {recorded.revision}, {scrub(recorded.requested_at)}"
        if not recorded.open:
            yield scrub(f"{indent}{_closed(recorded)}")
    yield ""
    yield _summary(shown)


def requests_markdown(requests: Sequence[RecordedRequest], open_only: bool = False) -> str:
    """The requests as a markdown table, newest first, for an issue or a pull request; everything
    users wrote is made inert."""
    if not requests:
        return f"{_none(open_only)}\n"
    rows = [
        "| status | change | asked by | asked of | asked | closed |",
        "|---|---|---|---|---|---|",
    ]
    for recorded in newest_first(requests):
        action = recorded.request.as_action()
        change = details(action)
        request = recorded.request
        cells = [
            _STATUS_WORDS[status(recorded)],
            # The kind is ours, in a code span; all that users wrote around it is made inert.
            f"{inert(_sentence(describe(action)))} (`{action.kind}` {inert(target_label(action))}"
            + (f": {inert(change)})" if change else ")"),
            inert(request.requester),
            inert(", ".join(request.requested_of) or "nobody"),
            f"revision {recorded.revision}, {inert(recorded.requested_at)}",
            "" if recorded.open else f"revision {recorded.closed_revision}, {inert(str(recorded.closed_at))}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([*rows, "", _summary(newest_first(requests)), ""])


def requests_json(requests: Sequence[RecordedRequest]) -> str:
    """The requests, newest first: each with `key`, `kind`, `target`, `before`, `after`, `description`,
    `requester`, `requested_of`, `requested_at`, `revision` (when it was asked), `status` (`open`,
    `applied` or `moot`), `closed_revision` and `closed_at` (null while open); and a `summary` of the
    count of each status."""
    shown = newest_first(requests)
    return dumps(
        {
            "format_version": FORMAT_VERSION,
            "summary": _counts(shown),
            "requests": [_request(recorded) for recorded in shown],
        }
    )


def _request(recorded: RecordedRequest) -> dict[str, Any]:
    request = recorded.request
    return {
        "key": request.key,
        **change_to_json(request.kind, request.target, request.before, request.after),
        "description": _sentence(describe(recorded.request.as_action())),
        "requester": request.requester,
        "requested_of": list(request.requested_of),
        "requested_at": recorded.requested_at,
        "revision": recorded.revision,
        "status": status(recorded),
        "closed_revision": recorded.closed_revision,
        "closed_at": recorded.closed_at,
    }


def _sentence(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def _asked(recorded: RecordedRequest) -> str:
    request = recorded.request
    of = " or ".join(request.requested_of) or "nobody (no one else may)"
    return f"asked by {request.requester} of {of}"


def _closed(recorded: RecordedRequest) -> str:
    how = "applied" if recorded.outcome == MADE else "no longer needed: another change was applied"
    return f"{how} at revision {recorded.closed_revision}, {recorded.closed_at}"


def _counts(requests: Sequence[RecordedRequest]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for recorded in requests:
        counts[status(recorded)] += 1
    return counts


def _summary(requests: Sequence[RecordedRequest]) -> str:
    counts = _counts(requests)
    total = len(requests)
    return (
        f"{total} {plural(total, 'request')}: {counts[OPEN]} open, {counts[MADE]} applied, "
        f"{counts[MOOT]} no longer needed."
    )


def _none(open_only: bool) -> str:
    if open_only:
        return "No open requests: nothing asked with `apply --request` is waiting to be made."
    return "No requests yet: `apply --request` records one for each blocked change it asks someone to make."
