"""The GitHub workflows: valid YAML, and every `reconciler` command they run exists with its flags.

A workflow users copy is code that is never run here; this keeps it in step
with the command line it calls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from conftest import EXAMPLES, ROOT

from reconciler.cli import cli

EXAMPLE_WORKFLOWS = sorted((EXAMPLES / "github").glob("*.yml"))
WORKFLOWS = [*EXAMPLE_WORKFLOWS, *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]
# `reconciler SUBCOMMAND args…` up to a shell operator or a redirection.
INVOCATION = re.compile(r"(?:^|[\s;(&|])reconciler\s+([a-z][\w-]*)([^;&|<>)\n]*)")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def scripts(workflow: dict[Any, Any]) -> list[str]:
    """Every `run:` script, with backslash-continued lines joined."""
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                found.append(step["run"].replace("\\\n", " "))
    return found


def invocations(workflow: dict[Any, Any]) -> list[tuple[str, list[str]]]:
    return [(command, flags) for command, flags, _ in _calls(workflow)]


def _calls(workflow: dict[Any, Any]) -> list[tuple[str, list[str], str]]:
    """Each `reconciler` command a workflow runs: its name, its flags, and the rest of its line."""
    calls = []
    for script in scripts(workflow):
        for line in script.splitlines():
            for command, rest in INVOCATION.findall(line):
                calls.append((command, re.findall(r"(?<!\S)(--[\w-]+)", rest), rest))
    return calls


def test_the_expected_workflows_exist() -> None:
    assert [p.name for p in EXAMPLE_WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml"]
    assert (ROOT / ".github" / "workflows" / "ci.yml").exists()


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_a_workflow_is_valid_and_least_privileged(path: Path) -> None:
    workflow = load(path)
    # PyYAML reads YAML 1.1, where the key `on` is the boolean true.
    assert workflow.get("on", workflow.get(True)), "no trigger"
    assert isinstance(workflow.get("permissions"), dict), "permissions must be spelled out"
    assert workflow["permissions"].get("contents") == "read"
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]


@pytest.mark.parametrize("path", EXAMPLE_WORKFLOWS, ids=[p.name for p in EXAMPLE_WORKFLOWS])
def test_every_reconciler_command_a_workflow_runs_exists(path: Path) -> None:
    calls = _calls(load(path))
    assert calls, "the workflow runs no reconciler command"
    assert isinstance(cli, click.Group)
    for name, flags, rest in calls:
        command = cli.commands.get(name)
        assert command is not None, f"{path.name}: no command `reconciler {name}`"
        if isinstance(command, click.Group):  # `reconciler scim apply …`: the flags are the subcommand's
            name = f"{name} {rest.split()[0]}"
            command = command.commands.get(rest.split()[0])
            assert command is not None, f"{path.name}: no command `reconciler {name}`"
        known = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
        for flag in flags:
            assert flag in known, f"{path.name}: `reconciler {name}` has no {flag}"


def test_the_workflows_run_the_gitops_loop() -> None:
    by_file = {path.name: invocations(load(path)) for path in EXAMPLE_WORKFLOWS}
    assert ("plan", ["--format", "--out", "--detailed-exitcode"]) in by_file["plan.yml"]
    assert ("apply", ["--auto-approve"]) in by_file["apply.yml"]
    assert ("scim", ["--auto-approve"]) in by_file["apply.yml"]  # the push to the directory, after apply
    assert ("drift", ["--format", "--stale-invites"]) in by_file["drift.yml"]
    plan = load(EXAMPLES / "github" / "plan.yml")
    assert "<!-- reconciler:plan -->" in str(plan)  # the marker the markdown report starts with
    assert load(EXAMPLES / "github" / "drift.yml")["permissions"]["issues"] == "write"
    assert load(EXAMPLES / "github" / "apply.yml")["concurrency"]["cancel-in-progress"] is False


def test_the_invocation_pattern_reads_shell_lines() -> None:
    line = 'code=0; reconciler plan "$ACCOUNT" --format markdown --out plan.json > plan.md || code=$?'
    assert INVOCATION.findall(line) == [("plan", ' "$ACCOUNT" --format markdown --out plan.json ')]
    assert INVOCATION.findall("gh label create reconciler-drift --force") == []


def test_the_plan_comment_links_to_the_plan_as_a_page() -> None:
    plan = load(EXAMPLES / "github" / "plan.yml")
    steps = plan["jobs"]["plan"]["steps"]
    render = next(step for step in steps if "--format html" in step.get("run", ""))
    assert render["run"].strip() == "reconciler show plan.json --format html > plan.html"
    assert isinstance(cli, click.Group)
    show_format = next(p for p in cli.commands["show"].params if p.name == "output_format")
    assert isinstance(show_format.type, click.Choice) and "html" in show_format.type.choices
    # One file, not a zip, so that the link opens the page; the comment step reads its address.
    page = next(step for step in steps if step.get("with", {}).get("path") == "plan.html")
    assert page["uses"].startswith("actions/upload-artifact@") and page["with"]["archive"] is False
    assert int(page["uses"].rpartition("@v")[2]) >= 7  # `archive: false` came with v7
    comment = next(step for step in steps if step.get("uses", "").startswith("actions/github-script@"))
    assert comment["env"]["PLAN_PAGE_URL"] == f"${{{{ steps.{page['id']}.outputs.artifact-url }}}}"
    assert "process.env.PLAN_PAGE_URL" in comment["with"]["script"]
    # Rendered only from a plan that exists: the same condition as the step that saves it.
    saved = next(step for step in steps if step.get("name") == "Keep the plan for apply")
    assert render["if"] == page["if"] == saved["if"]
