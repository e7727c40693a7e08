"""What only Active Directory does, which slapd cannot show: tested against ldap3's OFFLINE server
(MOCK_SYNC, with Active Directory 2012 R2's schema), loaded with AD-shaped entries. Not a real Active
Directory.

- objectGUID comes as 16 bytes, and a person's id is the GUID as AD shows it;
- userAccountControl's ACCOUNTDISABLE flag (0x2) marks a disabled account;
- a multi-valued attribute of more than 1,500 values (MaxValRange) comes in
  ranges: `member;range=0-1499` with the entry, then each `member;range=N-*`
  asked for gives the next, until one ends in `*` (Adobe's User Sync Tool
  read 13,000 members as none: its issue #423);
- each search carries AD's domain-scope control.

ldap3's offline server does none of the last two, so `AdDouble`, a test
double of this module's own, stands between the reader and it: it answers
`member` in ranges as AD does (and, told `stop_at`, stops giving ranges
there, as a server that gives up), takes off and counts the domain-scope
control (which the offline server cannot read), and finds the entries of an
OR of distinguishedName equalities by name, as AD does from its index,
where the offline server would test every entry against every term. The
reader reaches it through its one seam, `read_directory(..., connect=...)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from ldap3 import MOCK_SYNC, OFFLINE_AD_2012_R2, Connection, Server
from ldap3.operation.search import MATCH_EQUAL, OR, FilterNode, search_request_to_dict
from ldap3.utils.conv import to_unicode

from reconciler.core.errors import DirectoryError, IncompleteRead
from reconciler.core.model import DEFAULT_ATTRIBUTES, Directory, Flavour
from reconciler.directory import DirectoryRead, Person, read_directory
from reconciler.directory.searching import DOMAIN_SCOPE
from reconciler.directory.values import directory_id, guid

BASE = "DC=acme,DC=example"
PEOPLE = f"OU=People,{BASE}"
GROUPS = f"OU=Groups,{BASE}"
SERVICE = f"CN=reconciler,OU=Service,{BASE}"
PASSWORD = "service-password-3c1d"
#: Active Directory's MaxValRange: the values of one attribute it gives at a time.
MAX_VALUES = 1500

NORMAL_ACCOUNT = 0x200
ACCOUNTDISABLE = 0x2
DONT_EXPIRE_PASSWORD = 0x10000


class AdDouble:
    """ldap3's offline server with Active Directory's ranged values and domain-scope control."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.server = Server("fake_ad", get_info=OFFLINE_AD_2012_R2)
        self.connection = Connection(
            self.server, user=SERVICE, password=PASSWORD, client_strategy=MOCK_SYNC,
            raise_exceptions=False, auto_range=False, return_empty_attributes=False,
        )  # fmt: skip
        self.stop_at = stop_at
        #: Each search: the attributes asked for, and whether the domain-scope control came with it.
        self.searches: list[tuple[list[str], bool]] = []
        strategy = self.connection.strategy
        self._mock_search, self._evaluate = strategy.mock_search, strategy.evaluate_filter_node
        strategy.mock_search, strategy.evaluate_filter_node = self.mock_search, self.evaluate_filter_node
        self.add(
            SERVICE,
            {"objectClass": ["top", "person", "organizationalPerson", "user"], "userPassword": PASSWORD},
        )

    def add(self, dn: str, attributes: dict[str, Any]) -> None:
        self.connection.strategy.add_entry(dn, {"distinguishedName": dn, **attributes})

    def user(
        self, name: str, *, guid_of: uuid.UUID | None = None, flags: int = NORMAL_ACCOUNT, **attributes: Any
    ) -> str:
        """An AD user under OU=People (mail, names and a random objectGUID unless given); its DN."""
        dn = f"CN={name},{PEOPLE}"
        values = {
            "objectClass": ["top", "person", "organizationalPerson", "user"],
            "objectGUID": (guid_of or uuid.uuid4()).bytes_le,
            "userAccountControl": str(flags),
            "sAMAccountName": name.lower(),
            "mail": f"{name}@acme.example",
            "givenName": name,
            "sn": "Sample",
            **attributes,
        }
        self.add(dn, {key: value for key, value in values.items() if value is not None})
        return dn

    def group(self, name: str, members: Sequence[str]) -> str:
        dn = f"CN={name},{GROUPS}"
        self.add(
            dn,
            {"objectClass": ["top", "group"], "member": list(members)}
            if members
            else {"objectClass": ["top", "group"]},
        )
        return dn

    def connect(self, directory: Directory, password: str | None) -> Connection:
        """The reader's seam: the offline server, bound as the directory's bind DN."""
        self.connection.user, self.connection.password = directory.bind_dn, password
        assert self.connection.bind(), self.connection.result
        return self.connection

    def mock_search(self, request_message: Any, controls: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        asked = [str(name) for name in search_request_to_dict(request_message)["attributes"]]
        scoped = [control for control in controls or () if str(control["controlType"]) == DOMAIN_SCOPE]
        self.searches.append((asked, bool(scoped)))
        others = [control for control in controls or () if str(control["controlType"]) != DOMAIN_SCOPE]
        response, result = self._mock_search(request_message, others)
        for entry in response:
            self._range(entry, asked)
        return response, result

    def _range(self, entry: dict[str, Any], asked: list[str]) -> None:
        """Give `member` as AD does: in full up to MAX_VALUES, else in ranges."""
        every = self.server.dit[entry["object"]].get("member") or []
        attributes = [attribute for attribute in entry["attributes"] if attribute["type"].lower() != "member"]
        for name in asked:
            attribute, _, options = name.partition(";")
            if attribute.lower() != "member":
                continue
            start = int(options.removeprefix("range=").split("-")[0]) if options else 0
            if not options and len(every) <= MAX_VALUES:
                if every:
                    attributes.append({"type": "member", "vals": every})
                continue
            if self.stop_at is not None and start >= self.stop_at:
                continue  # a server that gives up: no range at all
            end = start + MAX_VALUES - 1
            label = "*" if end >= len(every) - 1 else str(end)
            attributes.append({"type": f"member;range={start}-{label}", "vals": every[start : end + 1]})
        entry["attributes"] = attributes

    def evaluate_filter_node(self, node: FilterNode, candidates: list[str]) -> Any:
        terms = node.elements if node.tag == OR else []
        if terms and all(
            term.tag == MATCH_EQUAL and term.assertion["attr"].lower() == "distinguishedname"
            for term in terms
        ):
            wanted = {to_unicode(term.assertion["value"]).lower() for term in terms}
            node.matched = {candidate for candidate in candidates if candidate.lower() in wanted}
            node.unmatched = set(candidates) - node.matched
            return node.matched
        return self._evaluate(node, candidates)


def directory(**changes: Any) -> Directory:
    fields: dict[str, Any] = {
        "url": "ldaps://dc1.acme.example",
        "base_dn": BASE,
        "flavour": Flavour.ACTIVE_DIRECTORY,
        "output": "people/directory.yaml",
        "attributes": DEFAULT_ATTRIBUTES[Flavour.ACTIVE_DIRECTORY],
        "bind_dn": SERVICE,
        **changes,
    }
    return Directory(**fields)


def read(ad: AdDouble, groups: list[str], **changes: Any) -> DirectoryRead:
    return read_directory(directory(**changes), groups, PASSWORD, connect=ad.connect)


def test_objectguid_bytes_are_the_id_as_active_directory_shows_the_guid() -> None:
    ad = AdDouble()
    ann_guid = uuid.UUID("01234567-89ab-cdef-0123-456789abcdef")
    ann = ad.user("Ann", guid_of=ann_guid, mail="Ann.Lee@ACME.example", givenName="Ann", sn="Lee")
    group = ad.group("Design Studio", [ann])

    found = read(ad, [group])

    # The bytes on the wire are little-endian in the first three fields: 67 45 23 01 ab 89 ef cd ...
    assert ann_guid.bytes_le.hex().startswith("67452301ab89efcd")
    assert found.people == {
        "01234567-89ab-cdef-0123-456789abcdef": Person(
            "01234567-89ab-cdef-0123-456789abcdef", "ann.lee@acme.example", "Ann", "Lee", ann
        )
    }
    assert found.members == {group: frozenset({"01234567-89ab-cdef-0123-456789abcdef"})}


def test_a_guid_is_16_bytes() -> None:
    assert guid(bytes(range(16))) == "03020100-0504-0706-0809-0a0b0c0d0e0f"
    assert directory_id("objectGUID", bytes(range(16))) == directory_id("OBJECTGUID", bytes(range(16)))
    assert directory_id("employeeID", b" E-17 ") == "E-17"
    with pytest.raises(ValueError, match="a GUID is 16 bytes, this value is 3"):
        guid(b"abc")


@pytest.mark.parametrize(
    ("flags", "enabled"),
    [
        (NORMAL_ACCOUNT, True),
        (NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD, True),
        (NORMAL_ACCOUNT | ACCOUNTDISABLE, False),
        (NORMAL_ACCOUNT | ACCOUNTDISABLE | DONT_EXPIRE_PASSWORD, False),
        (NORMAL_ACCOUNT | ACCOUNTDISABLE | 0x20, False),
    ],
)
def test_useraccountcontrol_s_disabled_flag_leaves_an_account_out(flags: int, enabled: bool) -> None:
    ad = AdDouble()
    group = ad.group("Staff", [ad.user("Ann"), ad.user("Lou", flags=flags)])

    found = read(ad, [group])

    assert {person.email for person in found.people.values()} == (
        {"ann@acme.example", "lou@acme.example"} if enabled else {"ann@acme.example"}
    )
    assert found.notes == (() if enabled else (f"{group}: 1 member left out (1 disabled)",))


def test_the_disabled_filter_applies_to_active_directory_too() -> None:
    ad = AdDouble()
    group = ad.group("Staff", [ad.user("Ann"), ad.user("Con", description="contractor")])

    found = read(ad, [group], disabled_filter="(description=contractor)")

    assert [person.email for person in found.people.values()] == ["ann@acme.example"]
    assert found.notes == (f"{group}: 1 member left out (1 disabled)",)


def test_a_group_of_5000_members_is_read_across_its_ranges() -> None:
    ad = AdDouble()
    members = [ad.user(f"User{number:04}") for number in range(5000)]
    group = ad.group("Everyone", members)

    found = read(ad, [group])

    assert len(found.members[group]) == 5000
    assert {person.dn for person in found.people.values()} == set(members)
    ranged = [asked for asked, _ in ad.searches if any(";range=" in name for name in asked)]
    assert ranged == [["member;range=1500-*"], ["member;range=3000-*"], ["member;range=4500-*"]]


def test_a_nested_group_of_more_than_1500_members_is_read_across_its_ranges_too() -> None:
    ad = AdDouble()
    inner = ad.group("Inner", [ad.user(f"User{number:04}") for number in range(1600)])
    outer = ad.group("Outer", [ad.user("Ann"), inner])

    found = read(ad, [outer])

    assert len(found.members[outer]) == 1601
    assert [asked for asked, _ in ad.searches if any(";range=" in name for name in asked)] == [
        ["member;range=1500-*"]
    ]


def test_a_range_left_unread_is_an_incomplete_read() -> None:
    ad = AdDouble(stop_at=3000)
    group = ad.group("Everyone", [ad.user(f"User{number:04}") for number in range(5000)])

    with pytest.raises(IncompleteRead) as raised:
        read(ad, [group])

    assert str(raised.value) == (
        f"{group}: member was read up to value 2999, and the server gave no member;range=3000-* "
        "(the rest of its values are unread)"
    )


def test_every_search_carries_the_domain_scope_control() -> None:
    ad = AdDouble()
    group = ad.group("Staff", [ad.user("Ann"), ad.group("Inner", [ad.user("Bob")])])

    read(ad, [group])

    assert len(ad.searches) == 3  # the mapped group, its members, the nested group's member
    assert all(scoped for _, scoped in ad.searches)


def test_nested_groups_in_a_cycle_are_noted_and_read_once() -> None:
    """Active Directory lets a group be a member of a group it contains."""
    ad = AdDouble()
    a, b = f"CN=A,{GROUPS}", f"CN=B,{GROUPS}"
    ad.group("A", [ad.user("Ann"), b])
    ad.group("B", [ad.user("Bob"), a])

    found = read(ad, [a, b])

    assert found.members[a] == found.members[b] and len(found.members[a]) == 2
    assert found.notes == (f"groups nested in a cycle, each read once: {a}; {b}",)


def test_an_empty_group_reads_empty_and_members_that_are_no_people_are_counted() -> None:
    """A computer account and a foreign security principal in a group have no e-mail."""
    ad = AdDouble()
    empty = ad.group("Empty", [])
    computer = f"CN=PC01,OU=Computers,{BASE}"
    ad.add(computer, {"objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
                      "objectGUID": uuid.uuid4().bytes_le, "userAccountControl": "4096"})  # fmt: skip
    principal = f"CN=S-1-5-21-1-2-3-1104,CN=ForeignSecurityPrincipals,{BASE}"
    ad.add(
        principal, {"objectClass": ["top", "foreignSecurityPrincipal"], "objectGUID": uuid.uuid4().bytes_le}
    )
    mixed = ad.group("Mixed", [ad.user("Ann"), computer, principal, ad.group("Nobody", [])])

    found = read(ad, [empty, mixed])

    assert found.members[empty] == frozenset()
    assert [person.email for person in found.people.values()] == ["ann@acme.example"]
    assert found.notes == (f"{mixed}: 2 members left out (2 without e-mail)",)


def test_a_bad_useraccountcontrol_is_an_error_naming_the_entry() -> None:
    ad = AdDouble()
    odd = f"CN=Odd,{PEOPLE}"
    odd_values = {"objectClass": ["top", "person", "organizationalPerson", "user"], "distinguishedName": odd,
                  "objectGUID": uuid.uuid4().bytes_le, "userAccountControl": "lots", "mail": "odd@acme.example"}  # fmt: skip
    assert ad.connection.strategy.add_entry(odd, odd_values, validate=False)  # the schema would refuse it
    group = ad.group("Staff", [odd])

    with pytest.raises(DirectoryError, match=f"{odd}: userAccountControl is 'lots', not a number"):
        read(ad, [group])
