"""A SCIM push against what real providers do, emulated by the fault proxy's quirks (tests/scim_server.py)
in front of a real scim2-server: empty members on GET /Groups, lower-case `resources`, a cap on member
changes per PATCH answered 400, cursor-only paging, a page size capped without a word; the write
budget (a rate in every minute, an hourly stop and resume) and requests sent K at once."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_scim
from click.testing import CliRunner
from conftest import RESELLER
from scim_server import FaultProxy, ScimServer
from test_scim import _apply_yaml, _drop_user, _members, _push, _store_grants, _writes

from reconciler.cli import cli
from reconciler.scim.budget import Clock, WriteBudget
from reconciler.scim.client import DirectoryClient
from reconciler.scim.planning import PushOptions, plan_push
from reconciler.scim.profiles import DeleteMeans, profile
from reconciler.scim.push import apply_directory
from reconciler.scim.records import DirectoryRead
from reconciler.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from generate import write_account

#: The example account, copied to edit, and a store it was applied to (test_scim.py's fixtures).
acme, store = test_scim.acme, test_scim.store

ACME_USERS = 13


def _converge(proxy: FaultProxy, store: str, *args: str) -> list[int]:
    """Three pushes one after the other: the writes each made. Each must exit 0."""
    writes = []
    for run in (1, 2, 3):
        proxy.clear()
        result = _push(proxy, store, *args)
        assert result.exit_code == 0, f"run {run}: {result.output}"
        writes.append(len(_writes(proxy)))
    return writes


def _holds_the_store(server: ScimServer, store: str, users: int) -> None:
    """The server itself (not through the proxy) holds each user once and each group's members right."""
    names = [u["userName"].lower() for u in server.users()]
    assert len(names) == len(set(names)) == users
    held = {group: members for group, members in _members(server).items() if members}
    assert held == _store_grants(store)


QUIRKS: dict[str, tuple[Callable[[FaultProxy], None], tuple[str, ...]]] = {
    "empty members on GET /Groups": (lambda p: setattr(p, "empty_members", True), ("--members", "filter")),
    "lower-case resources": (lambda p: setattr(p, "lower_case_resources", True), ()),
    "member changes per PATCH capped": (lambda p: setattr(p, "patch_member_cap", 4), ("--chunk", "4")),
    "cursor-only paging": (lambda p: setattr(p, "cursor_only", True), ("--paging", "cursor")),
    "page size capped unannounced": (lambda p: setattr(p, "page_cap", 3), ()),
    "atlassian": (lambda p: setattr(p, "cursor_only", True), ("--profile", "atlassian")),
}


@pytest.mark.parametrize("quirk", list(QUIRKS))
def test_each_quirk_converges_in_two_runs_and_the_third_writes_nothing(
    scim_proxy: FaultProxy, store: str, acme: Path, quirk: str
) -> None:
    emulate, options = QUIRKS[quirk]
    emulate(scim_proxy)
    first = _converge(scim_proxy, store, *options)
    assert first[0] > 0 and first[2] == 0, first
    _holds_the_store(scim_proxy.server, store, ACME_USERS)
    # the store changes: a user leaves (deactivated, and out of every group)
    _drop_user(acme, "ivan.petrov@acme.example")
    _apply_yaml(store, acme)
    second = _converge(scim_proxy, store, *options)
    assert second[0] > 0 and second[2] == 0, second
    _holds_the_store(scim_proxy.server, store, ACME_USERS)
    ivan = scim_proxy.server.user("ivan.petrov@acme.example")
    assert ivan is not None and ivan["active"] is False


def test_empty_members_read_as_embedded_would_never_converge(scim_proxy: FaultProxy, store: str) -> None:
    """Why `--members filter` exists: read as embedded, empty member lists make every push add every
    member again."""
    scim_proxy.empty_members = True
    assert _converge(scim_proxy, store)[1:] == [6, 6]  # a member PATCH for each of the 6 groups, every run


def test_a_patch_over_the_providers_cap_is_a_clear_error_and_the_right_chunk_converges(
    scim_proxy: FaultProxy, store: str
) -> None:
    scim_proxy.patch_member_cap = 4
    failed = _push(scim_proxy, store, "--chunk", "5")
    assert failed.exit_code == 1
    assert "answered 400" in failed.output and "Done: 13 user.create" in failed.output
    assert _converge(scim_proxy, store, "--chunk", "4")[2] == 0
    _holds_the_store(scim_proxy.server, store, ACME_USERS)


def test_cursor_only_paging_read_by_index_says_to_use_cursor(scim_proxy: FaultProxy, store: str) -> None:
    scim_proxy.cursor_only = True
    refused = _push(scim_proxy, store)
    assert refused.exit_code == 1 and "answered 400" in refused.output
    assert _writes(scim_proxy) == []


@pytest.fixture
def big_store(tmp_path: Path) -> str:
    """A SQLite store of 150 users, each with access to both serials of one contract: two groups of 150,"""
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "account.yaml").open("w") as out:
        write_account(out, 150, contracts=1, serials_per_contract=2, grants_per_user=2)
    url = f"sqlite:///{tmp_path / 'big.db'}"
    open_store(url).initialize([RESELLER])
    _apply_yaml(url, folder / "account.yaml")
    return url


def test_aws_identity_center_all_at_once(scim_proxy: FaultProxy, big_store: str) -> None:
    """Empty member lists, cursor paging, pages of at most 50, and 100 member changes a PATCH at most:
    the aws-identity-center profile converges, K at once."""
    scim_proxy.empty_members = True
    scim_proxy.cursor_only = True
    scim_proxy.page_cap = 50
    scim_proxy.patch_member_cap = 100
    writes = _converge(scim_proxy, big_store, "--profile", "aws-identity-center", "--concurrency", "4")
    assert writes[2] == 0, writes
    groups = len(_store_grants(big_store))
    # a POST a user, a POST a group with its first 100 members, a PATCH a further 100
    members = sum(len(m) for m in _store_grants(big_store).values())
    assert writes[0] <= 150 + groups + -(-members // 100)
    _holds_the_store(scim_proxy.server, big_store, 150)
    assert all(s.status != 400 for s in scim_proxy.requests)


def test_a_user_a_deactivating_delete_has_deactivated_is_not_deleted_again() -> None:
    from test_scim import _remote_user, _snapshot

    remote = DirectoryRead(users=(_remote_user("u9@acme.example", "id9", "u9@acme.example", active=False),))
    deactivates = PushOptions(delete_removed=True, delete_means=DeleteMeans.DEACTIVATE)
    assert [a.kind for a in plan_push(_snapshot(users=0), remote, "h", deactivates).actions] == []
    deletes = PushOptions(delete_removed=True)
    assert [a.kind for a in plan_push(_snapshot(users=0), remote, "h", deletes).actions] == ["user.delete"]


# --- the write budget ---------------------------------------------------------------------------


def test_the_hourly_budget_stops_with_exit_4_and_the_next_run_makes_nothing_twice(
    scim_proxy: FaultProxy, store: str
) -> None:
    stopped = _push(scim_proxy, store, "--hourly-limit", "8", "--concurrency", "3")
    assert stopped.exit_code == 4, stopped.output
    assert "the hourly budget of 8 writes (--hourly-limit) is spent; run again from" in stopped.output
    assert re.search(
        r"run again from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, an hour after the last of them", stopped.output
    )
    assert "Done: 8 user.create. Not done: 11 requests" in stopped.output
    assert len(scim_proxy.writes()) == 8 and len(scim_proxy.server.users()) == 8
    resumed = _push(scim_proxy, store, "--hourly-limit", "8")
    assert (
        resumed.exit_code == 4
        and "Done: 3 group.create, 5 user.create. Not done: 3 requests" in resumed.output
    )
    finished = _push(scim_proxy, store, "--hourly-limit", "8")
    assert finished.exit_code == 0, finished.output
    _holds_the_store(scim_proxy.server, store, ACME_USERS)  # each user once: none made twice
    assert len(scim_proxy.server.groups()) == 6
    scim_proxy.clear()
    assert _push(scim_proxy, store).exit_code == 0 and _writes(scim_proxy) == []


def test_a_retry_after_holds_every_worker(scim_proxy: FaultProxy, store: str) -> None:
    scim_proxy.fail(429, times=1, method="POST", path="/Users", headers={"Retry-After": "1"})
    started = time.monotonic()
    result = _push(scim_proxy, store, "--concurrency", "4")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0
    refused = next(i for i, s in enumerate(scim_proxy.requests) if s.status == 429)
    after = [s for s in scim_proxy.requests[refused + 1 :] if s.method == "POST"]
    # the workers that were already sending finish; none starts another write inside the second
    held = [s for s in after if s.at - scim_proxy.requests[refused].at < 1.0]
    assert len(held) <= 3
    _holds_the_store(scim_proxy.server, store, ACME_USERS)


class DilatedClock:
    """A clock that runs `factor` times faster than the real one: a minute of it is 60/factor real
    seconds. The budget and the proxy read the same one, so the proxy's minutes are the budget's."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.origin = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self.origin) * self.factor

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.factor)

    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep)


@pytest.fixture(scope="module")
def ten_thousand(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("ten-thousand")
    with (folder / "account.yaml").open("w") as out:
        write_account(out, 10_000)
    url = f"sqlite:///{folder / 'store.db'}"
    open_store(url).initialize([RESELLER])
    _apply_yaml(url, folder / "account.yaml")
    return url


def test_the_rate_holds_in_every_minute_of_a_10000_user_push(
    scim_proxy: FaultProxy, ten_thousand: str
) -> None:
    """600 writes a minute, four workers, a clock 12 times faster than real: a minute is 5 s. Every
    60-second window of the proxy's clock, from each write's arrival, holds at most 600 writes.

    120 writes a real second is well below what the server takes even on a loaded machine (about
    170), so the budget, not the server, is what holds the push back: a window holds 600, not fewer."""
    rate, dilated = 600, DilatedClock(12)
    scim_proxy.clock = dilated.now
    settings = profile("generic").overridden(rate=rate)
    budget = WriteBudget(settings.rate, clock=dilated.clock())
    with DirectoryClient(
        scim_proxy.url, scim_proxy.server.token, settings=settings, budget=budget, concurrency=4
    ) as client:
        result = apply_directory(open_store(ten_thousand), client, PushOptions())
    writes = sorted(s.at for s in scim_proxy.writes())
    assert len(writes) == len(result.plan.actions) > 10_000
    most, end = 0, 0
    for start, at in enumerate(writes):
        while end < len(writes) and writes[end] < at + 60:
            end += 1
        most = max(most, end - start)
    assert most <= rate
    assert most >= rate * 0.9, f"the budget was never the limit (at most {most} a minute)"
    assert len(scim_proxy.server.users()) == 10_000


# --- the command line ---------------------------------------------------------------------------


def _cli(*args: str, token: str = "t", env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env={"RECONCILER_SCIM_TOKEN": token, **(env or {})})


def test_probe_prints_what_the_provider_says_and_how_a_push_would_page(scim_proxy: FaultProxy) -> None:
    result = _cli("scim", "probe", "--url", scim_proxy.url, token=scim_proxy.server.token)
    assert result.exit_code == 0, result.output
    assert "  PATCH              yes\n" in result.output
    assert "  filter             yes, maxResults 1,000\n" in result.output
    assert "  bulk               yes (at most 1,000 operations, 1,048,576 bytes)\n" in result.output
    assert "A push with profile generic: 100 members a PATCH" in result.output
    assert "  would page by index, 100 resources a page." in result.output
    assert [(s.method, s.path) for s in scim_proxy.requests] == [("GET", "/ServiceProviderConfig")]


def test_probe_warns_where_the_profile_asks_what_the_provider_does_not_do(scim_proxy: FaultProxy) -> None:
    config = {"patch": {"supported": True}, "pagination": {"index": True, "cursor": False, "maxPageSize": 50}}
    scim_proxy.fail(200, method="GET", path="/ServiceProviderConfig", body=config)
    result = _cli(
        "scim",
        "probe",
        "--url",
        scim_proxy.url,
        "--profile",
        "atlassian",
        "--format",
        "json",
        token=scim_proxy.server.token,
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["provider"]["max_page_size"] == 50 and found["provider"]["cursor"] is False
    assert found["push"] == {"paging": "cursor", "page_count": 50}
    assert found["warnings"] == [
        "the settings page by cursor, which the provider says it does not: use --paging index"
    ]


def test_the_plan_says_its_settings_and_each_option_overrides_the_profiles(
    scim_proxy: FaultProxy, store: str
) -> None:
    token = scim_proxy.server.token
    env = {"RECONCILER_SCIM_PROFILE": "slack"}
    result = _cli(
        "scim", "plan", "--url", scim_proxy.url, "--store", store, "--chunk", "7", token=token, env=env
    )
    assert result.exit_code == 0, result.output
    assert (
        "Settings: profile slack: 7 members a PATCH, 600 writes a minute, no hourly budget, auto paging of "
        "100, members embedded, DELETE deactivates." in result.output
    )
    planned = _cli(
        "scim",
        "plan",
        "--url",
        scim_proxy.url,
        "--store",
        store,
        "--format",
        "json",
        "--rate",
        "off",
        "--profile",
        "github-emu",
        token=token,
        env=env,
    )
    settings = json.loads(planned.output)["settings"]
    assert (settings["profile"], settings["rate"], settings["hourly_limit"]) == ("github-emu", None, 1000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "lots"), "--rate 'lots' is not a rate: write N/min (600/min), N/s, or off"),
        (("--profile", "okta"), "Invalid value for '--profile': 'okta' is not one of 'generic'"),
        (("--concurrency", "0"), "Invalid value for '--concurrency'"),
    ],
)
def test_a_setting_that_cannot_be_is_an_error_before_any_request(
    scim_proxy: FaultProxy, store: str, args: tuple[str, ...], message: str
) -> None:
    result = _push(scim_proxy, store, *args)
    assert result.exit_code == 1 and message in result.output
    assert scim_proxy.requests == []


def test_every_kind_of_request_has_its_phase_once() -> None:
    """A new kind of request that no phase names would never be sent: each is in exactly one."""
    from reconciler.scim.push import PHASES
    from reconciler.scim.records import Request

    named = [kind for phase in PHASES for kind in phase]
    assert sorted(named) == sorted(Request)


def test_a_push_k_at_once_from_either_store_converges(
    scim_proxy: FaultProxy, store_url: str, acme: Path
) -> None:
    """SQLite and PostgreSQL alike: the push reads one snapshot, whichever store holds it."""
    _apply_yaml(store_url, acme)
    writes = _converge(scim_proxy, store_url, "--concurrency", "8", "--profile", "slack")
    assert writes[0] == 19 and writes[1:] == [0, 0]
    _holds_the_store(scim_proxy.server, store_url, ACME_USERS)


LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.mark.parametrize(
    ("page", "refusal"),
    [
        (
            {"schemas": [LIST], "itemsPerPage": 0, "Resources": [], "nextCursor": "more"},
            "holds no resources yet gives a next cursor",
        ),
        (
            {"schemas": [LIST], "totalResults": 1, "Resources": [{"id": "a"}, {"id": "b"}]},
            "brings the resources read to 2, past the 1 its totalResults says",
        ),
    ],
    ids=["an empty page that goes on", "more than the total"],
)
def test_a_cursor_page_that_cannot_be_whole_is_refused(
    scim_proxy: FaultProxy, store: str, page: dict[str, Any], refusal: str
) -> None:
    scim_proxy.fail(200, method="GET", path="/Users", body=page)
    result = _push(scim_proxy, store, "--paging", "cursor")
    assert result.exit_code == 1 and refusal in result.output and "Nothing was changed" in result.output
    assert _writes(scim_proxy) == []


def test_a_worker_that_breaks_stops_the_others_from_starting(
    scim_proxy: FaultProxy, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a DirectoryError (a bug, or Ctrl-C in the main thread): no worker starts another request."""
    made = DirectoryClient.create_user
    calls = []

    def breaking(client: DirectoryClient, user: Any) -> Any:
        calls.append(user.user_name)
        if len(calls) == 3:
            raise RuntimeError("a bug")
        return made(client, user)

    monkeypatch.setattr(DirectoryClient, "create_user", breaking)
    result = _push(scim_proxy, store, "--concurrency", "2")
    assert result.exit_code == 1 and "internal error (RuntimeError: a bug)" in result.output
    assert len(calls) <= 4 < ACME_USERS  # the two in flight at most, then nothing
