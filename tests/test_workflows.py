"""The GitHub workflows and the action: valid YAML, and every `reconciler` command they run exists with its flags.

A workflow users copy is code that is never run here; this keeps it in step
with the command line it calls. A step that uses the action (action.yml) runs
the commands of the action's branch for its `command`, with its `args`.

The workspace's workflows (many accounts in one repository) hold scripts of
their own: which accounts a push changed, a comment that must fit GitHub's
limit. Those are run here with bash, `reconciler` and `gh` stubbed, as the
runner runs them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from conftest import EXAMPLES, ROOT
from required import require

import reconciler
from reconciler.cli import cli
from reconciler.loading.workspace import VARIABLE
from reconciler.report.accounts import PLANS_MARKER

EXAMPLE_WORKFLOWS = sorted((EXAMPLES / "github").glob("*.yml"))
WORKFLOWS = [*EXAMPLE_WORKFLOWS, *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]
ACTION_FILE = ROOT / "action.yml"
# What the examples write for the action: a placeholder for the repository that publishes it (an
# underscore, which no GitHub account name has), at the tag of the release it installs.
ACTION_REF = f"RECONCILER_OWNER/reconciler@v{reconciler.__version__}"
#: The examples that install the package with pip instead of using the action (their headers say why).
PIP_EXAMPLES = {"directory.yml", "workspace-apply.yml", "workspace-drift.yml", "workspace-plan.yml"}
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
    assert [p.name for p in EXAMPLE_WORKFLOWS] == [
        "apply.yml",
        "directory.yml",
        "drift.yml",
        "plan.yml",
        "workspace-apply.yml",
        "workspace-drift.yml",
        "workspace-plan.yml",
    ]
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
        command = cli.get_command(click.Context(cli), name)
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


def test_the_nightly_workflow_reminds_delivers_then_tidies_what_expired() -> None:
    """drift.yml: drift, then the reminders queued and delivered; then, in a job of its own that may push
    a branch and open a pull request, the YAML without what expired and was applied."""
    workflow = load(EXAMPLES / "github" / "drift.yml")
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    drift, expired = workflow["jobs"]["drift"], workflow["jobs"]["expired"]
    assert [name for name, _ in invocations({"jobs": {"drift": drift}})] == ["drift", "remind", "notify"]
    remind = next(step for step in drift["steps"] if step.get("run") == "reconciler remind")
    assert "steps.drift.outcome == 'success'" in remind["if"]  # also on drift: reminders are due anyway
    # The tidying job runs after the drift job whatever it found, with the rights to push and open one
    # pull request, and no others.
    assert expired["needs"] == "drift" and expired["if"] == "${{ !cancelled() }}"
    assert expired["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert expired["concurrency"]["cancel-in-progress"] is False
    token = "${{ secrets.EXPIRED_PR_TOKEN || github.token }}"
    assert expired["env"]["GH_TOKEN"] == token
    (checkout,) = checkouts(expired)
    assert checkout["with"]["token"] == token
    assert invocations({"jobs": {"expired": expired}}) == [
        ("validate", ["--format"]),
        ("fmt", ["--drop-expired"]),
    ]
    script = "\n".join(step.get("run", "") for step in expired["steps"])
    for command in ("gh pr create", "gh pr edit", "gh pr close", 'git push --force origin "$BRANCH"'):
        assert command in script
    assert "set -o pipefail" in step_named(workflow, "Drop what expired and was applied")["run"]


def test_the_nightly_workflow_checks_every_policy_rule_over_the_account() -> None:
    """drift.yml's job `policy`: `reconciler policy check --format github` over main's YAML, each verdict
    annotated on its line, after the action installed reconciler with the extra the rules need. Nothing
    catches its exit code, so a denial (exit 3) fails the job."""
    workflow = load(EXAMPLES / "github" / "drift.yml")
    job = workflow["jobs"]["policy"]
    assert job["permissions"] == {"contents": "read"}  # reads the YAML only: no issue, no store
    assert job["env"]["RECONCILER_ACTOR"] == "${{ vars.RECONCILER_ACTOR }}"  # `actor`, as plan.yml plans
    calls = _calls({"jobs": {"policy": job}})
    assert [(name, flags) for name, flags, _ in calls] == [
        ("validate", ["--format"]),
        ("policy", ["--format"]),
    ]
    assert calls[1][2].split() == ["check", "account", "--format", "github"]
    installing = next(step for step in job["steps"] if step.get("uses") == ACTION_REF)
    assert "policy" in installing["with"]["extras"].split(",")
    checking = step_named(workflow, "Check every policy rule over the whole account")
    assert checking["run"].strip() == "reconciler policy check account --format github"
    assert "continue-on-error" not in checking and "if" not in checking
    names = [step.get("name") for step in job["steps"]]
    assert names.index(installing["name"]) < names.index(checking["name"])


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLE_WORKFLOWS if p.name not in PIP_EXAMPLES], ids=lambda p: p.name
)
def test_the_action_installs_the_policy_extra_in_every_example(path: Path) -> None:
    """An account with `policies:` is invalid without the CEL library: every command that reads it
    (validate, plan, apply, drift, fmt) needs the extra, or the job fails before it plans anything."""
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == ACTION_REF:
                assert "policy" in step["with"].get("extras", "").split(","), (
                    f"{path.name}: {step.get('name')}"
                )


@pytest.mark.parametrize(
    ("printed", "changed"),
    [
        ("dropped from account/users.yaml: the user dan@acme.example (expired 2027-02-01)", "true"),
        ("0 expired entries dropped, 1 kept.", "false"),  # a file fmt laid out is no reason for a PR
    ],
)
def test_the_nightly_drop_says_changed_only_for_what_it_dropped(
    tmp_path: Path, printed: str, changed: str
) -> None:
    step = step_named(load(EXAMPLES / "github" / "drift.yml"), "Drop what expired and was applied")
    _repository(tmp_path)
    stub(tmp_path, "reconciler", f'echo "{printed}"\necho "# laid out" >> account/users.yaml\n')
    output = tmp_path / "output"
    done = run_step(step["run"], tmp_path, {"ACCOUNT": "account", "GITHUB_OUTPUT": str(output)})
    assert done.returncode == 0, done.stderr
    assert output.read_text() == f"changed={changed}\n"
    assert (tmp_path / "dropped.txt").read_text() == printed + "\n"


def test_the_nightly_pull_request_is_opened_once_and_left_alone_when_it_holds_the_files(
    tmp_path: Path,
) -> None:
    workflow = load(EXAMPLES / "github" / "drift.yml")
    step = step_named(workflow, "Push the branch and open or update the pull request")
    origin = _repository(tmp_path)
    (tmp_path / "account" / "users.yaml").write_text("version: 1\n", encoding="utf-8")
    (tmp_path / "dropped.txt").write_text("dropped from account/users.yaml: the user dan@acme.example\n")
    stub(tmp_path, "gh", 'printf "%s\\n" "$*" >> "$RUNNER_TEMP/gh.log"\n')
    env = {"ACCOUNT": "account", "BRANCH": "reconciler/expired", "BASE": "main", "OWN_TOKEN": "false"}
    done = run_step(step["run"], tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    pushed = subprocess.run(
        ["git", "show", "reconciler/expired:account/users.yaml"], cwd=origin, capture_output=True, text=True
    )
    assert pushed.stdout == "version: 1\n"
    calls = (tmp_path / "gh.log").read_text().splitlines()
    assert (
        calls[0] == "pr list --head reconciler/expired --state open --json number --jq .[0].number // empty"
    )
    assert calls[1].startswith("pr create --head reconciler/expired --base main --title Drop the expired")
    body = (tmp_path / "body.md").read_text()
    assert "the user dan@acme.example" in body and "close and reopen it" in body
    # The next night finds the same: the branch holds it already, and nothing is pushed or opened again.
    subprocess.run(["git", "switch", "--quiet", "main"], cwd=tmp_path, check=True)
    (tmp_path / "account" / "users.yaml").write_text("version: 1\n", encoding="utf-8")
    (tmp_path / "gh.log").unlink()
    done = run_step(step["run"], tmp_path, env)
    assert done.returncode == 0 and "holds these files already" in done.stdout
    assert not (tmp_path / "gh.log").exists()


def _repository(folder: Path) -> Path:
    """A clone in `folder` of a new repository (returned, bare) whose main holds account/users.yaml."""
    origin = folder / "origin.git"
    git = ["git", "-c", "user.name=CI", "-c", "user.email=ci@cadpartners.example"]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    (folder / "account").mkdir()
    (folder / "account" / "users.yaml").write_text("version: 1\nusers: []\n", encoding="utf-8")
    subprocess.run(["git", "add", "account"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "account"], cwd=folder, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(origin)], cwd=folder, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=folder, check=True)
    return origin


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
    show = cli.get_command(click.Context(cli), "show")
    assert show is not None
    show_format = next(p for p in show.params if p.name == "output_format")
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
        if path.name in PIP_EXAMPLES:  # installs the package itself (its header says why)
            installs = [s["run"] for s in steps(load(path)) if "pip install" in s.get("run", "")]
            extras = "ldap" if path.name == "directory.yml" else "postgresql,policy"
            assert installs == [
                f'python -m pip install --quiet "licence-reconciler[{extras}]=={reconciler.__version__}"'
            ] * len(load(path)["jobs"]), path.name
            continue
        # Once in each job: the action installs reconciler for the job's later steps too.
        for job in load(path)["jobs"].values():
            used = [step["uses"] for step in job["steps"] if "reconciler" in step.get("uses", "")]
            assert used == [ACTION_REF], path.name
        header = path.read_text(encoding="utf-8").partition("\nname:")[0]
        assert "RECONCILER_OWNER/reconciler" in header, (
            f"{path.name}: the header must say what the placeholder is"
        )


# --- many accounts: the workspace's workflows -------------------------------------------------------

WORKSPACE_FILE = EXAMPLES / "workspace" / "reconciler.yaml"
WORKSPACE_PLAN = EXAMPLES / "github" / "workspace-plan.yml"
WORKSPACE_APPLY = EXAMPLES / "github" / "workspace-apply.yml"
WORKSPACE_DRIFT = EXAMPLES / "github" / "workspace-drift.yml"
WORKSPACE_WORKFLOWS = [WORKSPACE_PLAN, WORKSPACE_APPLY, WORKSPACE_DRIFT]
MARKER = PLANS_MARKER  # the workflow finds its comment by the marker the report starts with
#: GitHub's longest comment, in characters.
COMMENT_LIMIT = 65_536


def step_named(workflow: dict[Any, Any], name: str) -> dict[Any, Any]:
    return next(step for step in steps(workflow) if step.get("name") == name)


def checkouts(job: dict[Any, Any]) -> list[dict[Any, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]


def run_step(script: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A step's script as the runner runs it (bash -eo pipefail), with stubs first on PATH."""
    for tool in ("bash", "jq", "git"):
        require(
            "" if shutil.which(tool) else f"no {tool} on PATH",
            "the workspace workflows' scripts",
            f"install {tool}",
        )
    file = tmp_path / "step.sh"
    file.write_text(script, encoding="utf-8")
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(file)],
        env={"PATH": path, "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def stub(tmp_path: Path, name: str, script: str) -> None:
    """A command of that name, first on run_step's PATH, that runs `script` (sh)."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n" + script, encoding="utf-8")
    (folder / name).chmod(0o755)


def test_the_workspace_workflows_set_every_variable_the_workspace_file_names() -> None:
    """The file is read whole, so a variable it names and a workflow leaves unset stops every command."""
    lines = WORKSPACE_FILE.read_text(encoding="utf-8").splitlines()
    named = {name for line in lines if not line.lstrip().startswith("#") for name in VARIABLE.findall(line)}
    assert named == {"ACME_STORE", "LICENCES_DB_PASSWORD", "RECONCILER_SMTP_URL"}
    for path in WORKSPACE_WORKFLOWS:
        env = load(path)["env"]
        for name in named:
            assert env.get(name) == f"${{{{ secrets.{name} }}}}", f"{path.name}: {name}"


def test_workspace_plan_plans_the_changed_accounts_with_the_whole_history() -> None:
    workflow = load(WORKSPACE_PLAN)
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "pull_request" in workflow.get("on", workflow.get(True))
    (job,) = workflow["jobs"].values()
    (checkout,) = checkouts(job)
    assert checkout["with"]["fetch-depth"] == 0  # --changed needs the base branch and the merge base
    calls = invocations(workflow)
    assert ("plan", ["--changed", "--format", "--out", "--detailed-exitcode"]) in calls
    assert ("plan", ["--changed", "--format"]) in calls  # the same report as one HTML page
    planning = step_named(workflow, "Plan the accounts the pull request changed")["run"]
    assert '--format markdown --out "$out/plans"' in planning and "--format html" in planning
    assert 'out="$RUNNER_TEMP/reconciler"' in planning  # outside the checkout: no untracked change
    kept = {step["with"]["path"] for step in job["steps"] if "upload-artifact@" in step.get("uses", "")}
    assert kept == {"${{ runner.temp }}/reconciler/plans", "${{ runner.temp }}/reconciler/plan.html"}


def test_workspace_plan_finds_its_own_comment_by_the_marker() -> None:
    jq = shutil.which("jq")
    require("" if jq else "no jq on PATH", "the test of the comment filter", "install jq")
    assert jq
    workflow = load(WORKSPACE_PLAN)
    assert workflow["env"]["MARKER"] == MARKER
    find = step_named(workflow, "Post or update the plan comment")["env"]["FIND_COMMENT"]
    page = [
        {"id": 1, "user": {"type": "User"}, "body": f"{MARKER}\nquoted by a person"},
        {"id": 2, "user": {"type": "Bot"}, "body": "<!-- reconciler:plan -->\none account's plan"},
        {"id": 3, "user": {"type": "Bot"}, "body": f"{MARKER}\n| account | add |"},
    ]
    found = subprocess.run([jq, find], input=json.dumps(page), capture_output=True, text=True, check=True)
    assert found.stdout == "3\n"


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        ("| account | add |\n", f"{MARKER}\n| account | add |\n\n[Every account's plan as one page]"),
        (f"{MARKER}\n| account | add |\n", f"{MARKER}\n| account | add |\n\n[Every account's plan"),
        ("x" * (COMMENT_LIMIT - 100), f"{MARKER}\n{'x' * (COMMENT_LIMIT - 100)}\n"),
        ("é" * COMMENT_LIMIT, f"{MARKER}\nThe plan is longer than a comment may be"),
        ("", f"{MARKER}\nNo plan: the run stopped before the plan was written."),
    ],
    ids=["short", "marked-already", "no-room-for-the-link", "too-long", "no-report"],
)
def test_workspace_plan_posts_one_comment_that_never_exceeds_githubs_limit(
    tmp_path: Path, report: str, expected: str
) -> None:
    """The comment step, run with a stub of gh: the report, marked once, and the link to the page
    where there is room; a pointer to the run when even the report has none."""
    workflow = load(WORKSPACE_PLAN)
    step = step_named(workflow, "Post or update the plan comment")
    (tmp_path / "reconciler").mkdir()
    (tmp_path / "reconciler" / "plan.md").write_text(report, encoding="utf-8")
    stub(tmp_path, "gh", 'printf "%s\\n" "$*" >> "$RUNNER_TEMP/gh.log"\n')
    done = run_step(
        step["run"],
        tmp_path,
        {
            "MARKER": workflow["env"]["MARKER"],
            "FIND_COMMENT": step["env"]["FIND_COMMENT"],
            "PULL_REQUEST": "7",
            "GITHUB_REPOSITORY": "cadpartners/licences",
            "PAGE_URL": "https://github.com/cadpartners/licences/actions/runs/1/artifacts/2",
            "RUN_URL": "https://github.com/cadpartners/licences/actions/runs/1",
        },
    )
    assert done.returncode == 0, done.stderr
    body = (tmp_path / "reconciler" / "comment.md").read_text(encoding="utf-8")
    assert body.startswith(expected) and body.count(MARKER) == 1
    assert len(body.rstrip("\n")) <= COMMENT_LIMIT
    calls = (tmp_path / "gh.log").read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("api --paginate repos/cadpartners/licences/issues/7/comments --jq ")
    assert calls[1:] == [
        f"api --method POST repos/cadpartners/licences/issues/7/comments -F body=@{tmp_path}/reconciler/comment.md"
    ]


def test_workspace_plan_fails_the_check_on_a_blocked_account_and_says_so() -> None:
    workflow = load(WORKSPACE_PLAN)
    failing = step_named(workflow, "Fail when an account is blocked or could not be planned")
    assert failing["env"]["CODE"] == "${{ steps.plan.outputs.exit-code }}"
    for code, exit_code, words in [
        ("0", 0, ""),
        ("2", 0, ""),
        ("3", 3, "apply would refuse the plan of at least one account"),
        ("1", 1, "could not be read or planned"),
    ]:
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", failing["run"]],
            env={"PATH": os.environ["PATH"], "CODE": code},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == exit_code
        assert (words in done.stdout) and (("::error" in done.stdout) == bool(words))


def test_workspace_apply_applies_each_account_in_a_job_of_its_own_one_at_a_time() -> None:
    workflow = load(WORKSPACE_APPLY)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow.get("on", workflow.get(True))["push"]["branches"] == ["main"]
    finding, applying = workflow["jobs"]["accounts"], workflow["jobs"]["apply"]
    (checkout,) = checkouts(finding)
    assert checkout["with"]["fetch-depth"] == 0  # the commit before the push
    assert applying["needs"] == "accounts"
    assert applying["strategy"]["matrix"]["account"] == "${{ fromJSON(needs.accounts.outputs.names) }}"
    assert applying["strategy"]["fail-fast"] is False
    assert "needs.accounts.outputs.names != '[]'" in applying["if"]  # an empty matrix is an error
    assert applying["concurrency"] == {
        "group": "reconciler-apply-${{ matrix.account }}",
        "cancel-in-progress": False,
    }
    (checkout,) = checkouts(applying)
    assert checkout["with"]["ref"] == "${{ github.ref }}"  # main as it is, not the pushed commit
    assert applying["env"]["ACCOUNT"] == "${{ matrix.account }}"
    calls = invocations({"jobs": {"apply": applying}})
    assert calls == [("apply", ["--account", "--auto-approve"]), ("notify", ["--account"])]
    mail = step_named(workflow, "Deliver the e-mails still queued")
    assert "steps.apply.outcome == 'success'" in mail["if"]


@pytest.mark.parametrize(
    ("before", "selection"),
    [
        ("HEAD~1", "plan --changed --base {before} --format json"),
        ("0" * 40, "plan --all --format json"),
        ("1" * 40, "plan --all --format json"),
    ],
    ids=["a-push", "a-new-branch", "a-force-push-whose-old-head-is-gone"],
)
def test_workspace_apply_finds_the_accounts_whose_plan_has_something_to_do(
    tmp_path: Path, before: str, selection: str
) -> None:
    step = step_named(load(WORKSPACE_APPLY), "Find the accounts to apply")
    git = ["git", "-c", "user.name=CI", "-c", "user.email=ci@cadpartners.example"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for message in ("first", "second"):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], cwd=tmp_path, check=True)
    if before == "HEAD~1":
        before = subprocess.run(
            ["git", "rev-parse", "HEAD~1"], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.strip()
    report = {
        "format_version": 1,
        "accounts": [
            {"name": "acme", "status": "changes", "plan": {}},
            {"name": "nordwind", "status": "done", "plan": {}},
            {"name": "brightwater", "status": "blocked", "plan": {}},
        ],
    }
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    stub(
        tmp_path,
        "reconciler",
        'printf "%s\\n" "$*" >> "$RUNNER_TEMP/reconciler.log"\ncat "$RUNNER_TEMP/report.json"\nexit 3\n',
    )
    output = tmp_path / "output"
    done = run_step(
        step["run"],
        tmp_path,
        {"BEFORE": before, "TO_APPLY": step["env"]["TO_APPLY"], "GITHUB_OUTPUT": str(output)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "reconciler.log").read_text() == selection.format(before=before) + "\n"
    assert output.read_text() == 'names=["acme","brightwater"]\n'  # blocked too: its job says why
    assert "Accounts to apply: acme, brightwater" in done.stdout


def test_workspace_apply_stops_when_the_accounts_cannot_be_told_or_are_too_many(tmp_path: Path) -> None:
    step = step_named(load(WORKSPACE_APPLY), "Find the accounts to apply")
    many = {"format_version": 1, "accounts": [{"name": f"a{n}", "status": "changes"} for n in range(257)]}
    for printed, said in [
        ("Error: reconciler.yaml:3:5: ...", "could not tell which accounts changed"),
        ("", "could not tell which accounts changed"),  # as reconciler stops: its error on stderr only
        (json.dumps(many), "257 accounts to apply, more than a matrix's 256 jobs"),
    ]:
        (tmp_path / "report.json").write_text(printed, encoding="utf-8")
        stub(tmp_path, "reconciler", 'cat "$RUNNER_TEMP/report.json"\necho "Error: …" >&2\nexit 1\n')
        done = run_step(
            step["run"],
            tmp_path,
            {"BEFORE": "", "TO_APPLY": step["env"]["TO_APPLY"], "GITHUB_OUTPUT": str(tmp_path / "out")},
        )
        assert done.returncode == 1 and "::error::" in done.stdout and said in done.stdout, done.stdout
        assert not (tmp_path / "out").exists()


def test_workspace_drift_reports_every_account_in_one_issue() -> None:
    workflow = load(WORKSPACE_DRIFT)
    assert "schedule" in workflow.get("on", workflow.get(True))
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    assert ("drift", ["--all", "--format", "--stale-invites"]) in invocations(workflow)
    issue = step_named(workflow, "Open, update or close the drift issue")["run"]
    for command in ('gh issue list --label "$LABEL"', "gh issue edit", "gh issue create", "gh issue close"):
        assert command in issue
    assert "$GITHUB_STEP_SUMMARY" in issue
    assert workflow["env"]["LABEL"] == "reconciler-workspace-drift"
