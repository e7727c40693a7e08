"""`policy check`'s report: each verdict at its place, then the counts; as text, markdown, json or
GitHub workflow commands (report/github.py escapes them as `validate`'s annotations are escaped)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from reconciler.core.characters import scrub
from reconciler.core.errors import plural
from reconciler.core.plan import PolicyOutcome, Verdict
from reconciler.core.planfile import policy_to_json
from reconciler.report.escaping import inert
from reconciler.report.github import escape_data
from reconciler.report.json import dumps

#: What `policy check` says of files with no rule over records (a rule over the plan is plan's to judge).
NO_RULES = "No policy rules over records in these files (rules over the plan are judged by `plan`)."


def in_place_order(outcome: PolicyOutcome) -> list[Verdict]:
    """The verdicts by file, line and column, then rule: the order a reader goes through the files."""
    return sorted(outcome.verdicts, key=lambda v: (v.file, v.line, v.column, v.rule, v.record))


def summary(outcome: PolicyOutcome) -> str:
    """`3 rules over 1,234 records: 2 denied, 5 warnings, 0 could not be evaluated.`"""
    denied = sum(v.effect == "deny" for v in outcome.verdicts)
    errors = sum(v.effect == "error" for v in outcome.verdicts)
    warnings = len(outcome.warnings)
    asking = sum(v.effect == "require_approvals" for v in outcome.verdicts)
    said = [f"{denied:,} denied", f"{warnings:,} {plural(warnings, 'warning')}"]
    if asking:
        said.append(f"{asking:,} would need approvals")
    said.append(f"{errors:,} could not be evaluated")
    rules, records = outcome.rules, outcome.records
    return (
        f"{rules:,} {plural(rules, 'rule')} over {records:,} {plural(records, 'record')}: {', '.join(said)}."
    )


def render_text(outcome: PolicyOutcome) -> Iterator[str]:
    """One line per verdict, `FILE:LINE:COL: deny RULE: MESSAGE (RECORD)`, then the summary."""
    if not outcome.rules:
        yield NO_RULES
        return
    for verdict in in_place_order(outcome):
        place = f"{verdict.place}: " if verdict.place else ""
        yield scrub(f"{place}{verdict.effect} {verdict.rule}: {verdict.message} ({verdict.record})")
    yield summary(outcome)


def render_markdown(outcome: PolicyOutcome) -> str:
    """The summary, then a table of the verdicts; what users wrote made inert."""
    if not outcome.rules:
        return NO_RULES + "\n"
    lines = [f"**Policy check**: {summary(outcome)}"]
    if outcome.verdicts:
        lines += ["", "| where | effect | rule | record | message |", "|---|---|---|---|---|"]
        for v in in_place_order(outcome):
            cells = (v.place or "unknown", v.effect, v.rule, v.record, v.message)
            lines.append("| " + " | ".join(inert(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def policy_check_json(outcome: PolicyOutcome) -> str:
    """The counts and every verdict, in place order, each as a plan file holds it."""
    verdicts = policy_to_json(replace(outcome, verdicts=tuple(in_place_order(outcome))))["verdicts"]
    return dumps(
        {
            "rules": outcome.rules,
            "records": outcome.records,
            "denied": sum(v.effect == "deny" for v in outcome.verdicts),
            "warnings": len(outcome.warnings),
            "errors": sum(v.effect == "error" for v in outcome.verdicts),
            "verdicts": verdicts,
        }
    )


def annotation_lines(outcome: PolicyOutcome, files: Mapping[str, str]) -> Iterator[str]:
    """`::error` for a deny or a rule that could not be evaluated, `::warning` for the rest, on the
    record's file and line; `files` names each file as GitHub does (loading.repository_paths)."""
    for v in in_place_order(outcome):
        properties = [("file", files.get(v.file, v.file))] if v.file else []
        if v.line:
            properties += [("line", str(v.line)), ("col", str(v.column))]
        properties.append(("title", f"policy {v.rule}"))
        said = ",".join(f"{name}={_property(value)}" for name, value in properties)
        command = "error" if v.blocks else "warning"
        yield f"::{command} {said}::{escape_data(f'{v.message} ({v.record})')}"


def _property(value: str) -> str:
    """A workflow command's property value: its data's escaping, and `:` and `,`, which would end it."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")
