"""examples/github/approvals.sh, run with bash as apply.yml runs it, with real jq and a fake gh.

The fake answers the two calls the script makes (the pull request, its reviews) from canned JSON
and logs each call, so a test can say gh was never asked. It prints the reviews as `gh api
--paginate` does: one JSON array a page, one after another.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from required import require
from test_workflows import load, run_step, step_named, steps, stub

SCRIPT = EXAMPLES / "github" / "approvals.sh"
REPOSITORY = "cadpartners/licences"
PULL = "7"
AUTHOR = "carol"

FAKE_GH = f"""\
import json, sys
from pathlib import Path

here = Path(__file__).parent
with open(here / "gh.log", "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
if args == ["api", "repos/{REPOSITORY}/pulls/{PULL}", "--jq", ".user.login"]:
    print(json.loads((here / "pull.json").read_text())["user"]["login"])
elif args == ["api", "--paginate", "repos/{REPOSITORY}/pulls/{PULL}/reviews"]:
    for page in json.loads((here / "reviews.json").read_text()):
        print(json.dumps(page))
else:
    print("fake gh: unexpected call " + " ".join(args), file=sys.stderr)
    sys.exit(1)
"""


#: The head commit the plan was made for, and an earlier commit of the same pull request.
HEAD = "def5678" + "0" * 33
EARLIER = "abc1234" + "f" * 33


def review(login: str, state: str, commit: str = HEAD) -> dict[str, Any]:
    return {"user": {"login": login}, "state": state, "body": "", "commit_id": commit}


def policy(required: int, *names: str) -> dict[str, Any]:
    return {"required_approvals": required, "approvals_from": list(names), "rules": 5, "records": 120}


def run(
    tmp_path: Path,
    plan: dict[str, Any],
    pages: list[list[dict[str, Any]]],
    fake: str = FAKE_GH,
    head: str | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[list[str]], str]:
    """The script on `plan`, with the reviews `pages` (a list each), the gh `fake` (Python) and, when
    given, the planned `head` commit: what it printed, gh's calls, and what it wrote to the step summary."""
    for tool in ("bash", "jq"):
        require(
            "" if shutil.which(tool) else f"no {tool} on PATH", "the tests of approvals.sh", f"install {tool}"
        )
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    gh = bin_folder / "gh"
    gh.write_text(f"#!{sys.executable}\n{fake}", encoding="utf-8")
    gh.chmod(0o755)
    (bin_folder / "pull.json").write_text(
        json.dumps({"number": 7, "user": {"login": AUTHOR}}), encoding="utf-8"
    )
    (bin_folder / "reviews.json").write_text(json.dumps(pages), encoding="utf-8")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"format_version": 3, "actions": [], **plan}), encoding="utf-8")
    summary = tmp_path / "summary.md"
    done = subprocess.run(
        [
            "bash",
            "--noprofile",
            "--norc",
            str(SCRIPT),
            str(plan_file),
            PULL,
            *([] if head is None else [head]),
        ],
        env={
            "PATH": f"{bin_folder}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    log = bin_folder / "gh.log"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_no_approvals_required_asks_github_nothing(tmp_path: Path) -> None:
    done, calls, summary = run(tmp_path, {"policy": policy(0)}, [[review("alice", "APPROVED")]])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "No approving reviews are required by policy.\n"
    assert calls == []
    assert summary == "**Approvals:** none required by policy.\n"


@pytest.mark.parametrize("plan", [{}, {"policy": None}], ids=["an-older-plan", "no-policies"])
def test_a_plan_without_policies_requires_none(tmp_path: Path, plan: dict[str, Any]) -> None:
    done, calls, _ = run(tmp_path, plan, [])
    assert (done.returncode, done.stdout) == (0, "No approving reviews are required by policy.\n")
    assert calls == []


def test_enough_approvals_apply(tmp_path: Path) -> None:
    pages = [[review("bob", "APPROVED"), review("alice", "APPROVED")]]
    done, calls, summary = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "2 approving reviews (alice, bob); the plan requires 2 (policy big-seat-changes): applying\n"
    )
    assert calls == [
        ["api", f"repos/{REPOSITORY}/pulls/{PULL}", "--jq", ".user.login"],
        ["api", "--paginate", f"repos/{REPOSITORY}/pulls/{PULL}/reviews"],
    ]
    assert summary == "**Approvals:** 2 (alice, bob); the plan requires 2 (policy big-seat-changes).\n"


def test_a_later_request_for_changes_cancels_an_approval(tmp_path: Path) -> None:
    pages = [[review("alice", "APPROVED"), review("bob", "APPROVED"), review("bob", "CHANGES_REQUESTED")]]
    done, _, summary = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages)
    assert done.returncode == 1
    assert done.stdout == (
        "::error::the plan requires 2 approving reviews (policy big-seat-changes) "
        "and pull request #7 has 1 (alice); nothing applied\n"
    )
    assert summary == "**Approvals:** 1 (alice); the plan requires 2 (policy big-seat-changes).\n"


def test_the_authors_own_approval_does_not_count(tmp_path: Path) -> None:
    pages = [[review(AUTHOR, "APPROVED"), review("alice", "APPROVED")]]
    done, _, _ = run(tmp_path, {"policy": policy(2, "big-seat-changes", "admins")}, pages)
    assert done.returncode == 1
    assert done.stdout == (
        "::error::the plan requires 2 approving reviews (policies big-seat-changes, admins) "
        "and pull request #7 has 1 (alice); nothing applied\n"
    )


def test_a_later_comment_keeps_an_approval(tmp_path: Path) -> None:
    pages = [[review("alice", "APPROVED"), review("alice", "COMMENTED"), review("bob", "COMMENTED")]]
    done, _, _ = run(tmp_path, {"policy": policy(1, "big-seat-changes")}, pages)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "1 approving review (alice); the plan requires 1 (policy big-seat-changes): applying\n"
    )


def test_a_dismissal_cancels_an_approval(tmp_path: Path) -> None:
    pages = [[review("alice", "APPROVED"), review("alice", "DISMISSED")]]
    done, _, _ = run(tmp_path, {"policy": policy(1, "big-seat-changes")}, pages)
    assert done.returncode == 1
    assert done.stdout == (
        "::error::the plan requires 1 approving review (policy big-seat-changes) "
        "and pull request #7 has 0; nothing applied\n"
    )


def test_two_approvals_by_one_reviewer_count_once(tmp_path: Path) -> None:
    pages = [[review("alice", "APPROVED"), review("alice", "APPROVED")]]
    done, _, _ = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages)
    assert done.returncode == 1
    assert done.stdout == (
        "::error::the plan requires 2 approving reviews (policy big-seat-changes) "
        "and pull request #7 has 1 (alice); nothing applied\n"
    )


def test_the_reviews_of_every_page_count(tmp_path: Path) -> None:
    """--paginate prints each page's array: a reviewer's latest review may be on a later page."""
    first = [review("alice", "APPROVED"), review("bob", "APPROVED"), review("dan", "CHANGES_REQUESTED")]
    second = [review("bob", "CHANGES_REQUESTED"), review("dan", "APPROVED"), review("erin", "APPROVED")]
    done, _, _ = run(tmp_path, {"policy": policy(3, "big-seat-changes")}, [first, second])
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "3 approving reviews (alice, dan, erin); the plan requires 3 (policy big-seat-changes): applying\n"
    )


def test_an_approval_of_an_earlier_commit_does_not_count_for_the_planned_head(tmp_path: Path) -> None:
    """The plan was made for the head commit: bob approved the changes before the last push, not these."""
    pages = [[review("alice", "APPROVED", HEAD), review("bob", "APPROVED", EARLIER)]]
    done, _, summary = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages, head=HEAD)
    assert done.returncode == 1
    assert done.stdout == (
        "bob approved an earlier commit (abc1234), not the planned head def5678: not counted\n"
        "::error::the plan requires 2 approving reviews (policy big-seat-changes) "
        "and pull request #7 has 1 (alice); nothing applied\n"
    )
    assert summary == (
        "**Approvals:** 1 (alice); the plan requires 2 (policy big-seat-changes).\n"
        "- bob approved an earlier commit (abc1234), not the planned head def5678: not counted\n"
    )


def test_an_approval_of_the_planned_head_counts(tmp_path: Path) -> None:
    """bob approved an earlier commit, then the head again: his latest review counts."""
    pages = [
        [review("bob", "APPROVED", EARLIER), review("alice", "APPROVED", HEAD), review("bob", "APPROVED")]
    ]
    done, _, _ = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages, head=HEAD)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "2 approving reviews (alice, bob); the plan requires 2 (policy big-seat-changes): applying\n"
    )


def test_a_later_request_for_changes_on_an_earlier_commit_still_cancels(tmp_path: Path) -> None:
    """The latest review decides, whichever commit it was given on: an approval of the head that a
    later request for changes (on an older commit) cancels does not count, and is not named either."""
    pages = [[review("bob", "APPROVED", HEAD), review("bob", "CHANGES_REQUESTED", EARLIER)]]
    done, _, _ = run(tmp_path, {"policy": policy(1, "big-seat-changes")}, pages, head=HEAD)
    assert done.returncode == 1
    assert done.stdout == (
        "::error::the plan requires 1 approving review (policy big-seat-changes) "
        "and pull request #7 has 0; nothing applied\n"
    )


def test_without_a_head_an_approval_of_any_commit_counts(tmp_path: Path) -> None:
    """Called as before (PLAN_JSON PULL_NUMBER), the commit a review was given on is not looked at."""
    pages = [[review("alice", "APPROVED", HEAD), review("bob", "APPROVED", EARLIER)]]
    done, _, _ = run(tmp_path, {"policy": policy(2, "big-seat-changes")}, pages)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "2 approving reviews (alice, bob); the plan requires 2 (policy big-seat-changes): applying\n"
    )


@pytest.mark.parametrize("head", ["", "def5678", HEAD.upper()], ids=["empty", "short", "upper-case"])
def test_a_head_that_is_not_a_full_sha_applies_nothing(tmp_path: Path, head: str) -> None:
    """A head given must be one a review's commit_id can equal: not an empty or a short one."""
    done, calls, _ = run(tmp_path, {"policy": policy(1)}, [[review("alice", "APPROVED")]], head=head)
    assert done.returncode == 1
    assert done.stdout == (
        f'::error::the plan requires 1 approving review and "{head}" is not the full SHA of the commit '
        "it was made for; nothing applied\n"
    )
    assert calls == []


def test_a_failing_gh_applies_nothing(tmp_path: Path) -> None:
    fake = "import sys\nprint('HTTP 404: Not Found', file=sys.stderr)\nsys.exit(1)\n"
    done, _, summary = run(tmp_path, {"policy": policy(1)}, [], fake)
    assert done.returncode == 1
    assert done.stdout.startswith("::error::could not read pull request #7 or its reviews")
    assert "HTTP 404" in done.stderr and summary == ""


def test_the_script_is_what_apply_yml_runs() -> None:
    workflow = (EXAMPLES / "github" / "apply.yml").read_text(encoding="utf-8")
    assert 'bash .github/reconciler/approvals.sh reviewed/plan.json "$PULL" "$HEAD_SHA"' in workflow
    assert "to .github/reconciler/approvals.sh" in workflow.partition("\nname:")[0]
    assert SCRIPT.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")


@pytest.mark.parametrize(
    ("pulls", "code", "output"),
    [
        (
            '[{"number": 7, "head": {"sha": "abc123"}}, {"number": 9, "head": {"sha": "def456"}}]',
            0,
            "pull=7\nhead=abc123\n",
        ),
        ("[]", 1, ""),  # a push to main that no pull request brought
    ],
    ids=["from-a-pull-request", "pushed-directly"],
)
def test_the_download_step_gives_the_check_its_pull_request(
    tmp_path: Path, pulls: str, code: int, output: str
) -> None:
    """The step that downloads the plan finds the pull request it was reviewed on: its number is the
    check's, and its head commit the one whose plan is downloaded, and the only one whose approvals
    the check counts."""
    workflow = load(EXAMPLES / "github" / "apply.yml")
    download = step_named(workflow, "Download the reviewed plan")
    check = step_named(workflow, "Check the approvals the plan requires")
    assert check["env"]["PULL"] == f"${{{{ steps.{download['id']}.outputs.pull }}}}"
    assert check["env"]["HEAD_SHA"] == f"${{{{ steps.{download['id']}.outputs.head }}}}"
    names = [step.get("name") for step in steps(workflow)]
    assert names.index(download["name"]) < names.index(check["name"]) < names.index("Apply the reviewed plan")
    (tmp_path / "pulls.json").write_text(pulls, encoding="utf-8")
    # gh's --jq is jq's language: the stub runs the step's filter with jq.
    stub(
        tmp_path,
        "gh",
        'printf "%s\\n" "$*" >> "$RUNNER_TEMP/gh.log"\n'
        'case "$1 $2" in\n'
        '  "api repos/cadpartners/licences/commits/merged/pulls") jq -r "$4" "$RUNNER_TEMP/pulls.json" ;;\n'
        '  "run list") echo 42 ;;\n'
        "esac\n",
    )
    out = tmp_path / "output"
    done = run_step(
        download["run"],
        tmp_path,
        {"GITHUB_REPOSITORY": REPOSITORY, "GITHUB_SHA": "merged", "GITHUB_OUTPUT": str(out)},
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert (out.read_text() if out.exists() else "") == output
    if code == 0:
        calls = (tmp_path / "gh.log").read_text().splitlines()
        assert (
            "--commit abc123" in calls[1]
            and calls[2] == "run download 42 --name reconciler-plan --dir reviewed"
        )
