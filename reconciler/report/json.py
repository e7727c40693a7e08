"""A drift, the history, a usage report and the outbox as JSON: sorted keys, so the same data is the same
bytes.

A plan's JSON is its file format (core/planfile.py); these follow its shape:
`format_version`, `store`, `summary`, then the records, each record written
once below (a store and a change as the plan file writes them). The outbox
is the exception: a bare list of messages, as it has been since it began.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.core.diagnostics import Diagnostic
from reconciler.core.planfile import change_to_json, store_to_json
from reconciler.core.records import (
    Applied,
    AuditEntry,
    ContractUsage,
    Difference,
    Drift,
    OutboxEntry,
    SerialUsage,
    StaleInvite,
    Usage,
)
from reconciler.report.expiring import expiring_to_json

FORMAT_VERSION = 1


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def drift_json(drift: Drift) -> str:
    """The drift: each difference with `record`, `target`, `store` and `git` (null where absent),
    `products`: the product of each serial the differences name, and `expired`: what the store holds
    past its last day (report/expiring.py), by date."""
    return dumps(drift_to_json(drift))


def drift_to_json(drift: Drift) -> dict[str, Any]:
    """What `drift_json` writes, as one dict."""
    return {
        "format_version": FORMAT_VERSION,
        "store": store_to_json(drift.lineage, drift.revision),
        "drift": drift.found,
        "summary": drift.summary(),
        "only_in_store": [_difference(d) for d in drift.only_in_store],
        "only_in_git": [_difference(d) for d in drift.only_in_git],
        "differ": [_difference(d) for d in drift.differ],
        "stale_after_days": drift.stale_after_days,
        "stale_invites": [_stale_invite(i) for i in drift.stale_invites],
        "products": dict(drift.products),
        "expired": [expiring_to_json(entry) for entry in drift.expired],
    }


def _difference(difference: Difference) -> dict[str, Any]:
    return {
        "record": difference.record,
        "target": dict(difference.target),
        "store": None if difference.store is None else dict(difference.store),
        "git": None if difference.git is None else dict(difference.git),
    }


def _stale_invite(invite: StaleInvite) -> dict[str, Any]:
    return {"user": invite.user, "invited_at": invite.invited_at}


def history_json(applies: Sequence[Applied]) -> str:
    """The applies, newest first, each with `revision`, `actor`, `at`, `adopted` (made by `apply
    --adopt`), `source` (`commit`, `commit_url`, `pull_request`, `run`, `text`, those known; null when
    none is) and its `actions`, each with `adopted` too. A chore (`users activate`, `resellers
    add|remove`) is listed the same way, its actions of kind `user.activate`, `reseller.add` or
    `reseller.remove`."""
    return dumps(
        {"format_version": FORMAT_VERSION, "applies": [applied_to_json(applied) for applied in applies]}
    )


def applied_to_json(applied: Applied) -> dict[str, Any]:
    """One apply (or chore) of the history, as `history_json` and `users show --format json` write it."""
    return {
        "revision": applied.revision,
        "actor": applied.actor,
        "at": applied.at,
        "adopted": applied.adopted,
        "source": applied.source.as_dict() if applied.source is not None and applied.source.known else None,
        "actions": [_audit_entry(entry) for entry in applied.changes],
    }


def _audit_entry(entry: AuditEntry) -> dict[str, Any]:
    """An applied action: the change as its plan had it, and whether `apply --adopt` recorded it."""
    return {**change_to_json(entry.kind, entry.target, entry.before, entry.after), "adopted": entry.adopted}


def usage_json(usage: Usage) -> str:
    """Seats and renewals: `contracts`, each with `number`, `manager`, `ends`, `days_left` (as of
    `today`; negative once ended; null without `ends`), `renewal_due` (within `renewal_days`) and
    `serials`, each with `number`, `product`, `group`, `coordinator`, `seats`, `assigned`, `free`,
    `invited` and `stale_invites` (`user`, `invited_at`; empty unless `stale_after_days` is set); and
    `expiring`: what ends within `expiring_days` of `today`, or is past its day (report/expiring.py),
    by date (empty unless `expiring_days` is set)."""
    return dumps(usage_to_json(usage))


def usage_to_json(usage: Usage) -> dict[str, Any]:
    """What `usage_json` writes, as one dict."""
    return {
        "format_version": FORMAT_VERSION,
        "store": store_to_json(usage.lineage, usage.revision),
        "today": usage.today,
        "renewal_days": usage.renewal_days,
        "stale_after_days": usage.stale_after_days,
        "contracts": [_contract_usage(c) for c in usage.contracts],
        "expiring_days": usage.expiring_days,
        "expiring": [expiring_to_json(entry) for entry in usage.expiring],
    }


def _contract_usage(contract: ContractUsage) -> dict[str, Any]:
    return {
        "number": contract.number,
        "manager": contract.manager,
        "ends": contract.ends,
        "days_left": contract.days_left,
        "renewal_due": contract.renewal_due,
        "serials": [_serial_usage(s) for s in contract.serials],
    }


def _serial_usage(serial: SerialUsage) -> dict[str, Any]:
    return {
        "number": serial.number,
        "product": serial.product,
        "group": serial.group,
        "coordinator": serial.coordinator,
        "seats": serial.seats,
        "assigned": serial.assigned,
        "free": serial.free,
        "invited": serial.invited,
        "stale_invites": [_stale_invite(i) for i in serial.stale_invites],
    }


def outbox_json(entries: Sequence[OutboxEntry]) -> str:
    """The outbox, oldest first: a list of messages, each with `id`, `message_id`, `kind`, `from` (the
    sender, fixed when it was queued), `to`, `subject`, the `revision` that queued it, `created_at`,
    `attempts`, `last_error`, `sent_at`, `uncertain_since` and `status`: `queued`, `sent`, or
    `uncertain` (a delivery lost the server's answer after the whole message went out, so the server
    may have it; `notify --resend ID` sends it again). The list alone, as `outbox --format json` has
    always printed it."""
    return dumps([_outbox_entry(entry) for entry in entries])


def _outbox_entry(entry: OutboxEntry) -> dict[str, Any]:
    message = entry.message
    return {
        "id": entry.id,
        "message_id": message.message_id,
        "kind": message.kind,
        "from": message.sender,
        "to": message.to,
        "subject": message.subject,
        "revision": entry.revision,
        "created_at": entry.created_at,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "sent_at": entry.sent_at,
        "uncertain_since": entry.uncertain_since,
        "status": entry.status,
    }


def diagnostics_json(diagnostics: Sequence[Diagnostic]) -> str:
    """`validate --format json`: every problem, in order, with `file`, `line`, `column`, `path` and
    `message` (an empty list when the files are valid). Written as it has always been: in file order,
    not sorted, non-ASCII escaped."""
    return json.dumps([diagnostic.as_dict() for diagnostic in diagnostics], indent=2) + "\n"
