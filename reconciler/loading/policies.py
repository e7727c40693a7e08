"""The policy rules' checks: each id once across the files, `approvals` where it belongs, and every
expression compiled against its variables, its errors placed inside it.

Without the `[policy]` extra, a file that has rules is told so once, and nothing is compiled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from reconciler.core.diagnostics import DocPath, Finding
from reconciler.core.model import Policy
from reconciler.policy.cel import MISSING_EXTRA, Problem, available, compile_rule

Document = tuple[str, Any]


def check_policies(documents: Sequence[Document]) -> list[Finding]:
    """Every problem of the `policies:` of `documents`, which passed the schema."""
    findings: list[Finding] = []
    first: dict[str, tuple[str, DocPath]] = {}
    compiling = available()
    for source, document in documents:
        rules = document.get("policies") or []
        if rules and not compiling:
            findings.append(Finding(source, ("policies",), MISSING_EXTRA, at_key=True))
        for index, raw in enumerate(rules):
            path: DocPath = ("policies", index)
            seen = first.setdefault(raw["id"], (source, path))
            if seen != (source, path):
                findings.append(
                    Finding(
                        source,
                        (*path, "id"),
                        f"policy {raw['id']} is declared twice; first at {{related}}",
                        related=(seen[0], (*seen[1], "id")),
                    )
                )
            findings.extend(_approvals(source, path, raw))
            if compiling:
                findings.extend(_compiled(source, path, raw))
    return findings


def _approvals(source: str, path: DocPath, raw: Any) -> Iterator[Finding]:
    wants = raw["effect"] == "require_approvals"
    if wants and "approvals" not in raw:
        yield Finding(
            source, (*path, "effect"), "effect require_approvals needs `approvals`: how many reviews"
        )
    elif not wants and "approvals" in raw:
        yield Finding(
            source,
            (*path, "approvals"),
            f"`approvals` goes only with effect require_approvals, and this rule's effect is {raw['effect']}",
        )


def _compiled(source: str, path: DocPath, raw: Any) -> Iterator[Finding]:
    policy = Policy(raw["id"], raw["applies_to"], raw["when"], raw["effect"])
    compiled = compile_rule(policy)
    if isinstance(compiled, Problem):
        yield Finding(
            source,
            (*path, "when"),
            f"policy {policy.id}: {compiled.message}",
            inside=(compiled.line, compiled.column),
        )
