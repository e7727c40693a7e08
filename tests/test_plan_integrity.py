"""A saved plan is known by its content, whatever its name.

`plan --out acme.plan` then `apply acme.plan` applies the plan; a YAML file
named `x.json`, or desired-state written in JSON syntax, is YAML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, RESELLER, ROOT, WriteYaml

from reconciler.cli import cli
from reconciler.commands.apply import is_saved_plan
from reconciler.store import open_store


def reconciler(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def save(store_url: str, path: Path, out: Path, actor: str = RESELLER) -> Result:
    return reconciler("plan", str(path), "--out", str(out), "--actor", actor, "--store", store_url)


def apply_saved(store_url: str, out: Path, *options: str, actor: str = RESELLER) -> Result:
    return reconciler("apply", str(out), "--auto-approve", *options, "--actor", actor, "--store", store_url)


# --- 3. a saved plan is known by its content -----------------------------------------------------


def test_a_saved_plan_is_known_by_its_content_whatever_its_name(store_url: str, tmp_path: Path) -> None:
    account = tmp_path / "account.yaml"
    account.write_text(ACCOUNT)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RECONCILER_STORE": store_url,
        "RECONCILER_ACTOR": RESELLER,
    }
    env.pop("RECONCILER_PLAN_KEY", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args], env=env, capture_output=True, text=True, check=False
        )

    assert run("plan", str(account), "--out", str(tmp_path / "acme.plan")).returncode == 0
    assert run("show", str(tmp_path / "acme.plan")).returncode == 0
    applied = run("apply", str(tmp_path / "acme.plan"), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 9 added, 1 changed, 0 removed. The store is at revision 1." in applied.stdout


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ACCOUNT, id="yaml"),
        pytest.param(
            json.dumps(
                {"version": 1, "users": [{"email": "x@acme.example", "first_name": "X", "last_name": "Y"}]}
            ),
            id="json-syntax",
        ),
    ],
)
def test_yaml_named_json_is_still_yaml(store_url: str, tmp_path: Path, text: str) -> None:
    path = tmp_path / "account.json"
    path.write_text(text)
    assert not is_saved_plan([str(path)])
    result = apply_saved(store_url, path)
    assert result.exit_code == 0, result.stderr
    assert open_store(store_url).snapshot().revision == 1


def test_what_is_a_saved_plan(store_url: str, write_yaml: WriteYaml, tmp_path: Path) -> None:
    out = tmp_path / "saved"
    assert save(store_url, write_yaml(ACCOUNT), out).exit_code == 0
    by_hand = tmp_path / "by-hand.txt"
    by_hand.write_text('\n {"format_version": 3}')
    old = tmp_path / "old.yml"
    old.write_text('{"format_version": 1, "actions": []}')
    assert [is_saved_plan([str(p)]) for p in (out, by_hand, old)] == [True, True, True]
    assert not is_saved_plan([str(out), str(out)])
    assert not is_saved_plan([str(tmp_path)])
    assert not is_saved_plan([str(tmp_path / "missing.json")])
    old_result = apply_saved(store_url, old)
    assert "a plan of format version 1" in old_result.stderr


def test_apply_help_says_how_it_tells_a_plan_from_yaml() -> None:
    result = reconciler("apply", "--help")
    assert "by its content, whatever its name" in " ".join(result.output.split())
