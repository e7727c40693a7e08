"""The reader's searches, each read to its end or refused: pages followed (RFC 2696), Active
Directory's ranged values followed (`member;range=`), and every answer that says something was left
unread raised as IncompleteRead.

What counts as cut short: a lost connection or a time-out mid-read; a
size, time or administrative limit; a referral or a continuation reference
(part of the tree is held by another server); a range of values that stops
before its end. A search the server refuses for another reason (rights, a
filter it cannot read) is a DirectoryError. Neither ever returns what was
read so far.

Filters are built as ldap3's ASN.1 records (`any_of`, `all_of`, `parse`)
and sent as they are. ldap3 would take a filter only as text, and parse
and compile it node by node: for the OR of 500 DNs that a batch of
members is, that costs three times building the records directly, and it
was the larger part of a read of 10,000 members (tests/bench/bench_directory.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPCommunicationError, LDAPException, LDAPResponseTimeoutError
from ldap3.operation.search import compile_filter, parse_filter, search_operation
from ldap3.protocol.controls import build_control
from ldap3.protocol.rfc2696 import paged_search_control
from ldap3.protocol.rfc4511 import And, AssertionValue, AttributeDescription, EqualityMatch, Or
from ldap3.protocol.rfc4511 import Filter as _Filter

from reconciler.core.errors import DirectoryError, IncompleteRead
from reconciler.directory.protocol import LdapConnection

#: A search filter, as ldap3's ASN.1 record of one (untyped: ldap3 has no type information).
Filter = Any

#: Entries per page. At most Active Directory's default MaxPageSize (1,000).
PAGE_SIZE = 500

PAGED_RESULTS = "1.2.840.113556.1.4.319"
#: LDAP_SERVER_DOMAIN_SCOPE_OID: Active Directory answers from its own domain, without continuation
#: references to the other naming contexts (DomainDnsZones, ForestDnsZones, Configuration) that it
#: adds to every subtree search at a domain's root; any reference it still sends is refused.
DOMAIN_SCOPE = "1.2.840.113556.1.4.1339"

SUCCESS = 0
NO_SUCH_OBJECT = 32
#: Result codes that mean the server stopped before it had given everything (RFC 4511 appendix A).
CUT_SHORT = {
    3: "the server's time limit was reached (timeLimitExceeded): raise the directory's timeout, "
    "or the server's time limit",
    4: "the server's size limit was reached (sizeLimitExceeded): ask the directory's administrator "
    "to lift it for the bind DN",
    9: "the server gave a partial result (partialResults)",
    10: "the server referred the search to another server (referral)",
    11: "the server's administrative limit was reached (adminLimitExceeded)",
}

_RANGE = re.compile(r"range=(\d+)-(\d+|\*)$", re.IGNORECASE)


def any_of(attribute: str, values: Sequence[str]) -> Filter:
    """(|(attribute=value1)(attribute=value2)...), the values as they are (no escapes to write)."""
    # The records are of the types they go into, so pyasn1's checks of each assignment (two thirds of
    # the cost of building) are left out; the bytes sent are the same.
    unchecked = {"verifyConstraints": False, "matchTags": False, "matchConstraints": False}
    description = AttributeDescription(attribute)
    alternatives = Or()
    for position, value in enumerate(values):
        match = EqualityMatch()
        match.setComponentByPosition(0, description, **unchecked)
        match.setComponentByPosition(1, AssertionValue(value.encode("utf-8")), **unchecked)
        alternative = _Filter()
        alternative.setComponentByName("equalityMatch", match, **unchecked)
        alternatives.setComponentByPosition(position, alternative, **unchecked)
    found = _Filter()
    found["or"] = alternatives
    return found


def all_of(*conditions: Filter) -> Filter:
    """(&(condition1)(condition2)...)."""
    together = And()
    for position, condition in enumerate(conditions):
        together[position] = condition
    found = _Filter()
    found["and"] = together
    return found


def parse(text: str, what: str) -> Filter:
    """A filter written as text (RFC 4515; the outer parentheses may be left out); DirectoryError
    naming `what` when it is not one."""
    written = text.strip()
    if not written.startswith("("):
        written = f"({written})"
    try:
        return compile_filter(parse_filter(written, None, True, True, None, False).elements[0])
    except (LDAPException, IndexError, ValueError) as error:
        raise DirectoryError(f"{what} {text!r} is not an LDAP filter: {error}") from None


@dataclass(frozen=True, slots=True)
class Found:
    """One entry as read: its DN as the server spells it, and its values by lower-cased attribute
    name (a ranged attribute's ranges joined under its plain name)."""

    dn: str
    values: Mapping[str, Sequence[bytes]]


class Searcher:
    """Searches one connection, every search to its end."""

    def __init__(self, connection: LdapConnection, time_limit: int, domain_scope: bool = False) -> None:
        self.connection = connection
        self.time_limit = time_limit
        self.controls = [build_control(DOMAIN_SCOPE, False, None)] if domain_scope else []
        self._everything = parse("(objectClass=*)", "a filter")

    def search(self, base: str, condition: Filter, attributes: Sequence[str]) -> list[Found]:
        """Every entry in the subtree of `base` that matches, page after page, each with its ranged
        values followed to the end; DirectoryError when `base` does not exist."""
        found: list[Found] = []
        cookie: bytes | None = None
        while True:
            paged = paged_search_control(False, PAGE_SIZE, cookie)
            result, response = self._search(base, condition, ldap3.SUBTREE, attributes, paged)
            if result.get("result") == NO_SUCH_OBJECT:
                raise DirectoryError(
                    f"base_dn {base} is not in the directory, or the bind may not read it (noSuchObject)"
                )
            self._check(result, response, f"searching {base}")
            found.extend(self._entry(item) for item in response if item.get("type") == "searchResEntry")
            cookie = _cookie(result)
            if not cookie:
                return found

    def _entry(self, item: Mapping[str, Any]) -> Found:
        dn = str(item["dn"])
        values: dict[str, list[bytes]] = {}
        for name, raw in item.get("raw_attributes", {}).items():
            attribute, _, options = name.partition(";")
            known = values.get(attribute.lower())
            values[attribute.lower()] = raw if known is None else [*known, *raw]
            range_ = _RANGE.search(options) if options else None
            if range_ is None:
                continue
            start, end = range_.groups()
            if start != "0":
                raise IncompleteRead(f"{dn}: {attribute} came back from value {start}, not from the first")
            if end != "*":
                values[attribute.lower()] = [
                    *values[attribute.lower()],
                    *self._rest(dn, attribute, int(end) + 1),
                ]
        return Found(dn, values)

    def _rest(self, dn: str, attribute: str, start: int) -> list[bytes]:
        """Active Directory gives a long multi-valued attribute in ranges (1,500 values of `member`
        at a time): `member;range=0-1499` with the entry, then each `member;range=N-*` asked for
        gives the next, until a range ends in `*`."""
        values: list[bytes] = []
        while True:
            asked = f"{attribute};range={start}-*"
            result, response = self._search(dn, self._everything, ldap3.BASE, [asked], None)
            self._check(result, response, f"reading {asked} of {dn}")
            entries = [item for item in response if item.get("type") == "searchResEntry"]
            given = None
            for name, raw in (entries[0].get("raw_attributes", {}) if entries else {}).items():
                name_attribute, _, options = str(name).partition(";")
                range_ = _RANGE.search(options)
                if name_attribute.lower() == attribute.lower() and range_ and int(range_.group(1)) == start:
                    given = range_.group(2), raw
            if result.get("result") == NO_SUCH_OBJECT or given is None:
                raise IncompleteRead(
                    f"{dn}: {attribute} was read up to value {start - 1}, and the server gave no "
                    f"{attribute};range={start}-* (the rest of its values are unread)"
                )
            end, raw = given
            values.extend(raw)
            if end == "*":
                return values
            if int(end) < start:
                raise IncompleteRead(f"{dn}: {attribute};range={start}-* came back as {start}-{end}")
            start = int(end) + 1

    def _search(
        self, base: str, condition: Filter, scope: str, attributes: Sequence[str], paged: Any
    ) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
        # What ldap3's Connection.search does, with the filter already built.
        request = search_operation(
            base, "(objectClass=*)", scope, ldap3.DEREF_NEVER, list(attributes), 0, self.time_limit,
            False, False, False,
        )  # fmt: skip
        request["filter"] = condition
        controls = [*self.controls, paged] if paged is not None else self.controls
        try:
            self.connection.post_send_search(self.connection.send("searchRequest", request, controls or None))
        except (LDAPCommunicationError, LDAPResponseTimeoutError) as error:
            raise IncompleteRead(f"the connection to the directory was lost mid-read: {error}") from None
        except LDAPException as error:
            raise DirectoryError(f"the directory could not be searched: {error}") from None
        return self.connection.result or {}, list(self.connection.response or [])

    @staticmethod
    def _check(result: Mapping[str, Any], response: Sequence[Mapping[str, Any]], doing: str) -> None:
        references = [
            uri for item in response if item.get("type") == "searchResRef" for uri in item.get("uri", [])
        ]
        if references:
            raise IncompleteRead(
                f"{doing}: the server referred part of the tree to another server ({', '.join(references)}); "
                "set base_dn to a subtree this server holds"
            )
        code = result.get("result")
        if code in (SUCCESS, NO_SUCH_OBJECT):
            return
        if code in CUT_SHORT:
            referrals = result.get("referrals") or []
            where = f" ({', '.join(referrals)})" if referrals else ""
            raise IncompleteRead(f"{doing}: {CUT_SHORT[code]}{where}")
        said = "; ".join(str(part) for part in (result.get("description"), result.get("message")) if part)
        raise DirectoryError(f"{doing}: the directory refused ({said or code})")


def _cookie(result: Mapping[str, Any]) -> bytes | None:
    control = (result.get("controls") or {}).get(PAGED_RESULTS) or {}
    cookie = (control.get("value") or {}).get("cookie")
    return bytes(cookie) if cookie else None
