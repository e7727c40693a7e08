"""The GitHub workflows and the action: valid YAML, and every `reconciler` command they run exists with its flags.

A workflow users copy is code that is never run here; this keeps it in step
with the command line it calls. A step that uses the action (action.yml) runs
the commands of the action's branch for its `command`, with its `args`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from conftest import EXAMPLES, ROOT

import reconciler
from reconciler.cli import cli

EXAMPLE_WORKFLOWS = sorted((EXAMPLES / "github").glob("*.yml"))
WORKFLOWS = [*EXAMPLE_WORKFLOWS, *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]
ACTION_FILE = ROOT / "action.yml"
# What the examples write for the action: a placeholder for the repository that publishes it (an
# underscore, which no GitHub account name has), at the tag of the release it installs.
ACTION_REF = f"RECONCILER_OWNER/reconciler@v{reconciler.__version__}"
# `reconciler SUBCOMMAND args…` up to a shell operator or a redirection.
INVOCATION = re.compile(r"(?:^|[\s;(&|])reconciler\s+([a-z][\w-]*)([^;&|<>)\n]*)")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(document: dict[Any, Any]) -> list[dict[Any, Any]]:
    """A workflow's steps, job after job, or a composite action's."""
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job["steps"]]


def scripts(document: dict[Any, Any]) -> list[str]:
    """Every `run:` script, with backslash-continued lines joined."""
    return [step["run"].replace("\\\n", " ") for step in steps(document) if "run" in step]


def invocations(workflow: dict[Any, Any]) -> list[tuple[str, list[str]]]:
    return [(command, flags) for command, flags, _ in _calls(workflow)]


def _calls_in(script: str) -> list[tuple[str, list[str], str]]:
    calls = []
    for line in script.splitlines():
        for command, rest in INVOCATION.findall(line):
            calls.append((command, re.findall(r"(?<!\S)(--[\w-]+)", rest), rest))
    return calls


def action_branch(command: str) -> str:
    """The part of the action's script that runs for `command` (its branch of the `case`)."""
    script = next(step["run"] for step in steps(load(ACTION_FILE)) if step.get("id") == "run")
    branch = re.search(rf"^\s*{re.escape(command)}\)\n(.*?)^\s*;;", script, re.MULTILINE | re.DOTALL)
    assert branch, f"the action has no command {command}"
    return branch.group(1).replace("\\\n", " ")


def _calls(document: dict[Any, Any]) -> list[tuple[str, list[str], str]]:
    """Each `reconciler` command a workflow or the action runs: its name, its flags, and the rest of its line."""
    calls = []
    for step in steps(document):
        if "run" in step:
            calls += _calls_in(step["run"].replace("\\\n", " "))
        elif step["uses"] == ACTION_REF:
            command, args = step["with"]["command"], step["with"].get("args", "")
            for name, flags, rest in _calls_in(action_branch(command)):
                extra = re.findall(r"(?<!\S)(--[\w-]+)", args) if name == command else []
                calls.append((name, flags + extra, rest + " " + args))
    return calls


def test_the_expected_workflows_exist() -> None:
    assert [p.name for p in EXAMPLE_WORKFLOWS] == ["apply.yml", "directory.yml", "drift.yml", "plan.yml"]
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
                assert step["uses"] == ACTION_REF or re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step[
                    "uses"
                ]


@pytest.mark.parametrize(
    "path", [*EXAMPLE_WORKFLOWS, ACTION_FILE], ids=[p.name for p in [*EXAMPLE_WORKFLOWS, ACTION_FILE]]
)
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
    assert ("validate", ["--format"]) in by_file["plan.yml"]
    assert ("plan", ["--format", "--out", "--detailed-exitcode"]) in by_file["plan.yml"]
    assert ("apply", ["--auto-approve"]) in by_file["apply.yml"]
    assert ("scim", ["--auto-approve"]) in by_file["apply.yml"]  # the push to the directory, after apply
    assert ("drift", ["--format", "--stale-invites"]) in by_file["drift.yml"]
    # plan → apply → notify: the mail apply queued goes out, in the same job, after the apply.
    names = [name for name, _ in by_file["apply.yml"]]
    assert names.index("apply") < names.index("scim") < names.index("notify")
    assert ("notify", []) in by_file["apply.yml"]
    apply_steps = steps(load(EXAMPLES / "github" / "apply.yml"))
    mail = next(step for step in apply_steps if step.get("run") == "reconciler notify")
    assert "steps.apply.outcome == 'success'" in mail["if"]  # also when the SCIM push failed
    env = load(EXAMPLES / "github" / "apply.yml")["env"]
    assert env["RECONCILER_SMTP_URL"] == "${{ secrets.RECONCILER_SMTP_URL }}"
    assert env["RECONCILER_MAIL_FROM"] == "${{ vars.RECONCILER_MAIL_FROM }}"
    # The reviewed plan, downloaded, is what the action applies, and only to main's YAML.
    applying = next(step for step in apply_steps if step.get("uses") == ACTION_REF)
    assert applying["with"]["plan"] == "reviewed/plan.json" and applying["with"]["paths"] == "account"
    assert "desired_digest" in action_branch("apply")
    assert load(EXAMPLES / "github" / "drift.yml")["permissions"]["issues"] == "write"
    assert load(EXAMPLES / "github" / "apply.yml")["concurrency"]["cancel-in-progress"] is False
    assert load(EXAMPLES / "github" / "plan.yml")["concurrency"]["cancel-in-progress"] is True
    # The directory's people: pulled on a schedule, pushed to one pull request when the file changed,
    # which plan.yml then plans (a pull request GITHUB_TOKEN opens starts no workflow: the pushes and
    # the pull request are made with a token that does), so that apply.yml finds its plan after the
    # merge. A refused pull (exit 3) fails the run, through the pipe into tee.
    directory = load(EXAMPLES / "github" / "directory.yml")
    assert "schedule" in directory.get("on", directory.get(True))
    assert [name for name, _ in by_file["directory.yml"]] == ["directory", "directory"]
    assert ("directory", ["--allow-shrink"]) in by_file["directory.yml"]
    pulling = next(step for step in steps(directory) if step.get("id") == "pull")
    assert "set -o pipefail" in pulling["run"]
    assert directory["env"]["RECONCILER_LDAP_PASSWORD"] == "${{ secrets.RECONCILER_LDAP_PASSWORD }}"
    token = "${{ secrets.DIRECTORY_PR_TOKEN }}"
    assert directory["env"]["GH_TOKEN"] == token
    checkout = next(step for step in steps(directory) if step.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["token"] == token
    assert directory["permissions"] == {"contents": "read"}


def test_the_settings_the_workflows_name_are_read_by_reconciler() -> None:
    """A RECONCILER_ variable a workflow sets is one the code reads: a misspelt one is silently ignored."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "reconciler").rglob("*.py"))
    for path in EXAMPLE_WORKFLOWS:
        for name in re.findall(r"\b(RECONCILER_[A-Z_]+)\s*:", path.read_text(encoding="utf-8")):
            assert f'"{name}"' in source, f"{path.name}: reconciler does not read {name}"


def test_the_invocation_pattern_reads_shell_lines() -> None:
    line = 'code=0; reconciler plan "$ACCOUNT" --format markdown --out plan.json > plan.md || code=$?'
    assert INVOCATION.findall(line) == [("plan", ' "$ACCOUNT" --format markdown --out plan.json ')]
    assert INVOCATION.findall("gh label create reconciler-drift --force") == []


def test_the_plan_comment_links_to_the_plan_as_a_page() -> None:
    action = load(ACTION_FILE)
    assert re.search(
        r'^\s*reconciler show "\$OUT/plan.json" --format html > "\$OUT/plan.html"$',
        action_branch("plan"),
        re.M,
    )
    assert isinstance(cli, click.Group)
    show_format = next(p for p in cli.commands["show"].params if p.name == "output_format")
    assert isinstance(show_format.type, click.Choice) and "html" in show_format.type.choices
    # One file, not a zip, so that the link opens the page; the comment step reads its address.
    page = next(step for step in steps(action) if step.get("id") == "page")
    assert page["with"]["path"] == "${{ steps.run.outputs.page }}"
    assert page["uses"].startswith("actions/upload-artifact@") and page["with"]["archive"] is False
    assert int(page["uses"].rpartition("@v")[2]) >= 7  # `archive: false` came with v7
    comment = next(step for step in steps(action) if step.get("id") == "comment")
    assert comment["env"]["PAGE_URL"] == f"${{{{ steps.{page['id']}.outputs.artifact-url }}}}"
    assert '"$PAGE_URL"' in comment["run"]
    assert action["outputs"]["page-url"]["value"] == comment["env"]["PAGE_URL"]
    # The saved plan and its report are kept for apply.yml, under the name it downloads.
    kept = next(step for step in steps(action) if step.get("name") == "Keep the plan for apply")
    assert kept["with"]["name"] == "reconciler-plan"
    assert "--name reconciler-plan" in "\n".join(scripts(load(EXAMPLES / "github" / "apply.yml")))


def test_the_examples_use_this_release_of_the_action() -> None:
    for path in EXAMPLE_WORKFLOWS:
        if path.name == "directory.yml":  # installs the package itself: the action needs a whole account
            installs = [s["run"] for s in steps(load(path)) if "pip install" in s.get("run", "")]
            assert installs == [
                f'python -m pip install --quiet "licence-reconciler[ldap]=={reconciler.__version__}"'
            ]
            continue
        used = [step["uses"] for step in steps(load(path)) if "reconciler" in step.get("uses", "")]
        assert used == [ACTION_REF], path.name
        header = path.read_text(encoding="utf-8").partition("\nname:")[0]
        assert "RECONCILER_OWNER/reconciler" in header, (
            f"{path.name}: the header must say what the placeholder is"
        )
