"""A drift, the history and a usage report as JSON: sorted keys, so the same data is the same bytes.

A plan's JSON is its file format, `Plan.dumps()`; these follow its shape:
`format_version`, `store`, `summary`, then the records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.core.records import Applied, Difference, Drift, Usage

FORMAT_VERSION = 1


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def drift_json(drift: Drift) -> str:
    """The drift: each difference with `record`, `target`, `store` and `git` (null where absent)."""
    return dumps(
        {
            "format_version": FORMAT_VERSION,
            "store": {"lineage": drift.lineage, "revision": drift.revision},
            "drift": drift.found,
            "summary": drift.summary(),
            "only_in_store": [_difference(d) for d in drift.only_in_store],
            "only_in_git": [_difference(d) for d in drift.only_in_git],
            "differ": [_difference(d) for d in drift.differ],
            "stale_after_days": drift.stale_after_days,
            "stale_invites": [{"user": i.user, "invited_at": i.invited_at} for i in drift.stale_invites],
        }
    )


def _difference(difference: Difference) -> dict[str, Any]:
    return {
        "record": difference.record,
        "target": dict(difference.target),
        "store": None if difference.store is None else dict(difference.store),
        "git": None if difference.git is None else dict(difference.git),
    }


def history_json(applies: Sequence[Applied]) -> str:
    """The applies, newest first, each with `revision`, `actor`, `at`, `adopted` (made by `apply
    --adopt`) and its `actions`, each with `adopted` too."""
    return dumps(
        {
            "format_version": FORMAT_VERSION,
            "applies": [
                {
                    "revision": applied.revision,
                    "actor": applied.actor,
                    "at": applied.at,
                    "adopted": applied.adopted,
                    "actions": [
                        {
                            "kind": c.kind,
                            "target": dict(c.target),
                            "before": c.before,
                            "after": c.after,
                            "adopted": c.adopted,
                        }
                        for c in applied.changes
                    ],
                }
                for applied in applies
            ],
        }
    )


def usage_json(usage: Usage) -> str:
    """Seats and renewals: `contracts`, each with `number`, `manager`, `ends`, `days_left` (as of
    `today`; negative once ended; null without `ends`), `renewal_due` (within `renewal_days`) and
    `serials`, each with `number`, `product`, `group`, `coordinator`, `seats`, `assigned`, `free`,
    `invited` and `stale_invites` (`user`, `invited_at`; empty unless `stale_after_days` is set)."""
    return dumps(
        {
            "format_version": FORMAT_VERSION,
            "store": {"lineage": usage.lineage, "revision": usage.revision},
            "today": usage.today,
            "renewal_days": usage.renewal_days,
            "stale_after_days": usage.stale_after_days,
            "contracts": [
                {
                    "number": c.number,
                    "manager": c.manager,
                    "ends": c.ends,
                    "days_left": c.days_left,
                    "renewal_due": c.renewal_due,
                    "serials": [
                        {
                            "number": s.number,
                            "product": s.product,
                            "group": s.group,
                            "coordinator": s.coordinator,
                            "seats": s.seats,
                            "assigned": s.assigned,
                            "free": s.free,
                            "invited": s.invited,
                            "stale_invites": [
                                {"user": i.user, "invited_at": i.invited_at} for i in s.stale_invites
                            ],
                        }
                        for s in c.serials
                    ],
                }
                for c in usage.contracts
            ],
        }
    )
