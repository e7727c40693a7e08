"""`reconciler scim plan` and `scim apply`: the mapping and the diff as pure functions, then every case
against a real SCIM server (scim2-server, tests/scim_server.py) through the fault proxy, asserting what
the directory holds afterwards and the requests that went there."""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import EXAMPLES, RESELLER
from scim_server import FaultProxy, ScimServer

from reconciler.cli import cli
from reconciler.core.errors import DirectoryError, InputError
from reconciler.core.model import Access, Contract, DesiredState, Serial, User
from reconciler.core.records import Snapshot
from reconciler.scim.planning import PushOptions, desired_groups, desired_users, plan_push
from reconciler.scim.records import DirectoryGroup, DirectoryRead, DirectoryUser
from reconciler.scim.rendering import render_json, render_markdown, render_text
from reconciler.store import open_store

TOKEN_ENV = "RECONCILER_SCIM_TOKEN"

# --- pure: mapping and diff ---------------------------------------------------------------------


def _snapshot(users: int = 3, serials: int = 1) -> Snapshot:
    contract = Contract(
        number="110001234567",
        manager="u0@acme.example",
        serials=tuple(Serial(f"399-{i:08d}", "AutoCAD", 500) for i in range(serials)),
    )
    people = tuple(
        User(
            f"u{i}@acme.example",
            f"First{i}",
            f"Last{i}",
            tuple(Access(f"399-{s:08d}") for s in range(serials)),
        )
        for i in range(users)
    )
    return Snapshot("lineage", 1, frozenset({RESELLER}), DesiredState((contract,), people))


def _remote_user(name: str, ident: str, external_id: str | None = None, **fields: Any) -> DirectoryUser:
    number = name.split("@")[0].lower().removeprefix("u")
    values: dict[str, Any] = {
        "given_name": f"First{number}",
        "family_name": f"Last{number}",
        "display_name": f"First{number} Last{number}",
        "email": name,
        "active": True,
    }
    values.update(fields)
    return DirectoryUser(user_name=name, external_id=external_id, id=ident, **values)


def test_the_mapping_is_the_domains() -> None:
    snapshot = _snapshot(users=2)
    users = desired_users(snapshot)
    assert users[0].attributes() == {
        "userName": "u0@acme.example",
        "externalId": "u0@acme.example",
        "givenName": "First0",
        "familyName": "Last0",
        "displayName": "First0 Last0",
        "email": "u0@acme.example",
        "active": True,
    }
    assert desired_groups(snapshot) == (
        DirectoryGroup("serial:399-00000000", "AutoCAD 399-00000000", ("u0@acme.example", "u1@acme.example")),
    )


def test_an_empty_directory_gets_users_then_groups_with_their_first_chunk_of_members() -> None:
    plan = plan_push(_snapshot(users=5), DirectoryRead(), "http://127.0.0.1", PushOptions(chunk=2))
    kinds = [a.kind for a in plan.actions]
    assert kinds == ["user.create"] * 5 + ["group.create", "group.member_add", "group.member_add"]
    assert plan.actions[5].after is not None and plan.actions[5].after["members"] == [
        "u0@acme.example",
        "u1@acme.example",
    ]
    assert [a.after["members"] for a in plan.actions[6:] if a.after] == [
        ["u2@acme.example", "u3@acme.example"],
        ["u4@acme.example"],
    ]


def test_a_remote_user_of_the_same_name_is_adopted_and_others_are_left_alone() -> None:
    remote = DirectoryRead(
        users=(
            _remote_user("U0@acme.example", "id0", external_id="entra-0"),
            _remote_user("stranger@else.example", "idx", external_id="x"),
        ),
        groups=(DirectoryGroup("not-ours", "Other", ("idx",), id="g9"),),
    )
    plan = plan_push(_snapshot(users=1), remote, "http://127.0.0.1")
    assert [(a.kind, dict(a.target)) for a in plan.actions] == [
        ("user.adopt", {"user": "u0@acme.example"}),
        ("group.create", {"group": "serial:399-00000000"}),
    ]
    adopt = plan.actions[0]
    assert adopt.before == {"externalId": "entra-0"} and adopt.after == {"externalId": "u0@acme.example"}
    assert plan.unmanaged == {"users": 1, "groups": 1}


def test_a_user_gone_from_the_store_is_deactivated_or_deleted_and_leaves_its_groups_first() -> None:
    remote = DirectoryRead(
        users=tuple(_remote_user(f"u{i}@acme.example", f"id{i}", f"u{i}@acme.example") for i in range(3)),
        groups=(
            DirectoryGroup("serial:399-00000000", "AutoCAD 399-00000000", ("id0", "id1", "id2"), id="g"),
        ),
    )
    snapshot = _snapshot(users=2)
    plan = plan_push(snapshot, remote, "http://127.0.0.1")
    assert [(a.kind, a.after) for a in plan.actions] == [
        ("group.member_remove", {"members": ["u2@acme.example"]}),
        ("user.deactivate", {"active": False}),
    ]
    deleting = plan_push(snapshot, remote, "http://127.0.0.1", PushOptions(delete_removed=True))
    assert [a.kind for a in deleting.actions] == ["group.member_remove", "user.delete"]
    inactive = DirectoryRead(
        users=(*remote.users[:2], _remote_user("u2@acme.example", "id2", "u2@acme.example", active=False)),
        groups=(DirectoryGroup("serial:399-00000000", "AutoCAD 399-00000000", ("id0", "id1"), id="g"),),
    )
    assert plan_push(snapshot, inactive, "http://127.0.0.1").actions == ()


def test_the_removal_guard_counts_managed_remote_users() -> None:
    remote = DirectoryRead(
        users=tuple(_remote_user(f"u{i}@acme.example", f"id{i}", f"u{i}@acme.example") for i in range(8))
    )
    plan = plan_push(_snapshot(users=5, serials=0), remote, "http://127.0.0.1")
    assert [(g.what, g.removed, g.total) for g in plan.guards] == [("users", 3, 8)]
    text = "\n".join(render_text(plan))
    assert "the plan removes 3 of the 8 users managed in the directory (38%)" in text


def test_the_same_store_and_directory_give_the_same_plan_bytes() -> None:
    remote = DirectoryRead(
        users=tuple(_remote_user(f"u{i}@acme.example", f"id{i}", f"u{i}@acme.example") for i in (4, 1, 7, 3)),
        groups=(DirectoryGroup("serial:399-00000001", "Revit 399-00000001", ("id7", "id1"), id="g"),),
    )
    first = plan_push(_snapshot(users=6, serials=2), remote, "http://127.0.0.1", PushOptions(chunk=2))
    shuffled = DirectoryRead(users=remote.users[::-1], groups=remote.groups)
    second = plan_push(_snapshot(users=6, serials=2), shuffled, "http://127.0.0.1", PushOptions(chunk=2))
    assert render_json(first) == render_json(second)
    assert render_markdown(first) == render_markdown(second)


def test_markdown_escapes_what_users_wrote() -> None:
    snapshot = _snapshot(users=1)
    state = snapshot.state
    evil = User("u0@acme.example", "<b>*x*</b>", "[y](http://evil)", state.users[0].access)
    plan = plan_push(
        Snapshot("l", 1, frozenset(), DesiredState(state.contracts, (evil,))), DirectoryRead(), "http://h"
    )
    page = render_markdown(plan)
    assert "| &lt;b&gt;\\*x\\*&lt;/b&gt; \\[y\\](http:/\u200d/evil) |" in page


def test_a_chunk_below_one_is_refused() -> None:
    with pytest.raises(InputError, match="--chunk"):
        PushOptions(chunk=0)


def test_retry_after_takes_seconds_or_a_date() -> None:
    from reconciler.scim.client import retry_after

    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("2", now) == 2.0
    assert retry_after("Tue, 01 Dec 2026 12:00:05 GMT", now) == 5.0
    assert retry_after(None, now) == 1.0


# --- against a real server ----------------------------------------------------------------------


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A copy of examples/acme to edit."""
    folder = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", folder)
    return folder


@pytest.fixture
def store(tmp_path: Path, acme: Path) -> str:
    """A SQLite store with the example account applied."""
    url = f"sqlite:///{tmp_path / 'acme.db'}"
    open_store(url).initialize([RESELLER])
    _apply_yaml(url, acme)
    return url


def _apply_yaml(url: str, folder: Path, *args: str) -> None:
    result = CliRunner().invoke(
        cli, ["apply", str(folder), "--actor", RESELLER, "--store", url, "--auto-approve", *args]
    )
    assert result.exit_code == 0, result.output


def _scim(url: str, store: str, token: str, *args: str) -> Result:
    command, *rest = args
    return CliRunner().invoke(
        cli, ["scim", command, "--url", url, "--store", store, *rest], env={TOKEN_ENV: token}
    )


def _push(proxy: Any, store: str, *args: str) -> Result:
    return _scim(proxy.url, store, proxy.server.token, "apply", "--auto-approve", *args)


def _members(scim: Any) -> dict[str, set[str]]:
    """Each group's externalId (or displayName) and its members' userNames."""
    names = {u["id"]: u["userName"] for u in scim.users()}
    return {
        g.get("externalId") or g["displayName"]: {
            names.get(m["value"], m["value"]) for m in g.get("members", [])
        }
        for g in scim.groups()
    }


def _store_grants(store: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for user, serial in open_store(store).snapshot().grants:
        found.setdefault(f"serial:{serial}", set()).add(user)
    return found


def _writes(proxy: Any) -> list[tuple[str, str, int | None]]:
    return [(s.method, s.path.split("?")[0], s.status) for s in proxy.requests if s.method != "GET"]


def _drop_user(folder: Path, email: str) -> None:
    """Take `email`'s block out of users.yaml."""
    lines = (folder / "users.yaml").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- email: {email}")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("- email:")), len(lines)
    )
    (folder / "users.yaml").write_text("".join(lines[:start] + lines[end:]))


def _grant(folder: Path, email: str, serial: str) -> None:
    """Give `email` (whose block ends with an access list) access to `serial` too."""
    text = (folder / "users.yaml").read_text()
    marker = f"- email: {email}\n"
    head, tail = text.split(marker, 1)
    block, sep, rest = tail.partition("\n\n")
    (folder / "users.yaml").write_text(head + marker + block + f'\n      - serial: "{serial}"' + sep + rest)


def test_first_push_creates_every_user_and_group_with_their_members(scim_proxy: Any, store: str) -> None:
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    snapshot = open_store(store).snapshot()
    users = {u["userName"]: u for u in scim_proxy.server.users()}
    assert set(users) == {u.email for u in snapshot.state.users}
    carol = users["carol.smith@acme.example"]
    assert carol["externalId"] == "carol.smith@acme.example" and carol["active"] is True
    assert carol["name"] == {"givenName": "Carol", "familyName": "Smith"}
    assert carol["displayName"] == "Carol Smith"
    assert carol["emails"] == [{"value": "carol.smith@acme.example", "type": "work", "primary": True}]
    assert _members(scim_proxy.server) == _store_grants(store)
    names = {g["externalId"]: g["displayName"] for g in scim_proxy.server.groups()}
    assert names["serial:399-12345680"] == "Civil 3D 399-12345680"
    # a user and a group a request each, their members sent with the group; the config and two pages read
    assert scim_proxy.count("POST") == len(users) + len(names)
    assert scim_proxy.count("GET") == 3 and scim_proxy.count("PATCH") == 0
    assert (
        "SCIM apply complete: 19 added, 0 changed, 0 removed, in 22 requests (2 pages read)." in result.output
    )


def test_a_second_apply_finds_nothing_to_do_and_only_reads(scim_proxy: Any, store: str) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    scim_proxy.clear()
    plan = _scim(scim_proxy.url, store, scim_proxy.server.token, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes. The directory holds what the store wants." in plan.output
    again = _push(scim_proxy, store)
    assert again.exit_code == 0, again.output
    assert _writes(scim_proxy) == []


def test_plan_exits_2_with_changes_and_prints_json(scim_proxy: Any, store: str) -> None:
    result = _scim(
        scim_proxy.url, store, scim_proxy.server.token, "plan", "--detailed-exitcode", "--format", "json"
    )
    assert result.exit_code == 2, result.output
    assert '"format_version": 1' in result.output and '"user.create"' in result.output
    assert _writes(scim_proxy) == []


def test_a_user_removed_from_the_store_is_deactivated(scim_proxy: Any, store: str, acme: Path) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    ivan = scim_proxy.server.user("ivan.petrov@acme.example")
    assert ivan is not None and ivan["active"] is False
    assert "ivan.petrov@acme.example" not in _members(scim_proxy.server)["serial:399-12345678"]
    assert _members(scim_proxy.server) == _store_grants(store)


def test_with_delete_removed_a_removed_user_is_deleted(scim_proxy: Any, store: str, acme: Path) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    result = _push(scim_proxy, store, "--delete-removed")
    assert result.exit_code == 0, result.output
    assert scim_proxy.server.user("ivan.petrov@acme.example") is None
    assert len(scim_proxy.server.users()) == 12


def test_a_remote_user_made_beforehand_is_adopted_not_duplicated(scim_proxy: Any, store: str) -> None:
    before = scim_proxy.server.create_user(
        "Ivan.Petrov@acme.example", externalId="entra-42", active=True, name={"givenName": "I"}
    )
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    assert "user.adopt ivan.petrov@acme.example" in result.output
    matching = [u for u in scim_proxy.server.users() if u["userName"].lower() == "ivan.petrov@acme.example"]
    assert [u["id"] for u in matching] == [before["id"]]
    assert matching[0]["externalId"] == "ivan.petrov@acme.example"
    assert matching[0]["name"] == {"givenName": "Ivan", "familyName": "Petrov"}
    assert len(scim_proxy.server.users()) == 13


def test_what_it_does_not_manage_is_never_touched(scim_proxy: Any, store: str, acme: Path) -> None:
    stranger = scim_proxy.server.create_user("stranger@elsewhere.example", active=True)
    other = scim_proxy.server.create_group("Finance", members=[stranger], externalId="finance")
    bare = scim_proxy.server.create_group("No externalId")
    assert _push(scim_proxy, store).exit_code == 0
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    assert _push(scim_proxy, store, "--delete-removed").exit_code == 0
    by_id = {r["id"]: r for r in scim_proxy.server.users() + scim_proxy.server.groups()}
    for resource in (stranger, other, bare):
        assert by_id[resource["id"]]["meta"]["version"] == resource["meta"]["version"]
    touched = {path.split("/")[2] for _, path, _ in _writes(scim_proxy) if path.count("/") >= 2}
    assert not touched & {stranger["id"], other["id"], bare["id"]}


def test_a_grant_change_patches_only_that_member(scim_proxy: Any, store: str, acme: Path) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    _grant(acme, "kwame.mensah@acme.example", "399-12345681")
    _apply_yaml(store, acme)
    scim_proxy.clear()
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    group = next(g for g in scim_proxy.server.groups() if g["externalId"] == "serial:399-12345681")
    assert _writes(scim_proxy) == [("PATCH", f"/Groups/{group['id']}", 204)]
    assert "group.member_add serial:399-12345681: 1 member (kwame.mensah@acme.example)" in result.output
    assert _members(scim_proxy.server) == _store_grants(store)


def test_the_removal_guard_refuses_before_any_write(scim_proxy: Any, store: str, acme: Path) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    for email in (
        "ivan.petrov@acme.example",
        "julia.santos@acme.example",
        "kwame.mensah@acme.example",
        "lena.fischer@acme.example",
    ):
        _drop_user(acme, email)
    _apply_yaml(store, acme, "--allow-mass-removal")
    scim_proxy.clear()
    refused = _push(scim_proxy, store)
    assert refused.exit_code == 1
    assert "the plan removes 4 of the 13 users managed in the directory (31%)" in refused.output
    assert "--allow-mass-removal" in refused.output and _writes(scim_proxy) == []
    allowed = _push(scim_proxy, store, "--allow-mass-removal")
    assert allowed.exit_code == 0, allowed.output
    assert sum(1 for u in scim_proxy.server.users() if u["active"] is False) == 4


def test_scim_plan_exits_3_when_scim_apply_would_refuse_the_removal(
    scim_proxy: Any, store: str, acme: Path
) -> None:
    """As `plan` does: a push that trips the removal guard is not a green pull request, in any format,
    unless the removal was reviewed (--allow-mass-removal)."""
    assert _push(scim_proxy, store).exit_code == 0
    for email in ("ivan.petrov@acme.example", "julia.santos@acme.example", "kwame.mensah@acme.example"):
        _drop_user(acme, email)
    _drop_user(acme, "lena.fischer@acme.example")
    _apply_yaml(store, acme, "--allow-mass-removal")
    token = scim_proxy.server.token
    for output_format in ("text", "markdown", "json"):
        planned = _scim(
            scim_proxy.url, store, token, "plan", "--format", output_format, "--detailed-exitcode"
        )
        assert planned.exit_code == 3, (output_format, planned.output)
        if output_format == "json":
            assert '"removed": 4' in planned.output and '"total": 13' in planned.output
        else:
            assert "the plan removes 4 of the 13 users managed in the directory (31%)" in planned.output
            assert "--allow-mass-removal" in planned.output
    reviewed = _scim(scim_proxy.url, store, token, "plan", "--detailed-exitcode", "--allow-mass-removal")
    assert reviewed.exit_code == 2, reviewed.output
    without_flag = _scim(scim_proxy.url, store, token, "plan")
    assert without_flag.exit_code == 3, without_flag.output


# --- faults -------------------------------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_for_then_done(scim_proxy: Any, store: str) -> None:
    scim_proxy.fail(429, method="POST", path="/Users", headers={"Retry-After": "1"})
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    statuses = [s.status for s in scim_proxy.requests if s.method == "POST"]
    assert statuses[:2] == [429, 201]
    assert len(scim_proxy.server.users()) == 13  # no duplicate


def test_a_503_then_success_is_done(scim_proxy: Any, store: str) -> None:
    scim_proxy.fail(503, times=2, method="GET", path="/Users", headers={"Retry-After": "0"})
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    assert [(s.path.split("?")[0], s.status) for s in scim_proxy.requests[:4]] == [
        ("/ServiceProviderConfig", 200),
        ("/Users", 503),
        ("/Users", 503),
        ("/Users", 200),
    ]


def test_waiting_past_max_wait_fails_and_says_so(scim_proxy: Any, store: str) -> None:
    scim_proxy.fail(429, times=5, method="GET", headers={"Retry-After": "30"})
    result = _push(scim_proxy, store, "--max-wait", "5")
    assert result.exit_code == 1
    assert "past --max-wait 5 s" in result.output


def test_a_stale_etag_re_reads_the_resource_and_is_done(scim_proxy: Any, store: str, acme: Path) -> None:
    assert _push(scim_proxy, store).exit_code == 0
    _grant(acme, "kwame.mensah@acme.example", "399-12345681")
    _apply_yaml(store, acme)
    scim_proxy.clear()
    scim_proxy.stale_etag(method="PATCH")
    result = _push(scim_proxy, store)
    assert result.exit_code == 0, result.output
    group = next(g for g in scim_proxy.server.groups() if g["externalId"] == "serial:399-12345681")
    path = f"/Groups/{group['id']}"
    # after the ServiceProviderConfig and two pages
    assert [(m, p.split("?")[0], s) for m, p, s in scim_proxy.requests[3:]] == [
        ("PATCH", path, 412),
        ("GET", path, 200),
        ("PATCH", path, 204),
    ]
    assert _members(scim_proxy.server) == _store_grants(store)


def test_a_timeout_midway_says_what_was_done_and_the_next_run_converges(scim_proxy: Any, store: str) -> None:
    scim_proxy.stall(method="POST", path="/Groups", seconds=3, deliver=True)
    failed = _push(scim_proxy, store, "--timeout", "1")
    assert failed.exit_code == 1
    assert "no answer within 1 s; whether it took is not known" in failed.output
    assert "stopped at request 14 of 19 (group.create serial:399-12345678)" in failed.output
    assert "Done: 13 user.create. Not done: 6 requests, this one included." in failed.output
    again = _push(scim_proxy, store)
    assert again.exit_code == 0, again.output
    assert len(scim_proxy.server.groups()) == 6  # the group whose answer was lost is not made twice
    assert _members(scim_proxy.server) == _store_grants(store)
    assert _push(scim_proxy, store).output.count("No changes.") == 1


def test_a_short_page_is_refused_and_nothing_is_removed(scim_proxy: Any, store: str, acme: Path) -> None:
    """The page lost its first resource: the read goes on from what came, and meets the last one again."""
    assert _push(scim_proxy, store).exit_code == 0
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    scim_proxy.clear()
    scim_proxy.short_page(path="/Users")
    result = _push(scim_proxy, store)
    assert result.exit_code == 1
    assert "came back twice (again in the page at startIndex 13)" in result.output
    assert "Nothing was changed" in result.output
    assert _writes(scim_proxy) == []
    ivan = scim_proxy.server.user("ivan.petrov@acme.example")
    assert ivan is not None and ivan["active"] is True


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_401_is_a_clear_error_that_never_shows_the_token(
    scim_proxy: Any, store: str, debug: list[str]
) -> None:
    token = scim_proxy.server.token
    scim_proxy.fail(401, headers={"WWW-Authenticate": 'Bearer realm="SCIM"'}, body={"detail": f"bad {token}"})
    result = CliRunner().invoke(
        cli,
        [*debug, "scim", "apply", "--auto-approve", "--url", scim_proxy.url, "--store", store],
        env={TOKEN_ENV: token},
    )
    assert result.exit_code == 1
    assert "refused the bearer token (401 Unauthorized); check RECONCILER_SCIM_TOKEN" in result.output
    assert token not in result.output
    assert "Traceback" not in result.output or debug


def test_a_debug_traceback_of_a_server_error_never_shows_the_token(
    scim_proxy: Any, store: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = scim_proxy.server.token
    scim_proxy.fail(500, body={"detail": f"echo Authorization: Bearer {token}"})
    monkeypatch.setenv(TOKEN_ENV, token)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--debug", "scim", "plan", "--url", scim_proxy.url, "--store", store])
    captured = capfd.readouterr()
    assert exit_.value.code == 1
    assert "Traceback" in captured.err and "answered 500: echo Authorization: Bearer ***" in captured.err
    assert token not in captured.out + captured.err


def test_plain_http_off_loopback_is_refused(store: str) -> None:
    result = _scim("http://scim.example.com/v2", store, "secret", "plan")
    assert result.exit_code == 1
    assert "plain http to scim.example.com" in result.output and "secret" not in result.output


def test_without_a_token_it_says_which_variable(store: str) -> None:
    result = _scim("http://127.0.0.1:9/v2", store, "", "plan")
    assert result.exit_code == 1 and "set RECONCILER_SCIM_TOKEN" in result.output


def test_without_the_extra_it_says_how_to_install_it(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.startswith(("reconciler.scim", "httpx", "scim2_models"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "httpx", None)  # type: ignore[arg-type]
    result = _scim("http://127.0.0.1:9/v2", store, "t", "plan")
    assert result.exit_code == 1
    assert (
        "needs the scim extra (httpx is not installed): pip install 'licence-reconciler[scim]'"
        in result.output
    )
    assert "Traceback" not in result.output


def test_a_retry_after_of_0_is_still_bounded_by_max_wait(scim_proxy: Any, store: str) -> None:
    """A directory that answers 429 "retry now" to every request must not make the run spin."""
    scim_proxy.fail(429, times=1_000, method="GET", headers={"Retry-After": "0"})
    result = _push(scim_proxy, store, "--max-wait", "1")
    assert result.exit_code == 1
    assert "past --max-wait 1 s" in result.output
    assert scim_proxy.count("GET") == 3  # each retry waits at least 0.5 s: two waits fit in 1 s
    assert scim_proxy.server.users() == []


def test_a_token_pasted_with_its_line_end_works_and_a_bad_one_is_never_shown(
    scim_proxy: Any, store: str
) -> None:
    token = scim_proxy.server.token
    result = _scim(scim_proxy.url, store, token + "\n", "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    for bad in (f"{token}é", f"{token}\nX-Other: 1", f"two {token}"):
        result = _scim(scim_proxy.url, store, bad, "plan")
        assert result.exit_code == 1
        assert "RECONCILER_SCIM_TOKEN holds a character a bearer token cannot" in result.output
        assert token not in result.output and "internal error" not in result.output


@pytest.mark.parametrize("url", ["https://[::1", "https://scim.example.com:abc/v2"])
def test_a_url_that_is_not_one_is_an_input_error(store: str, url: str) -> None:
    result = _scim(url, store, "secret", "plan")
    assert result.exit_code == 1
    assert f"--url {url!r} is not a URL" in result.output and "internal error" not in result.output


def test_resources_with_odd_attributes_are_read_as_someone_elses() -> None:
    """Read leniently: an externalId that is not a string marks no resource as ours, and the push
    leaves it alone instead of failing on it."""
    from reconciler.scim.client import _group, _user

    group = _group({"id": "g2", "externalId": 7, "displayName": "Odd", "members": [{"value": "id0"}]})
    user = _user({"id": "u9", "userName": "odd@else.example", "externalId": ["x"], "name": "not an object"})
    assert (group.external_id, group.members, user.external_id, user.given_name) == (
        None,
        ("id0",),
        None,
        None,
    )
    plan = plan_push(_snapshot(users=1), DirectoryRead(users=(user,), groups=(group,)), "http://127.0.0.1")
    assert all(action.resource_id not in ("g2", "u9") for action in plan.actions)
    assert plan.unmanaged == {"users": 1, "groups": 1}


def test_two_groups_claiming_one_serial_stop_the_plan_whatever_their_order() -> None:
    twins = (
        DirectoryGroup("serial:399-00000000", "AutoCAD 399-00000000", (), id="g1"),
        DirectoryGroup("serial:399-00000000", "AutoCAD 399-00000000 (copy)", (), id="g2"),
    )
    for groups in (twins, twins[::-1]):
        with pytest.raises(DirectoryError, match="two directory groups, g1 and g2, both have externalId"):
            plan_push(_snapshot(users=1), DirectoryRead(users=(), groups=groups), "http://127.0.0.1")


def test_a_member_id_with_control_characters_is_escaped_in_the_patch_filter() -> None:
    """A directory's ids may hold anything; the remove filter escapes them as JSON strings do, so the
    PATCH is made (and the push goes on) rather than failing inside the models."""
    from scim2_models import Group

    from reconciler.scim.client import _filter_value, _patch_body

    ident = 'a\nb\u202e"q\\'
    assert _filter_value(ident) == 'a\\nb\\u202e\\"q\\\\'
    body = _patch_body(Group, [{"op": "remove", "path": f'members[value eq "{_filter_value(ident)}"]'}])
    assert body["Operations"] == [{"op": "remove", "path": 'members[value eq "a\\nb\\u202e\\"q\\\\"]'}]
    with pytest.raises(DirectoryError, match="a PATCH could not be made"):
        _patch_body(Group, [{"op": "remove", "path": 'members[value eq "a\nb"]'}])


def test_scim_apply_off_a_terminal_without_auto_approve_sends_nothing(scim_proxy: Any, store: str) -> None:
    result = _scim(scim_proxy.url, store, scim_proxy.server.token, "apply")
    assert result.exit_code == 1
    assert (
        "Error: not applied: scim apply asks before changing anything; pass --auto-approve to run unattended"
        in result.output
    )
    assert _writes(scim_proxy) == [] and scim_proxy.server.users() == []


# --- providers that cap their pages (RFC 7644 §3.4.2.4) -----------------------------------------

ACME_USERS, ACME_GROUPS = 13, 6


@contextmanager
def _proxy_for(server: ScimServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(server)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(params=[7, 1], ids=["7 a page", "1 a page"])
def capped(request: pytest.FixtureRequest, scim_proxy: FaultProxy) -> FaultProxy:
    """A fault proxy whose pages hold at most 7 (or 1) resources, whatever `count` asks, and which says
    so nowhere (its ServiceProviderConfig is the server's own)."""
    scim_proxy.page_cap = request.param
    return scim_proxy


def _reads(proxy: FaultProxy) -> list[str]:
    return [seen.path for seen in proxy.requests if seen.method == "GET"]


def _pages(endpoint: str, total: int, per_page: int, count: int = 100) -> list[str]:
    """The page reads of `total` resources served `per_page` at a time, asked `count` at a time."""
    return [f"/{endpoint}?startIndex={start}&count={count}" for start in range(1, total + 1, per_page)] or [
        f"/{endpoint}?startIndex=1&count={count}"
    ]


def test_a_provider_that_caps_its_pages_is_read_whole_planned_and_pushed(
    capped: FaultProxy, store: str, acme: Path
) -> None:
    cap = capped.page_cap
    assert cap is not None
    first = _push(capped, store)
    assert first.exit_code == 0, first.output
    capped.clear()
    plan = _scim(capped.url, store, capped.server.token, "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes. The directory holds what the store wants." in plan.output
    pages = math.ceil(ACME_USERS / cap) + math.ceil(ACME_GROUPS / cap)
    assert f"Read {pages} pages: 13 managed users, 6 managed groups" in plan.output
    # Each page starts where the resources received end; nothing says the cap, so 100 are asked for.
    assert _reads(capped) == [
        "/ServiceProviderConfig",
        *_pages("Users", ACME_USERS, cap),
        *_pages("Groups", ACME_GROUPS, cap),
    ]
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    capped.clear()
    removed = _push(capped, store)
    assert removed.exit_code == 0, removed.output
    assert [(m, p.split("/")[1]) for m, p, _ in _writes(capped)] == [("PATCH", "Groups"), ("PATCH", "Users")]
    ivan = capped.server.user("ivan.petrov@acme.example")
    assert ivan is not None and ivan["active"] is False
    assert len(capped.server.users()) == ACME_USERS and _members(capped.server) == _store_grants(store)
    capped.clear()
    again = _push(capped, store)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output
    assert _writes(capped) == [] and len(capped.requests) == 1 + pages


@pytest.mark.parametrize("announced", [True, False], ids=["filter.maxResults", "pagination.maxPageSize"])
def test_a_cap_the_config_says_caps_the_count_asked_for(
    capping_scim: Callable[..., ScimServer], store: str, announced: bool
) -> None:
    with _proxy_for(capping_scim(5, announced=announced)) as proxy:
        assert _push(proxy, store).exit_code == 0
        proxy.clear()
        plan = _scim(proxy.url, store, proxy.server.token, "plan")
        assert plan.exit_code == 0, plan.output
        assert _reads(proxy) == [
            "/ServiceProviderConfig",
            *_pages("Users", ACME_USERS, 5, count=5),
            *_pages("Groups", ACME_GROUPS, 5, count=5),
        ]
        proxy.clear()
        smaller = _scim(proxy.url, store, proxy.server.token, "plan", "--page-size", "4")
        assert smaller.exit_code == 0, smaller.output
        assert _reads(proxy)[1:] == [
            *_pages("Users", ACME_USERS, 4, count=4),
            *_pages("Groups", ACME_GROUPS, 4, count=4),
        ]


@pytest.mark.parametrize(
    ("status", "config"),
    [
        (404, None),
        (501, None),
        (200, {"filter": {"supported": True}}),
        (200, {"filter": {"supported": True, "maxResults": 0}}),
        (200, {"filter": {"supported": True, "maxResults": "lots"}}),
        (200, "<html>not JSON</html>"),
    ],
    ids=["404", "501", "no maxResults", "maxResults 0", "maxResults not a number", "not JSON"],
)
def test_without_a_max_results_the_count_stays_the_page_size(
    scim_proxy: Any, store: str, status: int, config: Any
) -> None:
    scim_proxy.fail(status, method="GET", path="/ServiceProviderConfig", body=config)
    result = _push(scim_proxy, store, "--page-size", "50")
    assert result.exit_code == 0, result.output
    assert _reads(scim_proxy) == [
        "/ServiceProviderConfig",
        *_pages("Users", 0, 50, 50),
        *_pages("Groups", 0, 50, 50),
    ]


def _late_user(server: ScimServer) -> Callable[[], object]:
    return lambda: server.create_user("late@elsewhere.example")


@pytest.mark.parametrize(
    ("fault", "refusal"),
    [
        (
            lambda proxy: proxy.meanwhile(_late_user(proxy.server), method="GET", path="/Users?startIndex=8"),
            "the first page said 13 in all, the page at startIndex 8 says 14",
        ),
        (
            lambda proxy: proxy.short_page(path="/Users?startIndex=8"),
            "came back twice (again in the page at startIndex 13)",
        ),
        (
            lambda proxy: proxy.short_page(path="/Users?startIndex=8", drop=100),
            "the page at startIndex 8 holds no resources, with 7 of 13 read",
        ),
        (
            lambda proxy: proxy.page_says(items_per_page=0, path="/Users?startIndex=8"),
            "the page at startIndex 8 holds 6 resources where its itemsPerPage says 0",
        ),
        (
            lambda proxy: proxy.page_says(items_per_page=5, path="/Users?startIndex=1"),
            "the page at startIndex 1 holds 7 resources where its itemsPerPage says 5",
        ),
        (
            lambda proxy: proxy.page_says(items_per_page=9, path="/Users?startIndex=1"),
            "the page at startIndex 1 holds 7 resources where its itemsPerPage says 9",
        ),
        (
            lambda proxy: proxy.page_says(total_results=10, times=2, path="/Users?"),
            "the page at startIndex 8 brings the resources read to 13, past the 10 its totalResults says",
        ),
    ],
    ids=[
        "total changes",
        "a resource twice",
        "an empty page",
        "itemsPerPage 0",
        "more than itemsPerPage",
        "fewer than itemsPerPage",
        "more than totalResults",
    ],
)
def test_a_capped_read_that_is_inconsistent_is_refused_and_nothing_is_removed(
    capping_scim: Callable[..., ScimServer],
    store: str,
    acme: Path,
    fault: Callable[[FaultProxy], None],
    refusal: str,
) -> None:
    with _proxy_for(capping_scim(7)) as proxy:
        assert _push(proxy, store).exit_code == 0
        _drop_user(acme, "ivan.petrov@acme.example")
        _apply_yaml(store, acme)
        proxy.clear()
        fault(proxy)
        result = _push(proxy, store)
        assert result.exit_code == 1
        assert result.output.startswith("Error: reading Users: ") and refusal in result.output
        assert "Nothing was changed" in result.output and "Traceback" not in result.output
        assert _writes(proxy) == [] and proxy.faults == []
        ivan = proxy.server.user("ivan.petrov@acme.example")
        assert ivan is not None and ivan["active"] is True
