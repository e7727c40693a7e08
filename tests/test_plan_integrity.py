"""A saved plan applies as it was made, or not at all.

The file carries a checksum of the rest of it (an HMAC-SHA256 when
RECONCILER_PLAN_KEY is set), so an edited file is refused before anything in
it is believed, and with a key only a plan made with that key applies. A
saved plan is known by its content, whatever its name.

The files here are edited as an attacker or a careless hand would: with
`json`, and a checksum worked out again as the README says, or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, RESELLER, ROOT, Backend, WriteYaml, apply_yaml

from reconciler.cli import cli
from reconciler.commands.apply import is_saved_plan
from reconciler.store import open_store

KEY = "k3y-0f-the-CI-that-plans-and-applies"
OTHER_KEY = "an0ther-key-0f-another-CI-entirely"
REDO = "make the plan again with `reconciler plan --out`"


def reconciler(*args: str, key: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"RECONCILER_PLAN_KEY": key} if key else None)


def save(store_url: str, path: Path, out: Path, actor: str = RESELLER, key: str | None = None) -> Result:
    return reconciler("plan", str(path), "--out", str(out), "--actor", actor, "--store", store_url, key=key)


def apply_saved(
    store_url: str, out: Path, *options: str, actor: str = RESELLER, key: str | None = None
) -> Result:
    return reconciler(
        "apply", str(out), "--auto-approve", *options, "--actor", actor, "--store", store_url, key=key
    )


def sealed(data: dict[str, Any], key: str | None = None) -> str:
    """`data` as a plan file whose checksum is worked out again, as the README says it is: SHA-256 (or
    HMAC-SHA256 with the key) of the file's text without the line that holds the checksum."""
    placeholder = "<checksum>"
    text = json.dumps({**data, "checksum": placeholder}, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    rest = text.replace(f'  "checksum": "{placeholder}",\n', "").encode()
    if key is None:
        checksum = "sha256:" + hashlib.sha256(rest).hexdigest()
    else:
        checksum = "hmac-sha256:" + hmac.new(key.encode(), rest, "sha256").hexdigest()
    return text.replace(placeholder, checksum)


Edit = Callable[[dict[str, Any]], object]


def edit(path: Path, change: Edit, reseal: bool = True) -> None:
    """Change the saved plan at `path`; with `reseal`, work its checksum out again (no key), else
    leave the one it had."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(
        sealed({k: v for k, v in data.items() if k != "checksum"})
        if reseal
        else json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def action(data: dict[str, Any], kind: str, **target: str) -> dict[str, Any]:
    """The one action of `kind` whose target has the values `target` gives."""
    [found] = [
        a
        for a in data["actions"]
        if a["kind"] == kind and all(a["target"].get(k) == v for k, v in target.items())
    ]
    return found


# --- 1. checksum, HMAC ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: action(d, "serial.seats_change")["before"].update(seats=77), id="before"),
        pytest.param(
            lambda d: action(d, "serial.seats_change")["after"].update(seats=999999), id="after-seats"
        ),
        pytest.param(
            lambda d: action(d, "user.update")["after"].update(first_name="Mallory"), id="after-name"
        ),
        pytest.param(lambda d: d["actions"].pop(0), id="deleted-action"),
        pytest.param(lambda d: d["actions"].reverse(), id="reordered"),
        pytest.param(
            lambda d: action(d, "user.update")["notifications"].append(
                {"to": "mallory@evil.example", "event": "user.invited"}
            ),
            id="notifications",
        ),
        pytest.param(lambda d: d.update(max_removal_ratio=1.0), id="max-removal-ratio"),
        pytest.param(lambda d: d.update(targets=["user:carol@acme.example"]), id="targets"),
        pytest.param(lambda d: d["unmanaged"].update(policy="keep"), id="unmanaged"),
        pytest.param(lambda d: d["summary"].update(change=0), id="summary"),
        pytest.param(lambda d: d.update(desired_digest="sha256:" + "0" * 64), id="desired-digest"),
    ],
)
def test_any_edit_is_refused_by_the_checksum(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path, change: Edit
) -> None:
    apply_yaml(store_url, ACCOUNT)
    out = tmp_path / "plan.json"
    changed = ACCOUNT.replace("seats: 2", "seats: 3").replace("first_name: Carol", "first_name: Caroline")
    assert save(store_url, write_yaml(changed), out).exit_code == 0
    edit(out, change, reseal=False)
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {out}: its checksum does not match its content: the file was changed after it was made; "
        f"nothing was applied: {REDO}\n",
    )
    assert backend.contents(store_url) == stored


def test_a_plan_made_with_the_key_applies_only_where_that_key_is(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    apply_yaml(store_url, ACCOUNT)
    desired = write_yaml(ACCOUNT.replace("seats: 2", "seats: 3"))
    signed, plain = tmp_path / "signed.json", tmp_path / "plain.json"
    outputs = [save(store_url, desired, signed, key=KEY), save(store_url, desired, plain)]
    assert [r.exit_code for r in outputs] == [0, 0]
    assert '"checksum": "hmac-sha256:' in signed.read_text() and '"checksum": "sha256:' in plain.read_text()
    stored = backend.contents(store_url)

    attempts = {
        "no key": apply_saved(store_url, signed),
        "another key": apply_saved(store_url, signed, key=OTHER_KEY),
        "plain plan, key set": apply_saved(store_url, plain, key=KEY),
    }
    forged = tmp_path / "forged.json"
    forged.write_text(plain.read_text())
    edit(forged, lambda d: action(d, "serial.seats_change")["after"].update(seats=999999))
    attempts["forged, key set"] = apply_saved(store_url, forged, key=KEY)
    assert {name: (r.exit_code, r.stderr) for name, r in attempts.items()} == {
        "no key": (
            1,
            f"Error: {signed}: it was made with a key (its checksum is an HMAC), and RECONCILER_PLAN_KEY "
            "is not set here: set it to the key the plan was made with; nothing was applied\n",
        ),
        "another key": (
            1,
            f"Error: {signed}: its HMAC does not match its content: the file was changed after it was "
            f"made, or made with another key; nothing was applied: {REDO} where RECONCILER_PLAN_KEY is set\n",
        ),
        "plain plan, key set": (
            1,
            f"Error: {plain}: it was made without a key (its checksum is a plain SHA-256), and "
            "RECONCILER_PLAN_KEY is set here, so only a plan made with the key applies; nothing was "
            f"applied: {REDO} where RECONCILER_PLAN_KEY is set\n",
        ),
        "forged, key set": (
            1,
            f"Error: {forged}: it was made without a key (its checksum is a plain SHA-256), and "
            "RECONCILER_PLAN_KEY is set here, so only a plan made with the key applies; nothing was "
            f"applied: {REDO} where RECONCILER_PLAN_KEY is set\n",
        ),
    }
    assert backend.contents(store_url) == stored

    applied = apply_saved(store_url, signed, key=KEY)
    assert applied.exit_code == 0, applied.stderr
    assert open_store(store_url).snapshot().revision == 2
    for result in [*outputs, *attempts.values(), applied]:
        assert KEY not in result.output + result.stderr
        assert OTHER_KEY not in result.output + result.stderr


def test_the_checksum_is_deterministic_and_the_json_on_stdout_carries_it(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    desired = write_yaml(ACCOUNT)
    args = ("--actor", RESELLER, "--store", store_url)
    files: dict[str, bytes] = {}
    for name, key in (("plain", None), ("again", None), ("signed", KEY), ("signed again", KEY)):
        out = tmp_path / f"{name}.json"
        printed = reconciler("plan", str(desired), "--format", "json", "--out", str(out), *args, key=key)
        assert printed.exit_code == 0
        files[name] = out.read_bytes()
        assert printed.stdout.encode() == files[name]  # the same format, checksum and all
    assert files["plain"] == files["again"] and files["signed"] == files["signed again"]
    data = json.loads(files["plain"])
    assert data["format_version"] == 3
    rest = files["plain"].decode().replace(f'  "checksum": "{data["checksum"]}",\n', "").encode()
    assert data["checksum"] == "sha256:" + hashlib.sha256(rest).hexdigest()
    signed = json.loads(files["signed"])
    assert signed["checksum"] == "hmac-sha256:" + hmac.new(KEY.encode(), rest, "sha256").hexdigest()
    assert {k: v for k, v in signed.items() if k != "checksum"} == {
        k: v for k, v in data.items() if k != "checksum"
    }


def test_a_plan_of_format_version_2_is_refused_with_the_way_to_make_it_again(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    assert save(store_url, write_yaml(ACCOUNT), out).exit_code == 0
    data = json.loads(out.read_text())
    del data["checksum"]
    data["format_version"] = 2
    out.write_text(json.dumps(data))
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {out}: a plan of format version 2, and this reconciler applies version 3 only; "
        "make it again with `reconciler plan --out`\n",
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "is set but empty (a CI secret that does not exist?): set it to a key, or unset it"),
        ("short", "is 5 characters long: a key needs 16 at least (say, `openssl rand -hex 32`)"),
    ],
)
def test_an_empty_or_short_key_is_refused_before_anything_is_read(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path, key: str, problem: str
) -> None:
    args = ["plan", str(write_yaml(ACCOUNT)), "--out", str(tmp_path / "p.json"), "--actor", RESELLER]
    result = CliRunner().invoke(cli, [*args, "--store", store_url], env={"RECONCILER_PLAN_KEY": key})
    assert (result.exit_code, result.stderr) == (1, f"Error: RECONCILER_PLAN_KEY {problem}\n")
    assert not (tmp_path / "p.json").exists()


def test_show_checks_the_checksum_and_says_when_it_cannot(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    signed, edited = tmp_path / "signed.json", tmp_path / "edited.json"
    assert save(store_url, write_yaml(ACCOUNT), signed, key=KEY).exit_code == 0
    assert save(store_url, write_yaml(ACCOUNT), edited).exit_code == 0
    edit(edited, lambda d: d["actions"].pop(), reseal=False)
    shown = reconciler("show", str(signed), key=KEY)
    assert (shown.exit_code, shown.stderr) == (0, "")
    unchecked = reconciler("show", str(signed))
    assert unchecked.exit_code == 0 and unchecked.stdout == shown.stdout
    assert unchecked.stderr == (
        f"Warning: {signed} was made with a key (its checksum is an HMAC), and RECONCILER_PLAN_KEY is not "
        "set here: it is shown unchecked; apply checks it\n"
    )
    refused = reconciler("show", str(edited))
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"Error: {edited}: its checksum does not match its content: the file was changed after it was "
        f"made; it is not shown: {REDO}\n",
    )


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
