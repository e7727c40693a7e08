"""A real SCIM 2.0 service provider on loopback, and a proxy of the tests' own that injects faults in
front of it, for the SCIM client's tests.

`ScimServer` runs `scim2-server` (the python-scim family's test server, the
test extra installs it) as a subprocess on 127.0.0.1 at a free port, with a
bearer token required and the schemas and resource types of RFC 7643 (Users
and Groups, with ETags). It serves each tenant's resources under /TENANT/v2
(RFC 7644 §6.1's URL prefix), and a tenant comes into being on its first
request: `reset()` moves the server to a new, empty tenant, so that a test
never sees what an earlier one left, at no cost. `url` is the current
tenant's SCIM base, e.g. http://127.0.0.1:PORT/test-3/v2. Given a `config`, the
server announces that ServiceProviderConfig instead of its own, and obeys it:
its `filter.maxResults` and RFC 9865's `pagination.maxPageSize` cap the
resources a list page holds, whatever `count` asked (RFC 7644 §3.4.2.4).
`capping_config(cap)` makes one that caps without saying so in
`filter.maxResults`, as providers do; `announced=True` says so.

`FaultProxy` forwards every request to the server unchanged (the Host header
too, so that the `meta.location` the server writes points at the proxy),
records each as a `Seen`: (method, path relative to the SCIM base with its
query, status the client got), and `at`, when it arrived. It can be told faults, each for the next `times`
requests it matches (by method and path prefix), consumed in the order they
were told:

- `fail(status, ...)`: answer `status` (429 with Retry-After, 503, 401...)
  with a SCIM error body, and send nothing on;
- `stale_etag()`: a conditional request (If-Match) finds the resource
  changed: the proxy changes it on the server first (its version moves on, its
  content stays), then sends the request on, and the server itself answers
  412 Precondition Failed; a re-read gets the new ETag;
- `stall(seconds=...)`: hold the request `seconds` (longer than the client's
  timeout), then drop the connection without an answer; with `deliver=True`
  the server gets and does it first (the client never learns it did);
- `short_page()`: a list response comes back with its first Resources
  dropped and `totalResults` kept: a partial read that a client paging by
  startIndex cannot make up;
- `page_says(items_per_page=..., total_results=...)`: a list response
  misreports itself: its Resources as the server sent them, its counts not;
- `meanwhile(action)`: another client changes the server (`action`, say
  `lambda: scim.create_user(...)`) just before the request is sent on, as
  happens between two pages of a read.

It can also emulate quirks: what some real providers always do, each a plain
attribute that a test sets before or between runs and that lasts until it is
set back (all off at first). A fault comes first: a `fail` answers before any
quirk is looked at.

- `delay`: seconds every request waits before it goes on, each in its own
  thread, so that requests sent together wait together (a benchmark's latency);
- `clock`: what `Seen.at` is read from as a request arrives (time.monotonic;
  a test gives a faster one to check a rate limit over many minutes);
- `empty_members`: as AWS IAM Identity Center, a GET of /Groups or of
  /Groups/ID shows every group with `"members": []`, whatever it holds; a
  `members[value eq "ID"]` filter still finds the groups that have the member;
- `lower_case_resources`: a list response holds its resources under
  `resources`, not `Resources`;
- `patch_member_cap`: a PATCH of a group that changes more members than this,
  or a POST of a group with more, is refused 400 (scimType tooMany) and never
  reaches the server;
- `cursor_only`: as Atlassian, lists page by RFC 9865 cursors alone: a list GET
  must carry `cursor` (empty for the first page) and no `startIndex`, or it is
  refused 400 (invalidValue; a cursor the proxy never gave, invalidCursor); its
  answer has neither `startIndex` nor `totalResults`, and has a `nextCursor`
  until the last page;
- `page_cap`: a list GET's `count` is lowered to this (set to it when missing)
  before it goes on: a cap the provider does not announce.

`writes()` lists the requests that went through to change something.

The fixtures, made available to every test by conftest.py: `scim_server`
(the session's server), `scim` (that server, reset for the test) and
`scim_proxy` (a proxy in front of `scim`, for the test); and `capping_scim`:
`capping_scim(7)` is a server, started once for the session and reset for
the caller, whose pages hold at most 7 resources. Without scim2-server
installed the tests that take them skip, and fail when CI is set
(tests/required.py).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote_plus

import httpx
import pytest
from processes import end
from required import require

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
#: How many resources the helpers ask for at a time (the server gives at most 1000: filter.maxResults).
PAGE_SIZE = 100
#: How long the server has to answer its first request.
START_TIMEOUT = 20.0
#: Headers that belong to one connection, never forwarded; Accept-Encoding too, so that bodies stay plain.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
    }
)


def scim_server_problem() -> str:
    """Why the SCIM server cannot run here, or "" when it can."""
    if importlib.util.find_spec("scim2_server") is None:
        return "scim2-server is not installed (pip install -e '.[test]')"
    return ""


def require_scim_server() -> None:
    """Skip (on a laptop) or fail (when CI is set) unless scim2-server is installed."""
    require(scim_server_problem(), "the SCIM tests", "the SCIM tests need it")


def capping_config(cap: int, *, announced: bool = False) -> dict[str, Any]:
    """scim2-server's own ServiceProviderConfig, with list pages of at most `cap` resources.

    Announced, the cap is `filter.maxResults`, where RFC 7643 §5 puts it.
    Unannounced, `filter.maxResults` is left out and the cap is only RFC 9865's
    `pagination.maxPageSize`: a provider that caps its pages without saying so
    to a client that reads `filter.maxResults`.
    """
    default = files("scim2_server") / "resources" / "default-service-provider-config.json"
    config: dict[str, Any] = json.loads(default.read_text())
    if announced:
        config["filter"]["maxResults"] = cap
    else:
        del config["filter"]["maxResults"]
        config["pagination"] = {"index": True, "cursor": False, "maxPageSize": cap}
    return config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ScimServer:
    """`scim2-server` on 127.0.0.1 at a free port, requiring `token`; `start()`, then `stop()`.

    `config` is the ServiceProviderConfig it announces and obeys (scim2-server's own when None).
    """

    def __init__(self, token: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        #: The bearer token the server requires; recognisable, so that a test can look for it in output.
        self.token = token or f"scim-test-token-{secrets.token_hex(8)}"
        self.config = config
        self.port = 0
        self.tenant = "test-0"
        self._resets = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (open while the server runs; close() closes it)
        self._config_file: Any = None
        self._http = httpx.Client(timeout=10.0, headers={"Authorization": f"Bearer {self.token}"})

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_path(self) -> str:
        """The path of the SCIM base, e.g. /test-3/v2 (the endpoints are below it: /Users, /Groups)."""
        return f"/{self.tenant}/v2"

    @property
    def url(self) -> str:
        """The SCIM base URL of the current tenant, e.g. http://127.0.0.1:PORT/test-3/v2."""
        return f"{self.origin}{self.base_path}"

    def start(self) -> None:
        """Start the server and wait until it answers; a port taken meanwhile is retried on another."""
        options: list[str] = []
        if self.config is not None:
            self._config_file = tempfile.NamedTemporaryFile("w", suffix=".json")  # noqa: SIM115  (close() closes it)
            json.dump(self.config, self._config_file)
            self._config_file.flush()
            options = ["--service-provider-config", self._config_file.name]
        for _attempt in range(3):
            self.port = _free_port()
            self._log.seek(0)
            self._log.truncate()
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scim2_server.testserver.cli",
                    "--hostname",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--bearer-token",
                    self.token,
                    "--dynamic-tenants",
                    *options,
                ],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            if self._wait_until_answering():
                return
            if "Address already in use" not in self.log():
                break
        log = self.log()
        self.stop()
        raise RuntimeError(f"scim2-server did not start on 127.0.0.1:{self.port}; it said:\n{log}")

    def _wait_until_answering(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                # The one endpoint that needs no token (RFC 7643 §5).
                if self._http.get(f"{self.url}/ServiceProviderConfig", timeout=1.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def log(self) -> str:
        """What the server printed (one line per request, and its errors)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self._process is not None:
            end(self._process)
            self._process = None

    def close(self) -> None:
        self.stop()
        self._http.close()
        self._log.close()
        if self._config_file is not None:
            self._config_file.close()

    def reset(self) -> None:
        """Empty the server of Users and Groups: the URL moves to a new tenant, which has none."""
        self._resets += 1
        self.tenant = f"test-{self._resets}"

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client for the current tenant, sending the token; close it (or use `with`)."""
        headers = {"Authorization": f"Bearer {self.token}", **options.pop("headers", {})}
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=options.pop("timeout", 10.0), **options
        )

    def request(self, method: str, endpoint: str, **options: Any) -> httpx.Response:
        """One request to the current tenant, straight to the server, with the token."""
        if "json" in options:
            options["content"] = json.dumps(options.pop("json"))
            options["headers"] = {"Content-Type": SCIM_JSON, **options.get("headers", {})}
        return self._http.request(method, f"{self.url}{endpoint}", **options)

    def resources(self, endpoint: str, **query: str) -> list[dict[str, Any]]:
        """Every resource at `endpoint` ("/Users", "/Groups"), paging through; `query`: filter=..."""
        found: list[dict[str, Any]] = []
        while True:
            params = {**query, "startIndex": str(len(found) + 1), "count": str(PAGE_SIZE)}
            response = self.request("GET", endpoint, params=params)
            response.raise_for_status()
            page = response.json()
            found.extend(page.get("Resources", []))
            if not page.get("Resources") or len(found) >= page["totalResults"]:
                assert len(found) == page["totalResults"], (
                    f"{endpoint}: {len(found)} of {page['totalResults']}"
                )
                return found

    def users(self) -> list[dict[str, Any]]:
        """Every User on the server, as the server shows it."""
        return self.resources("/Users")

    def groups(self) -> list[dict[str, Any]]:
        """Every Group on the server, as the server shows it."""
        return self.resources("/Groups")

    def user(self, user_name: str) -> dict[str, Any] | None:
        """The User with this userName (compared as the server does: case-insensitively), or None."""
        found = self.resources("/Users", filter=f'userName eq "{user_name}"')
        return found[0] if found else None

    def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        """Create a User straight on the server; `attributes` in SCIM's names (externalId=..., active=...)."""
        return self._create("/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **attributes})

    def create_group(self, display_name: str, members: Any = (), **attributes: Any) -> dict[str, Any]:
        """Create a Group straight on the server; `members`: user ids, or the users as dicts."""
        values = [member["id"] if isinstance(member, dict) else member for member in members]
        body = {"schemas": [GROUP_SCHEMA], "displayName": display_name, **attributes}
        if values:
            body["members"] = [{"value": value} for value in values]
        return self._create("/Groups", body)

    def _create(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", endpoint, json=body)
        assert response.status_code == 201, f"POST {endpoint}: {response.status_code} {response.text}"
        created: dict[str, Any] = response.json()
        return created


@dataclass
class Fault:
    """One fault the proxy was told, for its next `times` requests that match."""

    kind: str  # "fail", "stale_etag", "stall", "short_page", "page_says" or "meanwhile"
    times: int
    method: str | None = None
    path: str | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    seconds: float = 0.0
    deliver: bool = False
    drop: int = 1
    items_per_page: int | None = None
    total_results: int | None = None
    action: Callable[[], object] | None = None

    def matches(self, method: str, path: str, headers: dict[str, str]) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is not None and not path.startswith(self.path):
            return False
        return self.kind != "stale_etag" or "if-match" in headers


#: The faults that rewrite a list response, used only on one.
REWRITES = frozenset({"short_page", "page_says"})
#: The methods of the requests that `writes()` lists.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The endpoints whose GET without an id is a list, the ones `cursor_only` and `page_cap` apply to.
LIST_ENDPOINTS = frozenset({"/Users", "/Groups"})


class _Request(NamedTuple):
    method: str
    path: str
    status: int | None


class Seen(_Request):
    """One request that went through the proxy: `status` is what the client got (None: no answer), `at`
    the proxy's `clock` when it arrived.

    `at` is not part of the tuple, so that a test compares what went through with
    `[("GET", "/Users", 200), ...]` and unpacks `method, path, status`, whenever it went.
    """

    at: float

    def __new__(cls, method: str, path: str, status: int | None, at: float = 0.0) -> Seen:
        seen = super().__new__(cls, method, path, status)
        seen.at = at
        return seen


@dataclass(frozen=True)
class Onward:
    """What the proxy's quirks make of a request: the `target` it goes on to on the server (its path and
    query as sent, unless a quirk rewrote them), with `cursor_start` the startIndex its cursor stood for;
    or the `refusal`, a SCIM error body, that a quirk answers (400) instead of the server."""

    target: str
    cursor_start: int | None = None
    refusal: bytes | None = None


class _ProxyServer(ThreadingHTTPServer):
    """The proxy's HTTP server: a thread per connection, so that requests sent together are served, and
    delayed, together."""

    daemon_threads = True
    block_on_close = False  # a client's idle keep-alive connection must not hold stop() up
    # A client opening many connections at once must find room in the listen queue (5 by default): a
    # connection with none is tried again a second later (the SYN's retransmit); in a trial, 16 opened
    # at once often lost that second.
    request_queue_size = 64


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of `server`; `url` is the server's SCIM base through it."""

    def __init__(self, server: ScimServer) -> None:
        self.server = server
        self.lock = threading.Lock()
        #: Every request that went through, in the order answered: (method, path with query, status), at.
        self.requests: list[Seen] = []
        self.faults: list[Fault] = []
        # The quirks (see the module's docstring), all off.
        self.delay: float = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self.empty_members = False
        self.lower_case_resources = False
        self.patch_member_cap: int | None = None
        self.cursor_only = False
        self.page_cap: int | None = None
        self._stopping = threading.Event()
        # One connection for each request in flight, and kept: a benchmark sends 8 at once, each delayed.
        self._upstream = httpx.Client(
            timeout=30.0, limits=httpx.Limits(max_connections=32, max_keepalive_connections=32)
        )
        self._httpd = _ProxyServer(("127.0.0.1", 0), _handler_for(self))
        self.port: int = self._httpd.server_address[1]
        # Polled often, so that stop() returns at once, not half a second later.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """The SCIM base through the proxy: the server's path, the proxy's port."""
        return f"http://127.0.0.1:{self.port}{self.server.base_path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # ends every stall at once
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._upstream.close()

    # -- faults -----------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | dict[str, Any] | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (and `headers`) instead of the server.

        The body is a SCIM error saying so, unless `body` is given (a dict is sent as JSON).
        """
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        self._add(Fault("fail", times, method, path, status=status, headers=dict(headers or {}), body=body))

    def stale_etag(self, times: int = 1, method: str | None = None, path: str | None = None) -> None:
        """The next `times` matching requests with If-Match find their resource changed since it was read."""
        self._add(Fault("stale_etag", times, method, path))

    def stall(
        self,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        seconds: float = 3.0,
        deliver: bool = False,
    ) -> None:
        """Hold the next `times` matching requests `seconds`, then drop their connection unanswered.

        With `deliver`, the server gets each and does it first; the answer is what is lost.
        """
        self._add(Fault("stall", times, method, path, seconds=seconds, deliver=deliver))

    def short_page(
        self, times: int = 1, method: str | None = None, path: str | None = None, drop: int = 1
    ) -> None:
        """The next `times` list responses lose their first `drop` Resources; totalResults stays."""
        self._add(Fault("short_page", times, method, path, drop=drop))

    def page_says(
        self,
        items_per_page: int | None = None,
        total_results: int | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next `times` list responses say `itemsPerPage` and `totalResults` (when given) instead of
        what the server said; their Resources stay as the server sent them."""
        self._add(
            Fault(
                "page_says", times, method, path, items_per_page=items_per_page, total_results=total_results
            )
        )

    def meanwhile(
        self, action: Callable[[], object], times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Run `action` (another client's change, straight to the server) before each of the next `times`
        matching requests is sent on."""
        self._add(Fault("meanwhile", times, method, path, action=action))

    def _add(self, fault: Fault) -> None:
        assert fault.times >= 1, "a fault is for one request or more"
        with self.lock:
            self.faults.append(fault)

    # -- what went through ------------------------------------------------------------------------

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests went through, of `method` and starting with `path` when given."""
        with self.lock:
            return sum(
                1
                for seen in self.requests
                if (method is None or seen.method == method.upper())
                and (path is None or seen.path.startswith(path))
            )

    def writes(self) -> list[Seen]:
        """The requests that went through to create, change or delete something (POST, PUT, PATCH, DELETE)."""
        with self.lock:
            return [seen for seen in self.requests if seen.method in WRITE_METHODS]

    def clear(self) -> None:
        """Forget the requests seen so far (not the faults)."""
        with self.lock:
            self.requests.clear()

    # -- serving ----------------------------------------------------------------------------------

    def _relative(self, target: str) -> str:
        return (
            target.removeprefix(self.server.base_path) if target.startswith(self.server.base_path) else target
        )

    def _take(self, method: str, path: str, headers: dict[str, str]) -> Fault | None:
        """The first fault told that matches, used once (a page's rewrite only when it applies)."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, headers):
                    if fault.kind not in REWRITES:
                        self._use(fault)
                    return fault
        return None

    def _use(self, fault: Fault) -> None:
        fault.times -= 1
        if fault.times == 0:
            self.faults.remove(fault)

    def _record(self, method: str, path: str, status: int | None, at: float) -> None:
        with self.lock:
            self.requests.append(Seen(method, path, status, at))

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = self.clock()
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in handler.headers.items()}
        path = self._relative(handler.path)
        if self.delay:
            time.sleep(self.delay)
        fault = self._take(method, path, headers)

        if fault is not None and fault.kind == "fail":
            answer = fault.body
            if answer is None:
                try:
                    phrase = HTTPStatus(fault.status).phrase
                except ValueError:
                    phrase = f"Status {fault.status}"
                answer = _scim_error(fault.status, f"{phrase} (a fault the test's proxy injected)")
            # Recorded before the answer, which a test may act on at once.
            self._record(method, path, fault.status, arrived)
            self._answer(handler, fault.status, {"Content-Type": SCIM_JSON, **fault.headers}, answer)
            return
        onward = self._onward(method, handler.path, body)
        if fault is not None and fault.kind == "stall":
            self._record(method, path, None, arrived)  # now, in the order it came: it will have no answer
            if fault.deliver and onward.refusal is None:
                self._forward(handler, method, body, onward.target)
            self._stopping.wait(fault.seconds)
            handler.close_connection = True
            with suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "stale_etag":
            self._change_behind(handler, headers)
        if fault is not None and fault.action is not None:
            fault.action()
        if onward.refusal is not None:
            self._record(method, path, 400, arrived)
            self._answer(handler, 400, {"Content-Type": SCIM_JSON}, onward.refusal)
            return

        response = self._forward(handler, method, body, onward.target)
        content = response.content
        if onward.cursor_start is not None:
            content = _cursor_paged(content, onward.cursor_start)
        if fault is not None and fault.kind in REWRITES:
            content = self._rewrite(fault, content)
        content = self._reshape(method, path, content)
        passed = {
            k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP | {"date", "server"}
        }
        self._record(method, path, response.status_code, arrived)
        self._answer(handler, response.status_code, passed, content)

    def _forward(
        self, handler: BaseHTTPRequestHandler, method: str, body: bytes, target: str
    ) -> httpx.Response:
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP]
        return self._upstream.request(method, f"{self.server.origin}{target}", headers=headers, content=body)

    # -- quirks -----------------------------------------------------------------------------------

    def _onward(self, method: str, target: str, body: bytes) -> Onward:
        """Where a request goes on to, as the quirks have it (`target`: its path and query as sent)."""
        endpoint = self._relative(target.partition("?")[0])
        if method == "GET" and endpoint in LIST_ENDPOINTS:
            return self._list_onward(target)
        cap = self.patch_member_cap
        group_write = (method == "PATCH" and endpoint.startswith("/Groups/")) or (
            method == "POST" and endpoint == "/Groups"
        )
        if cap is not None and group_write and _members_changed(method, body) > cap:
            detail = f"A request may change at most {cap} members of a group; send the rest in more requests."
            return Onward(target, refusal=_scim_error(400, detail, "tooMany"))
        return Onward(target)

    def _list_onward(self, target: str) -> Onward:
        """A list GET as `cursor_only` and `page_cap` send it on, or refuse it."""
        path, _, query = target.partition("?")
        parameters = dict(parse_qsl(query, keep_blank_values=True))
        replaced: dict[str, str | None] = {}
        start = None
        if self.cursor_only:
            if "startIndex" in parameters or "cursor" not in parameters:
                detail = "This provider pages by cursor only (RFC 9865): ask with cursor= and no startIndex."
                return Onward(target, refusal=_scim_error(400, detail, "invalidValue"))
            start = _cursor_start(parameters["cursor"])
            if start is None:
                detail = f"The cursor {parameters['cursor']!r} is not one this provider gave."
                return Onward(target, refusal=_scim_error(400, detail, "invalidCursor"))
            replaced = {"cursor": None, "startIndex": str(start)}
        if self.page_cap is not None:
            count = parameters.get("count")
            if count is None or (count.isdigit() and int(count) > self.page_cap):
                replaced["count"] = str(self.page_cap)
        query = _with_parameters(query, replaced)
        return Onward(f"{path}?{query}" if query else path, cursor_start=start)

    def _reshape(self, method: str, path: str, content: bytes) -> bytes:
        """An answer as `empty_members` and `lower_case_resources` have it."""
        endpoint = path.partition("?")[0]
        of_groups = endpoint == "/Groups" or endpoint.startswith("/Groups/")
        empties = self.empty_members and method == "GET" and of_groups
        if not (empties or self.lower_case_resources):
            return content
        try:
            answer = json.loads(content)
        except ValueError:
            return content
        if not isinstance(answer, dict):
            return content
        is_list = LIST_SCHEMA in answer.get("schemas", [])
        groups = answer.get("Resources", []) if is_list else [answer]
        emptied = [group for group in groups if empties and GROUP_SCHEMA in group.get("schemas", [])]
        for group in emptied:
            group["members"] = []
        renamed = self.lower_case_resources and is_list and "Resources" in answer
        if renamed:
            answer["resources"] = answer.pop("Resources")
        return json.dumps(answer).encode() if emptied or renamed else content

    def _change_behind(self, handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> None:
        """Change the resource as another client would: its externalId there and back, two versions on."""
        resource = f"{self.server.origin}{handler.path.split('?')[0]}"
        auth = {"Authorization": headers.get("authorization", ""), "Content-Type": SCIM_JSON}
        current = self._upstream.get(resource, headers=auth)
        if current.status_code != 200:
            return
        external_id = current.json().get("externalId")
        there = {"op": "replace", "path": "externalId", "value": f"{external_id or ''}~changed-behind"}
        back = (
            {"op": "replace", "path": "externalId", "value": external_id}
            if external_id
            else {"op": "remove", "path": "externalId"}
        )
        for operation in (there, back):
            patch = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
            self._upstream.patch(resource, headers=auth, content=json.dumps(patch))

    def _rewrite(self, fault: Fault, content: bytes) -> bytes:
        page = _list_page(content)
        if page is None:
            return content  # not a list: the fault waits for one
        if fault.kind == "short_page" and not page.get("Resources"):
            return content  # nothing to drop: the fault waits for a page that has some
        with self.lock:
            if fault in self.faults:
                self._use(fault)
        if fault.kind == "short_page":
            page["Resources"] = page["Resources"][fault.drop :]
            page["itemsPerPage"] = len(page["Resources"])
        if fault.items_per_page is not None:
            page["itemsPerPage"] = fault.items_per_page
        if fault.total_results is not None:
            page["totalResults"] = fault.total_results
        return json.dumps(page).encode()

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def _scim_error(status: int, detail: str, scim_type: str | None = None) -> bytes:
    """A SCIM error body (RFC 7644 §3.12)."""
    error = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type is not None:
        error["scimType"] = scim_type
    return json.dumps(error).encode()


def _list_page(content: bytes) -> dict[str, Any] | None:
    """The list response `content` holds, or None when it holds something else (an error, a resource)."""
    try:
        page = json.loads(content)
    except ValueError:
        return None
    if not isinstance(page, dict) or LIST_SCHEMA not in page.get("schemas", []):
        return None
    return page


def _with_parameters(query: str, replaced: Mapping[str, str | None]) -> str:
    """`query` with the parameters in `replaced` set to their values (None: left out), the others as sent,
    byte for byte (a filter re-encoded could differ in how it writes a space)."""
    kept = [
        piece for piece in query.split("&") if piece and unquote_plus(piece.split("=")[0]) not in replaced
    ]
    added = [f"{name}={quote(value)}" for name, value in replaced.items() if value is not None]
    return "&".join(kept + added)


def _cursor_token(start: int) -> str:
    """The cursor of the page that begins at `start`: opaque to the client, as RFC 9865 has it."""
    return base64.urlsafe_b64encode(f"start:{start}".encode()).decode().rstrip("=")


def _cursor_start(cursor: str) -> int | None:
    """The startIndex a cursor of `_cursor_token`'s stands for (an empty one: the first page), or None."""
    if cursor == "":
        return 1
    try:
        said = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:  # not base64, or not text
        return None
    number = re.fullmatch(r"start:([1-9][0-9]*)", said)
    return int(number[1]) if number else None


def _cursor_paged(content: bytes, start: int) -> bytes:
    """The server's answer to a page from `start` as a cursor-paged provider gives it: no startIndex, no
    totalResults (RFC 9865 lets it leave that out), and the next page's cursor unless it is the last."""
    page = _list_page(content)
    if page is None:
        return content
    received = len(page.get("Resources", []))
    page.pop("startIndex", None)
    total = page.pop("totalResults", None)
    # A page of none (count=0) has no next page: its cursor would be its own.
    if received and isinstance(total, int) and start - 1 + received < total:
        page["nextCursor"] = _cursor_token(start + received)
    return json.dumps(page).encode()


def _members_changed(method: str, body: bytes) -> int:
    """How many members a POST of a group holds, or a PATCH of one adds, replaces or removes."""
    try:
        document = json.loads(body)
    except ValueError:
        return 0
    if not isinstance(document, dict):
        return 0
    if method == "POST":
        return len(document.get("members") or [])
    return sum(_operation_members(operation) for operation in document.get("Operations") or [])


def _operation_members(operation: dict[str, Any]) -> int:
    path = operation.get("path")
    value = operation.get("value")
    if isinstance(path, str) and path.lower().startswith("members"):
        if "[" in path:
            return 1  # members[value eq "ID"]: the one it names
        return len(value) if isinstance(value, list) else 0
    if path is None and isinstance(value, dict) and isinstance(value.get("members"), list):
        return len(value["members"])
    return 0


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a client's connection pool expects
        # Headers and body go out in two writes; with Nagle on, the second waits for the client's
        # delayed ACK (40 ms a request on Linux), which made a 10,000-user push take minutes.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            proxy.serve(self, "GET")

        def do_POST(self) -> None:
            proxy.serve(self, "POST")

        def do_PUT(self) -> None:
            proxy.serve(self, "PUT")

        def do_PATCH(self) -> None:
            proxy.serve(self, "PATCH")

        def do_DELETE(self) -> None:
            proxy.serve(self, "DELETE")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # `requests` is the record

    return Handler


@pytest.fixture(scope="session")
def scim_server() -> Iterator[ScimServer]:
    """The session's SCIM server; tests take `scim`, which resets it for them."""
    require_scim_server()
    server = ScimServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def capping_scim() -> Iterator[Callable[..., ScimServer]]:
    """`capping_scim(cap, announced=False)`: a SCIM server whose list pages hold at most `cap` resources
    (see `capping_config`), started on first use and kept for the session, reset for each caller."""
    require_scim_server()
    servers: dict[tuple[int, bool], ScimServer] = {}

    def capping(cap: int, announced: bool = False) -> ScimServer:
        if (cap, announced) not in servers:
            server = ScimServer(config=capping_config(cap, announced=announced))
            server.start()
            servers[cap, announced] = server
        servers[cap, announced].reset()
        return servers[cap, announced]

    try:
        yield capping
    finally:
        for server in servers.values():
            server.close()


@pytest.fixture
def scim(scim_server: ScimServer) -> ScimServer:
    """The SCIM server with no Users and no Groups; its base URL is `scim.url`, its token `scim.token`."""
    scim_server.reset()
    return scim_server


@pytest.fixture
def scim_proxy(scim: ScimServer) -> Iterator[FaultProxy]:
    """A fault proxy in front of `scim`: `scim_proxy.url` is the SCIM base through it."""
    proxy = FaultProxy(scim)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
