"""The GitHub Action (action.yml), run for real: its `run:` steps in order, with bash, as a runner would.

GitHub runs a composite action's bash steps as `bash --noprofile --norc -eo pipefail FILE`, each with
its own GITHUB_OUTPUT file, in the job's workspace; so does `run_action` here, with the inputs put in
each step's `env:` as the runner would put them. What cannot run here is left out and said so:
actions/setup-python (stood in for by a virtual environment whose python is first on PATH), the two
artifact uploads (they need the runner's artifact service) and the comment (gh and the GitHub API;
the one part of it that is ours, the filter that finds the comment, is tested with jq below).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import EXAMPLES, RESELLER, ROOT
from required import require

import reconciler
from reconciler.cli import cli
from reconciler.report.markdown import PLAN_MARKER
from reconciler.store import open_store

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Steps that need what a test has not: GitHub's API (the comment), and the runner's actions.
NOT_RUN_HERE = {"comment"}


@dataclass
class Run:
    """What running the action gave: its outputs, the steps that ran and how each ended."""

    outputs: dict[str, str]
    stdout: str
    failed: str | None  # the name of the step that failed, as the runner would report it
    summary: str
    ran: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment standing in for actions/setup-python: its `python` is first on PATH.

    The action's own install step installs the package into it. Its dependencies are this test
    environment's, seen through a .pth file, without this environment's own copy of the package,
    so that pip installs the wheel (not finds it already there) and needs no network.
    """
    home = tmp_path_factory.mktemp("runner-python")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / "venv")], check=True)
    deps = home / "deps"
    deps.mkdir()
    ours = ("reconciler", "licence_reconciler", "__editable__", "_licence_reconciler")
    for place in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for entry in Path(place).iterdir():
            if entry.name.startswith(ours) or entry.suffix == ".pth" or (deps / entry.name).exists():
                continue
            (deps / entry.name).symlink_to(entry)
    site = next((home / "venv").glob("lib/python*/site-packages"), None) or (
        home / "venv" / "Lib" / "site-packages"
    )
    (site / "test-dependencies.pth").write_text(f"{deps}\n", encoding="utf-8")
    yield home / "venv" / ("Scripts" if os.name == "nt" else "bin")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a wheel, built once: what the action's `install` input points at."""
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        require(f"could not build the wheel: {built.stderr.strip()}", "the action's tests", "reach PyPI")
    return next(out.glob("licence_reconciler-*.whl"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository with the example account in account/, and an empty SQLite store."""
    root = tmp_path / "workspace"
    shutil.copytree(EXAMPLES / "acme", root / "account")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", store])
    assert result.exit_code == 0, result.output
    return root


def run_action(
    inputs: dict[str, str], workspace: Path, python: Path, env: dict[str, str] | None = None
) -> Run:
    """Run the action's bash steps in order, as a runner would, stopping at the first that fails."""
    declared = ACTION["inputs"]
    assert set(inputs) <= set(declared), set(inputs) - set(declared)
    given = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    summary = workspace.parent / "summary.md"
    summary.touch()
    outer_bin = str(Path(sys.executable).parent)
    path = [str(python), *(p for p in os.environ["PATH"].split(os.pathsep) if p != outer_bin)]
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "RUNNER_", "RECONCILER_", "PYTHON", "VIRTUAL_ENV", "PIP_"))
    }
    base |= {
        "PATH": os.pathsep.join(path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": "acme/licences",
        "RUNNER_TEMP": str(temp),
        "RECONCILER_STORE": f"sqlite:///{workspace.parent / 'store.db'}",
        "RECONCILER_ACTOR": RESELLER,
        **(env or {}),
    }
    steps: dict[str, dict[str, str]] = {}

    def evaluate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("inputs."):
                return given[expression.removeprefix("inputs.")]
            if expression == "runner.temp":
                return str(temp)
            if found := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression):
                return steps.get(found.group(1), {}).get(found.group(2), "")
            raise AssertionError(f"the test runner does not know ${{{{ {expression} }}}}")

        return EXPRESSION.sub(one, text)

    run = Run(outputs={}, stdout="", failed=None, summary="")
    for number, step in enumerate(STEPS):
        if "uses" in step or step.get("id") in NOT_RUN_HERE:
            continue
        assert "if" not in step, f"{step['name']}: a step with a condition the test runner cannot judge"
        output = temp / f"output-{number}"
        output.write_text("", encoding="utf-8")  # each step's own, empty, as the runner gives it
        script = temp / f"step-{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        step_env = {name: evaluate(str(value)) for name, value in step.get("env", {}).items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env={**base, **step_env, "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
            check=False,
        )
        run.ran.append(step["name"])
        run.stdout += done.stdout + done.stderr
        steps[step.get("id", str(number))] = read_outputs(output.read_text(encoding="utf-8"))
        if done.returncode != 0:
            run.failed = step["name"]
            break
    run.outputs = {name: evaluate(spec["value"]) for name, spec in ACTION["outputs"].items()}
    run.summary = summary.read_text(encoding="utf-8")
    return run


def read_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def break_account(workspace: Path) -> None:
    contracts = workspace / "account" / "contracts.yaml"
    contracts.write_text(contracts.read_text().replace("seats: 10", "seats: 0", 1), encoding="utf-8")


def test_the_action_plans_an_account(workspace: Path, runner_python: Path, wheel: Path) -> None:
    run = run_action({"command": "plan", "paths": "account", "install": str(wheel)}, workspace, runner_python)
    assert run.failed is None, run.stdout
    assert run.ran == ["Install reconciler", "Run reconciler", "Fail when the command failed"]
    assert f"reconciler {reconciler.__version__} (licence-reconciler)\n" in run.stdout
    assert (run.outputs["exit-code"], run.outputs["changes"]) == ("2", "true")  # a new store: all to add
    plan = json.loads(Path(run.outputs["plan"]).read_text(encoding="utf-8"))
    assert plan["summary"]["add"] == 47 and plan["actor"] == RESELLER
    report = Path(run.outputs["report"])
    assert report.name == "plan.md" and report.parent == Path(run.outputs["plan"]).parent
    assert report.read_text(encoding="utf-8").startswith(PLAN_MARKER + "\n### reconciler plan: 47 to add")
    page = report.with_name("plan.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "### reconciler plan: 47 to add" in run.summary  # plan writes the job summary itself
    assert run.outputs["page-url"] == ""  # set by the upload, which does not run here


def test_quoted_arguments_keep_their_spaces_and_a_second_run_finds_no_old_plan(
    workspace: Path, runner_python: Path, wheel: Path
) -> None:
    first = run_action({"command": "plan", "install": str(wheel)}, workspace, runner_python)
    assert first.outputs["exit-code"] == "2" and Path(first.outputs["plan"]).is_file()
    targeted = run_action(
        {"command": "plan", "install": str(wheel), "format": "text", "args": '--target "team:Design Studio"'},
        workspace,
        runner_python,
    )
    assert targeted.outputs["exit-code"] == "2", targeted.stdout
    assert "Design Studio" in Path(targeted.outputs["report"]).read_text(encoding="utf-8")
    failing = run_action(
        {"command": "plan", "install": str(wheel), "args": "--target team:nobody"}, workspace, runner_python
    )
    assert failing.outputs["exit-code"] == "1"
    assert failing.outputs["plan"] == ""  # not the earlier run's plan
    assert not (Path(failing.outputs["report"]).parent / "plan.json").exists()


def test_apply_with_a_plan_file_that_is_missing_says_so(
    workspace: Path, runner_python: Path, wheel: Path
) -> None:
    run = run_action(
        {"command": "apply", "install": str(wheel), "plan": "reviewed/plan.json"}, workspace, runner_python
    )
    assert run.failed == "Run reconciler" and run.outputs["exit-code"] == "1"
    assert "::error title=reconciler apply::No plan file reviewed/plan.json" in run.stdout
    assert "Traceback" not in run.stdout


def test_the_action_applies_the_reviewed_plan_then_finds_no_drift(
    workspace: Path, runner_python: Path, wheel: Path
) -> None:
    install = {"install": str(wheel)}
    planned = run_action({"command": "plan", **install}, workspace, runner_python)
    reviewed = workspace / "reviewed" / "plan.json"
    reviewed.parent.mkdir()
    shutil.copy(planned.outputs["plan"], reviewed)
    applied = run_action(
        {"command": "apply", "plan": "reviewed/plan.json", **install}, workspace, runner_python
    )
    assert applied.failed is None, applied.stdout
    assert (applied.outputs["exit-code"], applied.outputs["plan"]) == ("0", "reviewed/plan.json")
    assert "### Applied, now at revision 1: " in applied.summary
    drift = run_action(
        {"command": "drift", "args": "--stale-invites 30", **install}, workspace, runner_python
    )
    # Nobody has signed in yet, but the invitations are minutes old: not stale after 30 days.
    assert drift.failed is None, drift.stdout
    assert (drift.outputs["exit-code"], drift.outputs["changes"]) == ("0", "false")
    assert Path(drift.outputs["report"]).name == "drift.md"
    again = run_action({"command": "plan", "format": "json", **install}, workspace, runner_python)
    assert (again.outputs["exit-code"], again.outputs["changes"]) == ("0", "false")
    assert json.loads(Path(again.outputs["report"]).read_text())["summary"]["add"] == 0


def test_the_action_applies_a_reviewed_plan_only_to_the_yaml_it_was_made_from(
    workspace: Path, runner_python: Path, wheel: Path
) -> None:
    planned = run_action({"command": "plan", "install": str(wheel)}, workspace, runner_python)
    users = workspace / "account" / "users.yaml"  # another merge came first
    users.write_text(users.read_text().replace("first_name: Alice", "first_name: Alicia"), encoding="utf-8")
    applied = run_action(
        {"command": "apply", "plan": planned.outputs["plan"], "install": str(wheel)}, workspace, runner_python
    )
    assert applied.failed == "Run reconciler" and applied.outputs["exit-code"] == "1"
    assert "::error title=reconciler apply::The YAML in account is not what " in applied.stdout
    assert open_store(f"sqlite:///{workspace.parent / 'store.db'}").snapshot().revision == 0


def test_the_action_reports_invalid_yaml_in_place_of_the_plan(
    workspace: Path, runner_python: Path, wheel: Path
) -> None:
    break_account(workspace)
    run = run_action({"command": "plan", "install": str(wheel)}, workspace, runner_python)
    assert run.failed == "Fail when the command failed"
    assert (run.outputs["exit-code"], run.outputs["changes"], run.outputs["plan"]) == ("1", "false", "")
    report = Path(run.outputs["report"]).read_text(encoding="utf-8")
    assert report.startswith(PLAN_MARKER + "\n### reconciler: invalid: 1 error in 1 file")
    assert (
        "- account/contracts.yaml:29:16: contracts\\[0\\].serials\\[0\\].seats: must be at least 1, not 0\n"
        in report
    )
    assert "::error title=reconciler::The account YAML is invalid" in run.stdout
    assert "::error file=account/contracts.yaml,line=" in run.stdout


def test_the_action_validates_with_annotations(workspace: Path, runner_python: Path, wheel: Path) -> None:
    good = run_action({"command": "validate", "install": str(wheel)}, workspace, runner_python)
    assert good.failed is None and good.outputs["exit-code"] == "0", good.stdout
    assert "::error" not in good.stdout
    break_account(workspace)
    bad = run_action({"command": "validate", "install": str(wheel)}, workspace, runner_python)
    assert bad.failed == "Fail when the command failed" and bad.outputs["exit-code"] == "1"
    assert "::error file=account/contracts.yaml,line=" in bad.stdout


def test_an_unknown_command_fails(workspace: Path, runner_python: Path, wheel: Path) -> None:
    run = run_action({"command": "destroy", "install": str(wheel)}, workspace, runner_python)
    assert run.failed == "Run reconciler"
    assert "::error title=reconciler action::command is validate, plan, apply or drift, not 'destroy'." in (
        run.stdout
    )


def test_the_comment_filter_finds_the_bots_plan_comment() -> None:
    jq = shutil.which("jq")
    require("" if jq else "no jq on PATH", "the test of the comment filter", "install jq")
    assert jq is not None
    comment = next(step for step in STEPS if step.get("id") == "comment")
    find = comment["env"]["FIND_COMMENT"]
    assert json.dumps(PLAN_MARKER) in find  # the marker every plan and invalid report starts with
    page = [
        {"id": 1, "user": {"type": "User"}, "body": PLAN_MARKER + "\nquoted by a person"},
        {"id": 2, "user": {"type": "Bot"}, "body": "<!-- reconciler:drift -->\nanother report"},
        {"id": 3, "user": {"type": "Bot"}, "body": "Thanks! " + PLAN_MARKER},
        {"id": 4, "user": {"type": "Bot"}, "body": PLAN_MARKER + "\n### reconciler plan: 1 to add"},
        {"id": 5, "user": {"type": "Bot"}, "body": PLAN_MARKER + "\n### a later one, never made"},
    ]
    found = subprocess.run([jq, find], input=json.dumps(page), capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["4", "5"]  # the step takes the first
    assert subprocess.run([jq, find], input="[]", capture_output=True, text=True, check=True).stdout == ""


def test_inputs_reach_the_scripts_only_through_the_environment() -> None:
    """`${{ inputs.paths }}` pasted into a script would run what a path says; env cannot."""
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash", step["name"]  # the one shell Linux, macOS and Windows all have


def test_the_action_installs_its_own_release_by_default() -> None:
    assert ACTION["inputs"]["version"]["default"] == reconciler.__version__
    assert ACTION["runs"]["using"] == "composite"
