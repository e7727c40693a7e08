"""A small SCIM 2.0 client over one httpx connection pool: paged reads that refuse a partial one,
writes with If-Match within a write budget, and waits on 429 and 503 within a bound.

Pages follow what the directory sends. By index (RFC 7644 §3.4.2.4, which lets
a page hold fewer resources than `count` asks), each page starts where the
resources received end; by cursor (RFC 9865), each page asks for the
`nextCursor` the one before it gave. `count` is the page size the settings
say, or the directory's `filter.maxResults` or `pagination.maxPageSize` from
/ServiceProviderConfig when that is smaller.

The client is safe to share between threads: a push's workers send through
its one connection pool (as many connections as workers), and every write
waits for its place in the one WriteBudget (budget.py).

The request bodies are scim2-models resources (User, Group, PatchOp), dumped
in the context of each request. scim2-client is not used: each of its calls
validates the answer and raises on its own, where this client must see every
status first (a 412 re-reads the resource, a 429 or a 503 waits, a page
that disagrees with the others refuses the read) and keep a count of the
requests made.

The bearer token lives in the client's headers only: it is never part of a
URL, an exception, a repr or a message, and any text a server sends back is
scrubbed of it before it is shown.
"""

from __future__ import annotations

import email.utils
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import ValidationError
from scim2_models import Context, Email, Group, GroupMember, Name, PatchOp, User

from reconciler.core.characters import scrub
from reconciler.core.errors import DirectoryError, InputError, PartialRead
from reconciler.scim.budget import WriteBudget
from reconciler.scim.profiles import Paging, Settings
from reconciler.scim.records import NAME_PARTS, DirectoryGroup, DirectoryUser, ProviderConfig

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_WAIT = 60.0
GENERIC = Settings("generic")
#: The methods that change the directory, and so wait for their place in the write budget.
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Without a Retry-After, a 429 or 503 is retried after this many seconds.
DEFAULT_RETRY_AFTER = 1.0
#: The least a retry waits, whatever Retry-After says ("0", a date gone by): so that --max-wait bounds
#: the number of retries too, and a directory answering 429 at once cannot make the run spin.
MIN_RETRY_WAIT = 0.5
#: What a bearer token may hold (RFC 6750 §2.1, b64token).
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_SCIM_JSON = "application/scim+json"
#: How a directory without /ServiceProviderConfig answers it: not found, method not allowed, not implemented.
_NOT_OFFERED = (404, 405, 501)


def check_url(url: str) -> str:
    """`url` without a trailing slash; raises InputError unless it is https, or http to loopback."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it: "https://host:abc" raises here
    except ValueError as error:
        raise InputError(f"--url {url!r} is not a URL ({error})") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(f"--url must be an https:// URL of a SCIM service provider, not {url!r}")
    if parts.username or parts.password:
        raise InputError("--url must not hold credentials; put the token in RECONCILER_SCIM_TOKEN")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise InputError(
            f"--url {url} is plain http to {parts.hostname}: the bearer token would cross the network "
            "in clear; use https (http is allowed to 127.0.0.1, ::1 and localhost only)"
        )
    return url.rstrip("/")


@dataclass
class Counter:
    """The requests made and the pages read, counted by every worker at once."""

    requests: int = 0
    pages: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, requests: int = 0, pages: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.pages += pages


class DirectoryClient:
    """One SCIM service provider at `url`, reached with a bearer `token`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        settings: Settings = GENERIC,
        budget: WriteBudget | None = None,
        concurrency: int = 1,
    ) -> None:
        token = token.strip()  # a secret pasted with its line end
        if not token:
            raise InputError("set RECONCILER_SCIM_TOKEN to the directory's bearer token")
        if not _TOKEN.fullmatch(token):
            raise InputError(
                "RECONCILER_SCIM_TOKEN holds a character a bearer token cannot (RFC 6750: letters, "
                "digits and -._~+/, then = for padding); its value is not shown"
            )
        if concurrency < 1:
            raise InputError(f"--concurrency must be at least 1, not {concurrency}")
        self.url = check_url(url)
        self._token = token
        self.timeout, self.settings, self.concurrency = timeout, settings, concurrency
        self.budget = budget or WriteBudget(settings.rate, settings.hourly_limit, max_wait=DEFAULT_MAX_WAIT)
        self._config: ProviderConfig | None = None
        self.counter = Counter()
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": _SCIM_JSON},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"DirectoryClient({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DirectoryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading

    def provider_config(self) -> ProviderConfig:
        """What the directory's /ServiceProviderConfig says, read once; an empty one where it has none."""
        if self._config is None:
            response = self._send("GET", "/ServiceProviderConfig")
            if response.status_code in _NOT_OFFERED:
                self._config = ProviderConfig(offered=False)
            else:
                self._expect(response, 200, "reading ServiceProviderConfig")
                self._config = _provider_config(response)
        return self._config

    def page_count(self) -> int:
        """The `count` a page read asks for: the settings' page size, or less where the directory's
        ServiceProviderConfig caps it (`filter.maxResults`, `pagination.maxPageSize`)."""
        config = self.provider_config()
        caps = [cap for cap in (config.max_results, config.max_page_size) if cap is not None]
        return min([self.settings.page_size, *caps])

    def paging(self) -> Paging:
        """How lists are paged: as the settings say, or for `auto` by index unless the directory's
        ServiceProviderConfig says it pages by cursor only (RFC 9865 §4)."""
        if self.settings.paging != Paging.AUTO:
            return self.settings.paging
        config = self.provider_config()
        return Paging.CURSOR if config.cursor and config.index is False else Paging.INDEX

    def users(self) -> tuple[DirectoryUser, ...]:
        return tuple(_user(resource) for resource in self._list("Users"))

    def groups(self) -> tuple[DirectoryGroup, ...]:
        return tuple(_group(resource) for resource in self._list("Groups"))

    def groups_of(self, user_id: str) -> tuple[str, ...]:
        """The ids of the groups that hold the user `user_id`, by a `members.value eq …` filter: the
        way to read members where a directory lists its groups with empty `members`. The filter means
        what `members[value eq …]` does (RFC 7644 §3.4.2.2), in the one form AWS IAM Identity Center
        takes (`<attribute> eq "<value>"`)."""
        query = {"filter": f'members.value eq "{_filter_value(user_id)}"'}
        return tuple(str(resource["id"]) for resource in self._list("Groups", query))

    def _list(self, endpoint: str, query: Mapping[str, str] | None = None) -> Iterator[Mapping[str, Any]]:
        """Every resource of `endpoint` (filtered by `query`), page by page, each resource once; the pages
        by index or by cursor. PartialRead when the pages disagree."""
        by_cursor = self.paging() == Paging.CURSOR
        pages = self._cursor_pages if by_cursor else self._index_pages
        doing = f"reading {endpoint}" + (f" ({query['filter']})" if query else "")
        seen: set[str] = set()
        for where, resources in pages(endpoint, dict(query or {}), doing):
            for resource in resources:
                ident = str(resource.get("id", ""))
                if not ident:
                    raise PartialRead(
                        f"{doing}: the page at {where} holds a resource without an id, so it cannot be "
                        "told apart from the others. Nothing was changed"
                    )
                if ident in seen:
                    hint = "" if by_cursor else " (if it ignores startIndex: --paging cursor)"
                    raise PartialRead(
                        f"{doing}: resource {self.scrub(ident)!r} came back twice (again in the page at "
                        f"{where}); the directory changed while it was read, or its pages overlap{hint}. "
                        "Nothing was changed: run again"
                    )
                seen.add(ident)
                yield resource

    def _index_pages(
        self, endpoint: str, query: dict[str, Any], doing: str
    ) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
        """The pages by startIndex, each starting where the resources received end, until they reach
        `totalResults`. PartialRead when the pages disagree: a total that changes, a page whose
        `itemsPerPage` is not the resources it holds, an empty page before the end, more resources than
        the total."""
        count = self.page_count()
        start, total = 1, None
        while total is None or start <= total:
            where = f"startIndex {start}"
            body = self._page_body(endpoint, {**query, "startIndex": start, "count": count}, doing, where)
            page_total, items, resources = _page(body, doing, where)
            if page_total is None:
                raise PartialRead(
                    f"{doing}: the page at {where} has no totalResults, so where the list ends is not "
                    "known; if the directory pages by cursor only, use --paging cursor. Nothing was changed"
                )
            if total is None:
                total = page_total
            refusal = _disagreement(where, start - 1, total, page_total, items, len(resources))
            if refusal:
                raise PartialRead(f"{doing}: {refusal}. Nothing was changed: run again")
            yield where, resources
            start += len(resources)

    def _cursor_pages(
        self, endpoint: str, query: dict[str, Any], doing: str
    ) -> Iterator[tuple[str, list[Mapping[str, Any]]]]:
        """The pages by cursor (RFC 9865): the first asks with an empty `cursor`, each next one with the
        `nextCursor` the page before gave, until a page gives none. PartialRead when a page miscounts
        itself, a cursor comes back again, an empty page gives a next cursor, or the resources read are
        not the `totalResults` said. Where no page says `totalResults` (RFC 9865 lets a provider leave
        it out), the end is where the provider says, and only that can be checked."""
        count = self.page_count()
        cursor, total, read, cursors = "", None, 0, set()
        while True:
            where = f"cursor {cursor!r}" if cursor else "the first cursor page"
            body = self._page_body(endpoint, {**query, "cursor": cursor, "count": count}, doing, where)
            page_total, items, resources = _page(body, doing, where)
            if total is None:
                total = page_total
            said = total if page_total is None else page_total  # a page that leaves the total out agrees
            refusal = _disagreement(where, read, total, said, items, len(resources))
            if refusal:
                raise PartialRead(f"{doing}: {refusal}. Nothing was changed: run again")
            read += len(resources)
            yield where, resources
            following = body.get("nextCursor")
            if not following:
                break
            if not resources:
                raise PartialRead(
                    f"{doing}: the page at {where} holds no resources yet gives a next cursor; a read that "
                    "goes on past empty pages might never end. Nothing was changed"
                )
            following = str(following)
            if following in cursors:
                raise PartialRead(
                    f"{doing}: the directory gave the cursor {self.scrub(following)!r} twice; its pages go "
                    "round in a circle. Nothing was changed"
                )
            cursors.add(following)
            cursor = following
        if total is not None and read != total:
            raise PartialRead(
                f"{doing}: the pages held {read} resources where totalResults says {total}; the directory "
                "changed while it was read, or lost some. Nothing was changed: run again"
            )

    def _page_body(self, endpoint: str, params: dict[str, Any], doing: str, where: str) -> dict[str, Any]:
        response = self._send("GET", f"/{endpoint}", params=params)
        self._expect(response, 200, doing)
        self.counter.add(pages=1)
        try:
            return _json(response)
        except DirectoryError:
            raise PartialRead(
                f"{doing}: the page at {where} is not a SCIM list response; nothing was changed"
            ) from None

    def read(self, endpoint: str, resource_id: str) -> str | None:
        """The current version (ETag) of one resource; DirectoryError when it is gone."""
        response = self._send("GET", _path(endpoint, resource_id))
        self._expect(response, 200, f"re-reading {endpoint} {resource_id}")
        return _version(response, _json(response))

    # --- writing: each returns (id, version)

    def create_user(self, user: DirectoryUser) -> tuple[str, str | None]:
        body = _scim_user(user.attributes()).model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return self._create("Users", body, f"creating user {user.user_name}")

    def patch_user(self, resource_id: str, version: str | None, attributes: Mapping[str, Any]) -> str | None:
        body = _patch_body(User, [{"op": "replace", "value": _replaced(attributes)}])
        return self._patch("Users", resource_id, version, body)

    def delete(self, endpoint: str, resource_id: str, version: str | None) -> None:
        self._write("DELETE", endpoint, resource_id, version, None, (204, 200, 404))

    def create_group(self, group: DirectoryGroup, member_ids: list[str]) -> tuple[str, str | None]:
        resource = Group(
            display_name=group.display_name,
            external_id=group.external_id,
            members=[GroupMember.model_validate({"value": member}) for member in member_ids],
        )
        body = resource.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return self._create("Groups", body, f"creating group {group.external_id}")

    def rename_group(self, resource_id: str, version: str | None, display_name: str) -> str | None:
        body = _patch_body(Group, [{"op": "replace", "path": "displayName", "value": display_name}])
        return self._patch("Groups", resource_id, version, body)

    def change_members(
        self, resource_id: str, version: str | None, add: list[str], remove: list[str]
    ) -> str | None:
        operations: list[dict[str, Any]] = [
            {"op": "remove", "path": f'members[value eq "{_filter_value(member)}"]'} for member in remove
        ]
        if add:
            operations.append({"op": "add", "path": "members", "value": [{"value": m} for m in add]})
        return self._patch("Groups", resource_id, version, _patch_body(Group, operations))

    def _create(self, endpoint: str, body: Mapping[str, Any], doing: str) -> tuple[str, str | None]:
        response = self._send("POST", f"/{endpoint}", json=body)
        if response.status_code == 409:
            raise DirectoryError(
                f"{doing}: the directory says it exists already (409); someone made it since it was read"
            )
        self._expect(response, 201, doing)
        created = _json(response)
        return str(created.get("id", "")), _version(response, created)

    def _patch(
        self, endpoint: str, resource_id: str, version: str | None, body: Mapping[str, Any]
    ) -> str | None:
        return self._write("PATCH", endpoint, resource_id, version, body, (200, 204))

    def _write(
        self,
        method: str,
        endpoint: str,
        resource_id: str,
        version: str | None,
        body: Mapping[str, Any] | None,
        ok: tuple[int, ...],
    ) -> str | None:
        """One write with If-Match when the resource has a version; on 412, re-read it and try once more."""
        path = _path(endpoint, resource_id)
        doing = f"{method} {endpoint} {resource_id}"
        for attempt in (1, 2):
            headers = {"If-Match": version} if version else {}
            response = self._send(method, path, json=body, headers=headers)
            if response.status_code == 412 and attempt == 1:
                version = self.read(endpoint, resource_id)
                continue
            if response.status_code == 412:
                raise DirectoryError(f"{doing}: the resource changed again while it was written (412)")
            self._expect(response, ok, doing)
            if response.status_code == 204 or method == "DELETE" or not response.content:
                return _version(response, {})
            return _version(response, _json(response))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- one request

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request, once the write budget lets it go, sent again after the wait a 429 or 503 asks for
        (every worker waits with it) while the run's total wait stays within max_wait; a timeout or a
        broken connection is a DirectoryError."""
        sent_headers = dict(headers or {})
        if json is not None:
            sent_headers["Content-Type"] = _SCIM_JSON
        write = method in WRITES
        while True:
            self.budget.before(write)
            self.counter.add(requests=1)
            try:
                response = self._http.request(method, path, params=params, json=json, headers=sent_headers)
            except httpx.InvalidURL as error:
                raise InputError(f"{method} {path}: not a URL the directory can be asked ({error})") from None
            except httpx.TimeoutException:
                raise DirectoryError(
                    f"{method} {path}: no answer within {self.timeout:g} s; whether it took is not known"
                ) from None
            except httpx.TransportError as error:
                raise DirectoryError(
                    f"{method} {path}: the directory could not be reached ({type(error).__name__}: "
                    f"{self.scrub(str(error))})"
                ) from None
            finally:
                self.budget.after(write)
            if response.status_code not in (429, 503):
                return response
            wait = max(retry_after(response.headers.get("Retry-After"), datetime.now(UTC)), MIN_RETRY_WAIT)
            self.budget.pause(wait, f"{method} {path}: the directory answered {response.status_code}")

    def _expect(self, response: httpx.Response, ok: int | tuple[int, ...], doing: str) -> None:
        codes = ok if isinstance(ok, tuple) else (ok,)
        if response.status_code in codes:
            return
        if response.status_code in (401, 403):
            raise DirectoryError(
                f"{doing}: the directory refused the bearer token ({response.status_code} "
                f"{self.scrub(response.reason_phrase)[:100]}); check RECONCILER_SCIM_TOKEN "
                "(its value is not shown)"
            )
        raise DirectoryError(
            f"{doing}: the directory answered {response.status_code}{self._detail(response)}"
        )

    def _detail(self, response: httpx.Response) -> str:
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        return f": {self.scrub(str(detail))[:300]}" if detail else ""

    def scrub(self, text: str) -> str:
        """`text` without the token, and without what could move a terminal's cursor."""
        return scrub(text.replace(self._token, "***"))


def _page(body: Mapping[str, Any], doing: str, where: str) -> tuple[int | None, int | None, list[Any]]:
    """A list response's totalResults and itemsPerPage (None when it has none) and its resources, under
    `Resources` as RFC 7644 §3.4.2 spells it or `resources` as some providers do; PartialRead when it is
    not a list response."""
    try:
        total = body.get("totalResults")
        items = body.get("itemsPerPage")
        resources = body.get("Resources", body.get("resources")) or []
        if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
            raise TypeError("resources that are not a list of objects")
        return (
            None if total is None else int(total),
            None if items is None else int(items),
            resources,
        )
    except (TypeError, ValueError):
        raise PartialRead(
            f"{doing}: the page at {where} is not a SCIM list response; nothing was changed"
        ) from None


def _disagreement(
    where: str, read: int, total: int | None, page_total: int | None, items: int | None, received: int
) -> str:
    """Why the page at `where`, after `read` resources, cannot be part of the same whole as the pages
    before it (the first of which said `total`), or "" when it can. RFC 7644 §3.4.2.4 lets a page hold
    fewer resources than asked for, so fewer alone is no reason. Without a total (a cursor page may
    leave it out, RFC 9865), only the page's count of itself can be checked."""
    if page_total != total:
        return (
            f"the first page said {total} in all, the page at {where} says {page_total}; the "
            "directory changed while it was read, or pages disagree"
        )
    if items is not None and items != received:
        return (
            f"the page at {where} holds {received} resources where its itemsPerPage says "
            f"{items}; a page that miscounts itself may have lost some"
        )
    if total is None:
        return ""
    if not received and read < total:
        return (
            f"the page at {where} holds no resources, with {read} of {total} read; half a "
            "list could make present users look gone"
        )
    if read + received > total:
        return (
            f"the page at {where} brings the resources read to {read + received}, past the "
            f"{total} its totalResults says; the directory changed while it was read, or pages disagree"
        )
    return ""


def _provider_config(response: httpx.Response) -> ProviderConfig:
    """A ServiceProviderConfig, read leniently: what is missing or not what RFC 7643 §5 and RFC 9865 §4
    say is left out, and the push goes on as without it."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ProviderConfig(offered=True)

    def part(name: str) -> dict[str, Any]:
        found = body.get(name)
        return found if isinstance(found, dict) else {}

    bulk, found, pages = part("bulk"), part("filter"), part("pagination")
    schemes = body.get("authenticationSchemes")
    return ProviderConfig(
        offered=True,
        patch=_flag(part("patch").get("supported")),
        bulk=_flag(bulk.get("supported")),
        bulk_max_operations=_count(bulk.get("maxOperations")),
        bulk_max_payload=_count(bulk.get("maxPayloadSize")),
        filter=_flag(found.get("supported")),
        max_results=_count(found.get("maxResults")),
        etag=_flag(part("etag").get("supported")),
        sort=_flag(part("sort").get("supported")),
        change_password=_flag(part("changePassword").get("supported")),
        cursor=_flag(pages.get("cursor")),
        index=_flag(pages.get("index")),
        default_paging=_text(pages.get("defaultPaginationMethod")),
        default_page_size=_count(pages.get("defaultPageSize")),
        max_page_size=_count(pages.get("maxPageSize")),
        cursor_timeout=_count(pages.get("cursorTimeout")),
        authentication=tuple(
            str(scheme.get("type") or scheme.get("name"))
            for scheme in (schemes if isinstance(schemes, list) else [])
            if isinstance(scheme, dict) and (scheme.get("type") or scheme.get("name"))
        ),
    )


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    """A positive whole number of the config, or None: a `maxResults` of 0 or "100" says nothing usable."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def retry_after(value: str | None, now: datetime) -> float:
    """The seconds a Retry-After header asks for: delta-seconds or an HTTP date; 1 s without one."""
    if value is None:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def _path(endpoint: str, resource_id: str) -> str:
    return f"/{endpoint}/{quote(resource_id, safe='')}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DirectoryError(f"{response.request.method} {response.request.url.path}: the answer is not JSON")
    return body


def _version(response: httpx.Response, body: Mapping[str, Any]) -> str | None:
    meta = body.get("meta") or {}
    found = meta.get("version") if isinstance(meta, dict) else None
    header: str | None = response.headers.get("ETag")
    return str(found) if found else header


def _user(resource: Mapping[str, Any]) -> DirectoryUser:
    """A remote user, read leniently: a user someone else made may hold what our models would refuse,
    and it must not stop a push that never touches it."""
    name = resource.get("name") or {}
    name = name if isinstance(name, dict) else {}
    emails = [e for e in resource.get("emails") or [] if isinstance(e, dict)]
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
    meta = _meta(resource)
    return DirectoryUser(
        user_name=str(resource.get("userName", "")),
        given_name=name.get("givenName"),
        family_name=name.get("familyName"),
        display_name=resource.get("displayName"),
        email=primary.get("value"),
        active=resource.get("active", True) is not False,
        external_id=_text(resource.get("externalId")),
        id=str(resource["id"]),
        version=meta.get("version"),
    )


def _text(value: Any) -> str | None:
    """A remote string attribute, or None when it is something else: an `externalId` of 7 is not one of
    ours, and leaves that resource someone else's."""
    return value if isinstance(value, str) else None


def _meta(resource: Mapping[str, Any]) -> dict[str, Any]:
    meta = resource.get("meta")
    return meta if isinstance(meta, dict) else {}


def _group(resource: Mapping[str, Any]) -> DirectoryGroup:
    meta = _meta(resource)
    members = [m for m in resource.get("members") or [] if isinstance(m, dict) and m.get("value")]
    return DirectoryGroup(
        external_id=_text(resource.get("externalId")),
        display_name=str(resource.get("displayName", "")),
        members=tuple(sorted(str(m["value"]) for m in members)),
        id=str(resource["id"]),
        version=meta.get("version"),
    )


def _patch_body(resource: type[Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A PatchOp request of `operations` on `resource`, checked by scim2-models against its schema."""
    try:
        patch = PatchOp[resource].model_validate({"Operations": operations})  # type: ignore[valid-type]
    except ValidationError as error:  # what the directory gave us could not be sent back
        raise DirectoryError(f"a PATCH could not be made ({error.error_count()} problems): {error}") from None
    body: dict[str, Any] = patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    return body


def _filter_value(text: str) -> str:
    """`text` as a string in a SCIM filter (RFC 7644 §3.4.2.2: JSON string rules, control characters
    escaped too: a directory's id may hold anything)."""
    return json.dumps(text)[1:-1]


def _scim_user(attributes: Mapping[str, Any]) -> User[Any]:
    """The SCIM User of a user's attributes (`DirectoryUser.attributes`), all of them or a plan's
    changed ones: each under the name the schema gives it, `name` only when a part of it is there."""
    return User(
        user_name=attributes.get("userName"),
        external_id=attributes.get("externalId"),
        display_name=attributes.get("displayName"),
        active=attributes.get("active"),
        name=Name(given_name=attributes.get("givenName"), family_name=attributes.get("familyName"))
        if attributes.keys() & NAME_PARTS
        else None,
        emails=[Email(value=attributes["email"], type=Email.Type.work, primary=True)]
        if attributes.get("email")
        else None,
    )


def _replaced(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's changed user attributes as one PATCH replace's value."""
    value: dict[str, Any] = _scim_user(attributes).model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    value.pop("schemas", None)
    return value
