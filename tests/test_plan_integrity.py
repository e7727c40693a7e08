"""A saved plan applies as it was made, or not at all.

The file carries a checksum of the rest of it (an HMAC-SHA256 when
RECONCILER_PLAN_KEY is set), so an edited file is refused before anything in
it is believed. Without a key anyone who reads the docs can work a plain
checksum out again, so apply also checks the plan against the store on its
own: every `before` is the record as the store holds it, the actions are in
an order the dependency graph allows, and nothing an action needs is missing.
Each refusal says what is wrong with the file and that nothing was applied,
and leaves the store, its audit log and its outbox as they were.

The files here are edited as an attacker or a careless hand would: with
`json`, a checksum worked out again as docs/plan-and-apply.md says, or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, RESELLER, ROOT, Backend, WriteYaml, apply_yaml
from hypothesis import given
from hypothesis import strategies as st
from memory_store import MemoryStore
from test_properties import SETTINGS, state_pairs

from reconciler.cli import cli
from reconciler.commands.apply import ApplyOptions, is_saved_plan, run_apply, verify_saved
from reconciler.core.errors import PlanFileError
from reconciler.core.kinds import Kind
from reconciler.core.model import DesiredState, build_state
from reconciler.core.plan import Plan
from reconciler.core.planfile import dump_plan, load_plan
from reconciler.engine.ordering import _unsettled, dependencies, ordered, unsettled_dependencies
from reconciler.engine.planner import make_plan
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.store import open_store

KEY = "k3y-0f-the-CI-that-plans-and-applies"
OTHER_KEY = "an0ther-key-0f-another-CI-entirely"
REDO = "make the plan again with `reconciler plan --out`"

#: ACCOUNT with a fourth user, dave, a coordinator who may not manage users, given the Revit serial.
BASE = ACCOUNT.replace(
    '        shipping: {name: Acme HQ, address: "1 Main St", country: US}\n',
    '        shipping: {name: Acme HQ, address: "1 Main St", country: US}\n      - email: dave@acme.example\n',
).replace("        seats: 1\n", "        seats: 1\n        coordinator: dave@acme.example\n") + (
    "  - email: dave@acme.example\n    first_name: Dave\n    last_name: Lee\n"
)
#: BASE changed in what each role may and may not do: carol renamed (anyone who manages users), erin
#: added with access to bob's serial (the CM, or bob), one more seat on dave's serial (the reseller).
CHANGED = (
    BASE.replace("first_name: Carol", "first_name: Caroline")
    .replace("        seats: 1\n", "        seats: 2\n")
    .replace(
        "  - email: dave@acme.example\n    first_name: Dave",
        "  - email: erin@acme.example\n    first_name: Erin\n    last_name: Ray\n    access:\n"
        '      - serial: "399-12345678"\n  - email: dave@acme.example\n    first_name: Dave',
    )
)


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
    """`data` as a plan file whose checksum is worked out again, as docs/plan-and-apply.md says it is: SHA-256 (or
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


def refusal(problem: str) -> str:
    return f"Error: the saved plan {problem}; nothing was applied: {REDO}\n"


# --- 1. before, checksum, HMAC ------------------------------------------------------------------


def test_an_edited_before_is_refused_and_the_history_stays_true(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    apply_yaml(store_url, ACCOUNT)
    out = tmp_path / "plan.json"
    assert save(store_url, write_yaml(ACCOUNT.replace("seats: 2", "seats: 3")), out).exit_code == 0
    edit(out, lambda data: action(data, "serial.seats_change")["before"].update(seats=77))
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            'has serial.seats_change 399-12345678 with before {"seats": 77}, and the store holds '
            '{"seats": 2}: the file was changed after it was made'
        ),
    )
    assert backend.contents(store_url) == stored
    history = reconciler("history", "--limit", "1", "--store", store_url)
    assert "seats 77" not in history.output


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
    assert data["format_version"] == 7
    rest = files["plain"].decode().replace(f'  "checksum": "{data["checksum"]}",\n', "").encode()
    assert data["checksum"] == "sha256:" + hashlib.sha256(rest).hexdigest()
    signed = json.loads(files["signed"])
    assert signed["checksum"] == "hmac-sha256:" + hmac.new(KEY.encode(), rest, "sha256").hexdigest()
    assert {k: v for k, v in signed.items() if k != "checksum"} == {
        k: v for k, v in data.items() if k != "checksum"
    }


def test_a_plan_of_format_version_3_is_refused_with_the_way_to_make_it_again(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    assert save(store_url, write_yaml(ACCOUNT), out).exit_code == 0
    data = json.loads(out.read_text())
    del data["checksum"]
    data["format_version"] = 3  # before the users' directory ids
    out.write_text(json.dumps(data))
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {out}: a plan of format version 3, and this reconciler applies versions 4, 5, 6 and 7 only; "
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


ROLES = {
    "reseller": (RESELLER, 0),
    "contract manager": ("alice@acme.example", 3),
    "coordinator who manages users": ("bob@acme.example", 3),
    "coordinator who does not": ("dave@acme.example", 3),
}


@pytest.mark.parametrize("request_blocked", [False, True], ids=["", "--request"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_applies_its_plan_as_made_and_never_an_edited_one(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path, role: str, request_blocked: bool
) -> None:
    actor, code = ROLES[role]
    apply_yaml(store_url, BASE)
    out, edited = tmp_path / "plan.json", tmp_path / "edited.json"
    made = save(store_url, write_yaml(CHANGED), out, actor=actor)
    assert made.exit_code == code, made.output
    edited.write_text(out.read_text())
    edit(edited, lambda d: action(d, "user.update")["before"].update(first_name="Karl"))
    options = ("--request",) if request_blocked else ()
    stored = backend.contents(store_url)
    refused = apply_saved(store_url, edited, *options, actor=actor)
    assert (refused.exit_code, refused.stderr) == (
        1,
        refusal(
            'has user.update carol@acme.example with before {"first_name": "Karl", "last_name": "Smith"}, '
            'and the store holds {"first_name": "Carol", "last_name": "Smith"}: the file was changed '
            "after it was made"
        ),
    )
    assert backend.contents(store_url) == stored
    applied = apply_saved(store_url, out, *options, actor=actor)
    assert applied.exit_code == (0 if request_blocked else code), applied.stderr
    # Applied: all of it, or with --request what the actor may do (dave may do nothing: all requested).
    changed = code == 0 or (request_blocked and role != "coordinator who does not")
    assert open_store(store_url).snapshot().revision == (2 if changed else 1)


# --- 2. order and completeness, without a key ----------------------------------------------------


def made_and_edited(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path, before: str, after: str, change: Edit
) -> Path:
    """A plan of `after` against the store holding `before`, saved, then changed by `change` with its
    checksum worked out again."""
    apply_yaml(store_url, before)
    out = tmp_path / "plan.json"
    assert save(store_url, write_yaml(after), out).exit_code == 0
    edit(out, change)
    return out


ERIN = ACCOUNT + (
    '  - email: erin@acme.example\n    first_name: Erin\n    last_name: Ray\n    access:\n      - serial: "399-12345678"\n'
)


def test_actions_out_of_order_are_refused_naming_what_must_come_first(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    def grant_first(data: dict[str, Any]) -> None:
        data["actions"].sort(key=lambda a: a["kind"] != "access.grant")

    out = made_and_edited(store_url, write_yaml, tmp_path, ACCOUNT, ERIN, grant_first)
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            "runs access.grant erin@acme.example on 399-12345678 before user.add erin@acme.example, "
            "which must come first: the actions were reordered after the plan was made"
        ),
    )
    assert backend.contents(store_url) == stored


def test_a_user_add_removed_from_before_their_access_is_refused(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    def no_user_add(data: dict[str, Any]) -> None:
        data["actions"].remove(action(data, "user.add"))

    out = made_and_edited(store_url, write_yaml, tmp_path, ACCOUNT, ERIN, no_user_add)
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            "has access.grant erin@acme.example on 399-12345678, which needs user erin@acme.example, "
            "neither in the store nor added earlier in the plan: the file was changed after it was made"
        ),
    )
    assert backend.contents(store_url) == stored


def test_a_revocation_removed_from_before_a_grant_that_needs_its_seat_is_refused(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    # The Revit serial's one seat goes from carol to erin: carol's access is revoked first.
    handed_on = ACCOUNT.replace(
        '  - email: carol@acme.example\n    first_name: Carol\n    last_name: Smith\n    access:\n      - serial: "399-12345679"\n',
        "  - email: carol@acme.example\n    first_name: Carol\n    last_name: Smith\n",
    ) + (
        '  - email: erin@acme.example\n    first_name: Erin\n    last_name: Ray\n    access:\n      - serial: "399-12345679"\n'
    )

    def no_revoke(data: dict[str, Any]) -> None:
        data["actions"].remove(action(data, "access.revoke"))

    out = made_and_edited(store_url, write_yaml, tmp_path, ACCOUNT, handed_on, no_revoke)
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            "has access.grant erin@acme.example on 399-12345679, which would give serial 399-12345679 "
            "2 users for its 1 seat: the file was changed after it was made"
        ),
    )
    assert backend.contents(store_url) == stored


def test_a_removal_whose_dependents_stay_is_refused(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    without_carol = ACCOUNT.replace(
        '  - email: carol@acme.example\n    first_name: Carol\n    last_name: Smith\n    access:\n      - serial: "399-12345679"\n',
        "",
    )

    def no_revoke(data: dict[str, Any]) -> None:
        data["actions"].remove(action(data, "access.revoke"))

    out = made_and_edited(store_url, write_yaml, tmp_path, ACCOUNT, without_carol, no_revoke)
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            "has user.remove carol@acme.example while 1 access record still refers to "
            "user carol@acme.example: the file was changed after it was made"
        ),
    )
    assert backend.contents(store_url) == stored


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "user.update",
            "user.add",
            "has user.add carol@acme.example with a before, and an add has none: its kind was changed "
            "after the plan was made",
        ),
        (
            "serial.seats_change",
            "serial.rename_group",
            "has serial.rename_group 399-12345678 whose before and after hold seats, and a "
            "serial.rename_group changes group: its kind was changed after the plan was made",
        ),
        (
            "user.update",
            "user.remove",
            "has user.remove carol@acme.example with an after, and a removal has none: its kind was "
            "changed after the plan was made",
        ),
    ],
)
def test_a_renamed_kind_is_refused_as_a_changed_kind(
    backend: Backend, store_url: str, write_yaml: WriteYaml, tmp_path: Path, old: str, new: str, problem: str
) -> None:
    changed = ACCOUNT.replace("seats: 2", "seats: 3").replace("first_name: Carol", "first_name: Caroline")
    out = made_and_edited(
        store_url, write_yaml, tmp_path, ACCOUNT, changed, lambda d: action(d, old).update(kind=new)
    )
    stored = backend.contents(store_url)
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (1, refusal(problem))
    assert backend.contents(store_url) == stored


def test_a_target_without_its_keys_is_refused_not_a_bug(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    out = made_and_edited(
        store_url,
        write_yaml,
        tmp_path,
        ACCOUNT,
        ERIN,
        lambda d: action(d, "access.grant")["target"].pop("user"),
    )
    result = apply_saved(store_url, out)
    assert (result.exit_code, result.stderr) == (
        1,
        refusal(
            'has access.grant {"contract": "110001234567", "serial": "399-12345678"}, whose target names '
            "contract, serial, and the target of access.grant names contract, serial, user: its kind "
            "was changed, "
            "or its target, after the plan was made"
        ),
    )


def state_of(text: str) -> DesiredState:
    return build_state([parse(Source("account.yaml", text.encode())).document])


def edited_action(plan: Plan, kind: str, **changes: Any) -> Plan:
    """`plan` with its one action of `kind` changed as `changes` say (target, before, after...)."""
    [index] = [i for i, a in enumerate(plan.actions) if a.kind == kind]
    changed = replace(plan.actions[index], **changes)
    return replace(plan, actions=(*plan.actions[:index], changed, *plan.actions[index + 1 :]))


def dropped_action(plan: Plan, kind: str) -> Plan:
    return replace(plan, actions=tuple(a for a in plan.actions if a.kind != kind))


BOB_LEAVES = ACCOUNT.replace(
    "    coordinators:\n      - email: bob@acme.example\n        manage_users: true\n"
    '        shipping: {name: Acme HQ, address: "1 Main St", country: US}\n',
    "",
).replace("        coordinator: bob@acme.example\n", "")
REVIT_TO_BOB = ACCOUNT.replace(
    "        seats: 1\n", "        seats: 1\n        coordinator: bob@acme.example\n"
)

STORE_CASES = {
    "an add of what the store has": (
        ERIN,
        lambda plan: edited_action(plan, "user.add", target={"user": "carol@acme.example"}),
        "has user.add carol@acme.example, and the store already holds that user",
    ),
    "a change of what the store lacks": (
        ACCOUNT.replace("first_name: Carol", "first_name: Caroline"),
        lambda plan: edited_action(plan, "user.update", target={"user": "zed@acme.example"}),
        "has user.update zed@acme.example, and the store holds no such user",
    ),
    "a serial given to who coordinates nothing": (
        REVIT_TO_BOB,
        lambda plan: edited_action(
            plan, "serial.assign_coordinator", after={"coordinator": "carol@acme.example"}
        ),
        "has serial.assign_coordinator 399-12345679, which needs coordinator "
        "110001234567/carol@acme.example, neither in the store nor added earlier in the plan",
    ),
    "a coordinator removed who keeps a serial": (
        BOB_LEAVES,
        lambda plan: dropped_action(plan, "serial.unassign_coordinator"),
        "has coordinator.remove bob@acme.example on 110001234567 while 1 serial record still refers "
        "to coordinator 110001234567/bob@acme.example",
    ),
    "a whole record changed twice": (
        ACCOUNT.replace("first_name: Carol", "first_name: Caroline"),
        lambda plan: replace(plan, actions=(*plan.actions, plan.actions[0])),
        "has user.update carol@acme.example, and an earlier action of the plan changes that user",
    ),
}


@pytest.mark.parametrize("case", list(STORE_CASES))
def test_what_the_store_says_of_an_edited_plan(case: str) -> None:
    after, change, problem = STORE_CASES[case]
    store = store_with(state_of(ACCOUNT))
    snapshot = store.snapshot()
    plan = make_plan(state_of(after), snapshot, RESELLER)
    verify_saved(saved_and_read(plan), snapshot)  # as made, it passes
    with pytest.raises(PlanFileError) as refused:
        verify_saved(saved_and_read(change(plan)), snapshot)
    assert str(refused.value) == (
        f"the saved plan {problem}: the file was changed after it was made; nothing was applied: "
        "make the plan again with `reconciler plan --out`"
    )


# --- the checks never refuse a plan as it was made, and refuse one edited --------------------------


def saved_and_read(plan: Plan) -> Plan:
    return load_plan(dump_plan(plan), "plan.json")


def store_with(state: DesiredState) -> MemoryStore:
    """A memory store of its own holding `state`, applied by the reseller."""
    store = MemoryStore()
    store.initialize([RESELLER])
    run_apply(store, make_plan(state, store.snapshot(), RESELLER), RESELLER)
    return store


@SETTINGS
@given(pair=state_pairs(), data=st.data())
def test_every_plan_as_made_passes_and_so_does_every_order_the_graph_allows(
    pair: tuple[DesiredState, DesiredState], data: st.DataObject
) -> None:
    first, second = pair
    snapshot = store_with(first).snapshot()
    plan = make_plan(second, snapshot, RESELLER)
    verify_saved(saved_and_read(plan), snapshot)
    actions = list(plan.actions)
    ties = data.draw(st.permutations(range(len(actions))))
    shuffled = ordered(actions, list(dependencies(actions)), sort_key=lambda a: ties[actions.index(a)])
    verify_saved(saved_and_read(replace(plan, actions=tuple(shuffled))), snapshot)


@SETTINGS
@given(pair=state_pairs(), data=st.data())
def test_the_order_check_follows_every_dependency_an_order_can_break(
    pair: tuple[DesiredState, DesiredState], data: st.DataObject
) -> None:
    # A plan in the kinds' rank order is checked without its graph: no rule can run backwards there.
    first, second = pair
    plan = make_plan(second, store_with(first).snapshot(), RESELLER)
    actions = list(plan.actions)
    for order in (actions, data.draw(st.permutations(actions))):
        broken = {(before, after) for before, after in dependencies(order) if before > after}
        assert broken <= set(unsettled_dependencies(order))
    ranks = [action.kind.rank for action in actions]
    assert ranks == sorted(ranks), "a plan as made lists its kinds in rank order: its check is cheap"


def test_a_rule_the_ranks_do_not_keep_is_still_followed() -> None:
    by_user = (("target", "user"),)
    # A user.add that waited on a grant, or held up another user.add, would not be kept by the ranks.
    waits_on_a_grant = {Kind.USER_ADD: ((Kind.ACCESS_GRANT, by_user),)}
    holds_up_a_user_add = {Kind.USER_ADD: ((Kind.USER_ADD, by_user),)}
    assert _unsettled(waits_on_a_grant, other_first=True) == waits_on_a_grant
    assert _unsettled(holds_up_a_user_add, other_first=False) == holds_up_a_user_add
    # Those the ranks keep are left to them.
    assert _unsettled({Kind.ACCESS_GRANT: ((Kind.USER_ADD, by_user),)}, other_first=True) == {}
    assert _unsettled(waits_on_a_grant, other_first=False) == {}


@SETTINGS
@given(pair=state_pairs(), data=st.data())
def test_an_edited_before_is_always_refused_and_a_dropped_action_is_refused_or_harmless(
    pair: tuple[DesiredState, DesiredState], data: st.DataObject
) -> None:
    first, second = pair
    store = store_with(first)
    snapshot = store.snapshot()
    plan = make_plan(second, snapshot, RESELLER)
    changes = [i for i, a in enumerate(plan.actions) if a.before]
    if changes:
        i = data.draw(st.sampled_from(changes))
        old = plan.actions[i]
        field = data.draw(st.sampled_from(sorted(old.before or {})))
        forged = replace(old, before={**(old.before or {}), field: "forged"})
        with pytest.raises(PlanFileError, match="the file was changed after it was made"):
            verify_saved(replace(plan, actions=(*plan.actions[:i], forged, *plan.actions[i + 1 :])), snapshot)
    needed = sorted({first for first, _ in dependencies(plan.actions)})
    if needed:
        i = data.draw(st.sampled_from(needed))
        dropped = replace(plan, actions=(*plan.actions[:i], *plan.actions[i + 1 :]))
        # An edge is not always a need (a grant waits on every revocation on its serial, needed for
        # its seat or not): the checks refuse the plan, or the store takes what is left of it.
        try:
            verify_saved(dropped, snapshot)
        except PlanFileError as error:
            assert "nothing was applied" in str(error)
        else:
            run_apply(store, dropped, RESELLER, ApplyOptions(request=True, allow_mass_removal=True))


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
    by_hand.write_text('\n {"format_version": 4}')
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
