"""Reading people and groups from a real OpenLDAP server (tests/ldap_server.py: Debian's slapd on
loopback), each test in a tree of its own.

What only Active Directory does (ranged `member;range=` retrieval, objectGUID
as bytes, userAccountControl) is in tests/test_directory_ad.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ldap_server import (
    LIMITED_DN,
    LIMITED_PASSWORD,
    OPEN,
    READER_DN,
    READER_PASSWORD,
    Certificates,
    Slapd,
    Tree,
    make_certificates,
    require_slapd,
)
from tcpproxy import TcpProxy

from reconciler.core.errors import DirectoryError, IncompleteRead
from reconciler.core.model import DirectoryAttributes
from reconciler.directory import DirectoryRead, Person, read_directory
from reconciler.directory.connection import is_loopback
from reconciler.directory.flattening import cycles, leaves
from reconciler.directory.names import _parse, dn_key, is_under

ROOT = Path(__file__).resolve().parent.parent
#: The paged-results control's OID, as it travels in each paged search request.
PAGED = b"1.2.840.113556.1.4.319"


def entry_uuid(tree: Tree, dn: str) -> str:
    """The entryUUID slapd gave the entry, read by the admin with ldapsearch."""
    found = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", tree.server.url, "-D", "cn=admin,dc=test", "-w", "admin-password",
         "-b", dn, "-s", "base", "entryUUID"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"^entryUUID: (\S+)$", found, re.MULTILINE)
    assert match, found
    return match.group(1)


def staff(tree: Tree, *uids: str) -> str:
    """People `uids` (defaults for their attributes) and a group "staff" of them; its DN."""
    tree.add_people(tree.person(uid) for uid in uids)
    tree.add(tree.group("staff", [tree.person_dn(uid) for uid in uids]))
    return tree.group_dn("staff")


def read(tree: Tree, groups: list[str], **changes: object) -> DirectoryRead:
    return read_directory(tree.directory(**changes), groups, READER_PASSWORD)


def emails(found: DirectoryRead, group: str) -> set[str]:
    return {found.people[person].email for person in found.members[group]}


def test_a_first_read_gives_each_member_with_entryuuid_email_and_names(ldap_tree: Tree) -> None:
    ldap_tree.add(ldap_tree.person("ann", mail="Ann.Lee@ACME.example", given_name="Ann", sn="Lee"))
    ldap_tree.add(ldap_tree.person("bob"))
    group = ldap_tree.group_dn("staff")
    ldap_tree.add(ldap_tree.group("staff", [ldap_tree.person_dn("ann"), ldap_tree.person_dn("bob")]))

    found = read(ldap_tree, [group])

    ann_id = entry_uuid(ldap_tree, ldap_tree.person_dn("ann"))
    assert found.people[ann_id] == Person(
        id=ann_id,
        email="ann.lee@acme.example",
        first_name="Ann",
        last_name="Lee",
        dn=ldap_tree.person_dn("ann"),
    )
    assert found.members == {group: frozenset({ann_id, entry_uuid(ldap_tree, ldap_tree.person_dn("bob"))})}
    assert set(found.people) == set(found.members[group])
    assert list(found.people) == sorted(found.people)
    assert found.notes == ()


def test_the_same_directory_read_twice_is_the_same_read(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann", "bob", "cy")
    ldap_tree.add(ldap_tree.person("dee", mail=None))
    ldap_tree.add(ldap_tree.group("more", [ldap_tree.person_dn("dee"), group]))
    groups = [ldap_tree.group_dn("more"), group]

    first, second = read(ldap_tree, groups), read(ldap_tree, groups)

    assert first == second
    assert repr(first) == repr(second)  # the order of people and notes too
    assert first.notes == (f"{ldap_tree.group_dn('more')}: 1 member left out (1 without e-mail)",)


def test_a_joiner_is_read_and_the_others_keep_their_ids(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann", "bob")
    before = read(ldap_tree, [group])
    ldap_tree.add(ldap_tree.person("joe"))
    ldap_tree.add(f"dn: {group}\nchangetype: modify\nadd: member\nmember: {ldap_tree.person_dn('joe')}\n")

    after = read(ldap_tree, [group])

    joe = entry_uuid(ldap_tree, ldap_tree.person_dn("joe"))
    assert after.members[group] == before.members[group] | {joe}
    assert {key: person for key, person in after.people.items() if key != joe} == before.people


def test_a_leaver_taken_out_of_the_group_is_gone(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann", "bob")
    ldap_tree.add(f"dn: {group}\nchangetype: modify\ndelete: member\nmember: {ldap_tree.person_dn('bob')}\n")

    found = read(ldap_tree, [group])

    assert emails(found, group) == {"ann@acme.example"}
    assert [person.email for person in found.people.values()] == ["ann@acme.example"]


def test_a_locked_account_is_left_out_and_counted(ldap_tree: Tree) -> None:
    """OpenLDAP's ppolicy marks a locked account with pwdAccountLockedTime, an operational attribute
    that a search returns only when asked for by name."""
    ldap_tree.add_people([ldap_tree.person("ann"), ldap_tree.person("lou", locked=True)])
    group = ldap_tree.group_dn("staff")
    ldap_tree.add(ldap_tree.group("staff", [ldap_tree.person_dn("ann"), ldap_tree.person_dn("lou")]))

    found = read(ldap_tree, [group])

    assert emails(found, group) == {"ann@acme.example"}
    assert found.notes == (f"{group}: 1 member left out (1 disabled)",)


def test_the_disabled_filter_leaves_out_what_it_matches(ldap_tree: Tree) -> None:
    ldap_tree.add_people(
        [
            ldap_tree.person("ann"),
            ldap_tree.person("ivy", extra=["employeeType: inactive"]),
            ldap_tree.person("lou", locked=True),
        ]
    )
    group = ldap_tree.group_dn("staff")
    ldap_tree.add(ldap_tree.group("staff", [ldap_tree.person_dn(uid) for uid in ("ann", "ivy", "lou")]))

    found = read(ldap_tree, [group], disabled_filter="employeeType=inactive")

    assert emails(found, group) == {"ann@acme.example"}
    assert found.notes == (f"{group}: 2 members left out (2 disabled)",)


def test_a_disabled_filter_that_is_no_filter_is_an_error_naming_it(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann")
    with pytest.raises(
        DirectoryError, match=r"disabled_filter '\(employeeType=inactive' is not an LDAP filter"
    ):
        read(ldap_tree, [group], disabled_filter="(employeeType=inactive")


def test_nested_groups_are_flattened(ldap_tree: Tree) -> None:
    ldap_tree.add_people(ldap_tree.person(uid) for uid in ("ann", "bob", "cy"))
    ldap_tree.add(ldap_tree.group("inner", [ldap_tree.person_dn("cy")]))
    ldap_tree.add(ldap_tree.group("middle", [ldap_tree.person_dn("bob"), ldap_tree.group_dn("inner")]))
    ldap_tree.add(ldap_tree.group("outer", [ldap_tree.person_dn("ann"), ldap_tree.group_dn("middle")]))
    outer, middle = ldap_tree.group_dn("outer"), ldap_tree.group_dn("middle")

    found = read(ldap_tree, [outer, middle])

    assert emails(found, outer) == {"ann@acme.example", "bob@acme.example", "cy@acme.example"}
    assert emails(found, middle) == {"bob@acme.example", "cy@acme.example"}
    assert found.notes == ()


def test_a_cycle_of_groups_is_noted_and_the_read_ends(ldap_tree: Tree) -> None:
    ldap_tree.add_people(ldap_tree.person(uid) for uid in ("ann", "bob"))
    a, b = ldap_tree.group_dn("a"), ldap_tree.group_dn("b")
    ldap_tree.add(ldap_tree.group("a", [ldap_tree.person_dn("ann"), b]))
    ldap_tree.add(ldap_tree.group("b", [ldap_tree.person_dn("bob"), a]))
    ldap_tree.add(ldap_tree.group("self", [ldap_tree.person_dn("ann"), ldap_tree.group_dn("self")]))

    found = read(ldap_tree, [a, ldap_tree.group_dn("self")])

    assert emails(found, a) == {"ann@acme.example", "bob@acme.example"}
    assert emails(found, ldap_tree.group_dn("self")) == {"ann@acme.example"}
    assert found.notes == (
        f"groups nested in a cycle, each read once: {a}; {b}",
        f"groups nested in a cycle, each read once: {ldap_tree.group_dn('self')}",
    )


def test_a_group_of_5000_members_is_read_in_full_batch_after_batch(ldap_tree: Tree) -> None:
    uids = [f"u{number:04}" for number in range(5000)]
    group = staff(ldap_tree, *uids)
    heard: list[tuple[int, int]] = []

    found = read_directory(ldap_tree.directory(), [group], READER_PASSWORD, lambda *told: heard.append(told))

    assert len(found.members[group]) == 5000
    assert {person.email for person in found.people.values()} == {f"{uid}@acme.example" for uid in uids}
    assert heard[0] == (1, 5001)  # the group, and then the 5,000 it names
    assert len(heard) > 10 and heard[-1] == (5001, 5001)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)


def test_a_member_outside_base_dn_is_left_out_unread(slapd: Slapd, ldap_tree: Tree) -> None:
    elsewhere = slapd.tree("elsewhere")
    elsewhere.add(elsewhere.person("eve"))
    ldap_tree.add(ldap_tree.person("ann"))
    group = ldap_tree.group_dn("staff")
    ldap_tree.add(ldap_tree.group("staff", [ldap_tree.person_dn("ann"), elsewhere.person_dn("eve")]))

    found = read(ldap_tree, [group])

    assert emails(found, group) == {"ann@acme.example"}
    assert found.notes == (f"{group}: 1 member left out (1 outside base_dn)",)


def test_members_without_mail_or_names_or_entry_are_left_out_and_counted(ldap_tree: Tree) -> None:
    ldap_tree.add_people(
        [
            ldap_tree.person("ann"),
            ldap_tree.person("nomail", mail=None),
            ldap_tree.person("nomail2", mail=None),
            ldap_tree.person("noname", given_name=None),
        ]
    )
    ghost = ldap_tree.person_dn("ghost")  # named by the group, never added
    group = ldap_tree.group_dn("staff")
    members = [ldap_tree.person_dn(uid) for uid in ("ann", "nomail", "nomail2", "noname")] + [ghost]
    ldap_tree.add(ldap_tree.group("staff", members))

    found = read(ldap_tree, [group])

    assert emails(found, group) == {"ann@acme.example"}
    assert found.notes == (
        f"{group}: 4 members left out (2 without e-mail, 1 without a first or last name, 1 not found)",
    )


def test_a_member_dn_spelled_otherwise_than_its_entry_is_found(ldap_tree: Tree) -> None:
    ldap_tree.add(ldap_tree.person("ann"))
    spelled = ldap_tree.person_dn("ANN").replace("ou=people,", "OU = People , ").upper()
    ldap_tree.add(ldap_tree.group("staff", [spelled]))

    found = read(ldap_tree, [ldap_tree.group_dn("staff")])

    assert emails(found, ldap_tree.group_dn("staff")) == {"ann@acme.example"}
    assert next(iter(found.people.values())).dn == ldap_tree.person_dn("ann")


def test_the_attributes_are_read_as_the_block_overrides_them(ldap_tree: Tree) -> None:
    """Another id, e-mail and names, and groupOfUniqueNames' uniqueMember for members."""
    ldap_tree.add(
        ldap_tree.person(
            "ann",
            mail="ann@old.example",
            extra=["employeeNumber: E-17", "displayName: Annie", "description: ann@new.example"],
        )
    )
    ldap_tree.add(
        f"dn: {ldap_tree.group_dn('unique')}\nobjectClass: groupOfUniqueNames\ncn: unique\n"
        f"uniqueMember: {ldap_tree.person_dn('ann')}\n"
    )
    attributes = DirectoryAttributes(
        id="employeeNumber",
        email="description",
        first_name="displayName",
        last_name="sn",
        member="uniqueMember",
    )

    found = read(ldap_tree, [ldap_tree.group_dn("unique")], attributes=attributes)

    assert found.people == {
        "E-17": Person("E-17", "ann@new.example", "Annie", "Annson", ldap_tree.person_dn("ann"))
    }
    assert found.members == {ldap_tree.group_dn("unique"): frozenset({"E-17"})}


def test_two_entries_with_one_id_are_an_error_naming_both(ldap_tree: Tree) -> None:
    ldap_tree.add_people(
        [
            ldap_tree.person("ann", extra=["employeeNumber: 7"]),
            ldap_tree.person("bob", extra=["employeeNumber: 7"]),
        ]
    )
    group = ldap_tree.group_dn("staff")
    ldap_tree.add(ldap_tree.group("staff", [ldap_tree.person_dn("ann"), ldap_tree.person_dn("bob")]))
    attributes = replace(ldap_tree.directory().attributes, id="employeeNumber")

    with pytest.raises(DirectoryError) as raised:
        read(ldap_tree, [group], attributes=attributes)

    message = str(raised.value)
    assert ldap_tree.person_dn("ann") in message and ldap_tree.person_dn("bob") in message
    assert "one id, 7 (employeeNumber)" in message


def test_anonymous_reads_what_anonymous_may_read_and_bound_reads_the_rest(
    slapd: Slapd, ldap_tree: Tree
) -> None:
    """The server lets an anonymous client read ou=open only (tests/ldap_server.py)."""
    public = slapd.tree("public", under=OPEN)
    public_group = staff(public, "ann")
    private_group = staff(ldap_tree, "bob")

    anonymous = read_directory(public.directory(bind_dn=None), [public_group], None)
    bound = read_directory(public.directory(), [public_group], READER_PASSWORD)

    assert anonymous == bound
    assert emails(anonymous, public_group) == {"ann@acme.example"}
    with pytest.raises(DirectoryError, match="is not in the directory, or the bind may not read it"):
        read_directory(ldap_tree.directory(bind_dn=None), [private_group], None)
    assert emails(read(ldap_tree, [private_group]), private_group) == {"bob@acme.example"}


def test_a_wrong_password_is_a_directory_error_without_the_password(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann")
    password = "Wr0ng-s3cret-Pa55"

    with pytest.raises(DirectoryError) as raised:
        read_directory(ldap_tree.directory(), [group], password)

    message = str(raised.value)
    assert password not in message and password not in repr(raised.value)
    assert f"refused the bind as {READER_DN} (invalidCredentials" in message
    assert "check bind_dn and RECONCILER_LDAP_PASSWORD" in message


def test_a_bind_dn_without_a_password_is_refused_before_anything_is_sent(ldap_tree: Tree) -> None:
    with pytest.raises(
        DirectoryError, match=f"as {READER_DN} needs its password: set RECONCILER_LDAP_PASSWORD"
    ):
        read_directory(ldap_tree.directory(), [ldap_tree.group_dn("staff")], "")


def test_a_mapped_group_that_is_not_there_is_an_error_naming_it(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann")
    missing = ldap_tree.group_dn("gone")

    with pytest.raises(
        DirectoryError,
        match=re.escape(f"1 mapped group not found under base_dn {ldap_tree.base_dn}: {missing}"),
    ):
        read(ldap_tree, [group, missing])


def test_a_mapped_group_that_is_a_person_or_outside_base_dn_is_an_error(
    slapd: Slapd, ldap_tree: Tree
) -> None:
    ldap_tree.add_people([ldap_tree.person("ann"), ldap_tree.person("lou", locked=True)])
    with pytest.raises(DirectoryError) as raised:
        read(ldap_tree, [ldap_tree.person_dn("lou"), ldap_tree.person_dn("ann")])
    assert str(raised.value) == (
        "2 mapped groups are not groups (no group object class, no member values): "
        f"{ldap_tree.person_dn('ann')}; {ldap_tree.person_dn('lou')}"
    )
    other = slapd.tree("other")
    with pytest.raises(
        DirectoryError,
        match=re.escape(f"the mapped group {other.group_dn('x')} is not under base_dn {ldap_tree.base_dn}"),
    ):
        read(ldap_tree, [other.group_dn("x")])


def test_the_mapped_groups_are_keyed_exactly_as_asked(ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann")
    shouted = group.upper()

    found = read(ldap_tree, [shouted, group])

    assert set(found.members) == {shouted, group}
    assert found.members[shouted] == found.members[group] != frozenset()


@pytest.mark.parametrize(
    "url", ["ldap://ldap.acme.example", "ldap://10.0.0.5:389", "ldap://[2001:db8::1]", "LDAP://example.org"]
)
def test_ldap_to_another_machine_is_refused_before_connecting(ldap_tree: Tree, url: str) -> None:
    with pytest.raises(
        DirectoryError, match="ldap:// would send the bind password and the people unencrypted"
    ):
        read_directory(ldap_tree.directory(url=url), ["cn=staff," + ldap_tree.base_dn], READER_PASSWORD)


@pytest.mark.parametrize(
    "url", ["ldapi:///var/run/slapd.sock", "http://127.0.0.1", "ldaps://host/dc=acme", "ldaps://user@host"]
)
def test_a_url_that_is_no_server_address_is_refused(ldap_tree: Tree, url: str) -> None:
    with pytest.raises(DirectoryError, match=re.escape(f"directory url {url!r}: write")):
        read_directory(ldap_tree.directory(url=url), [ldap_tree.group_dn("staff")], READER_PASSWORD)


def test_loopback_is_localhost_127_8_and_ipv6_one() -> None:
    assert all(is_loopback(host) for host in ("localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"))
    assert not any(
        is_loopback(host) for host in ("10.0.0.1", "localhost.acme.example", "128.0.0.1", "::2", "0.0.0.0")
    )


def test_ldap_to_localhost_by_name_is_read(slapd: Slapd, ldap_tree: Tree) -> None:
    group = staff(ldap_tree, "ann")
    found = read(ldap_tree, [group], url=f"ldap://localhost:{slapd.port}")
    assert emails(found, group) == {"ann@acme.example"}


def test_ldaps_with_the_right_ca_file_is_read(
    slapd: Slapd, slapd_certificates: Certificates, ldap_tree: Tree
) -> None:
    """ca_file is read relative to the folder of the file that holds the block."""
    group = staff(ldap_tree, "ann")
    directory = ldap_tree.directory(
        url=slapd.ldaps_url, ca_file=slapd_certificates.ca.name, declared_in=str(slapd_certificates.ca.parent)
    )
    assert emails(read_directory(directory, [group], READER_PASSWORD), group) == {"ann@acme.example"}


def test_ldaps_with_a_ca_that_did_not_sign_the_certificate_is_refused(
    slapd: Slapd, slapd_certificates: Certificates, ldap_tree: Tree
) -> None:
    group = staff(ldap_tree, "ann")
    wrong = ldap_tree.directory(url=slapd.ldaps_url, ca_file=str(slapd_certificates.other_ca))
    with pytest.raises(
        DirectoryError,
        # OpenSSL's words for it vary between releases ("self-signed certificate in certificate chain").
        match=r"the server's certificate does not check out: .+; is ca_file .*other-ca\.pem the CA that signed it\?",
    ):
        read_directory(wrong, [group], READER_PASSWORD)
    # Without a ca_file the system's CAs decide, and none of them signed the test CA.
    with pytest.raises(
        DirectoryError, match=r"does not check out.*name the CA that signed it in the directory's ca_file"
    ):
        read_directory(ldap_tree.directory(url=slapd.ldaps_url), [group], READER_PASSWORD)


def test_ldaps_to_a_name_the_certificate_does_not_hold_is_refused(tmp_path: Path) -> None:
    """A server of this test's own, whose certificate names ldap.acme.example only: reached as
    127.0.0.1, its certificate is signed by the right CA and still refused."""
    require_slapd()
    certificates = make_certificates(tmp_path / "tls", names="DNS:ldap.acme.example")
    server = Slapd(tmp_path / "slapd", certificates)
    server.start()
    try:
        tree = server.tree("elsewhere")
        directory = tree.directory(url=server.ldaps_url, ca_file=str(certificates.ca))
        with pytest.raises(
            DirectoryError,
            match=re.escape(
                "does not check out: IP address mismatch, certificate is not valid for '127.0.0.1'"
            ),
        ):
            read_directory(directory, [staff(tree, "ann")], READER_PASSWORD)
    finally:
        server.stop()


def test_a_ca_file_that_is_missing_or_no_certificate_is_an_error(
    slapd: Slapd, ldap_tree: Tree, tmp_path: Path
) -> None:
    with pytest.raises(DirectoryError, match=r"ca_file missing\.pem is not a file"):
        read_directory(ldap_tree.directory(url=slapd.ldaps_url, ca_file="missing.pem"), [], READER_PASSWORD)
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    junk = ldap_tree.directory(url=slapd.ldaps_url, ca_file="junk.pem", declared_in=str(tmp_path))
    with pytest.raises(DirectoryError, match=r"ca_file junk\.pem holds no CA certificate in PEM form"):
        read_directory(junk, [], READER_PASSWORD)


def test_a_server_that_is_not_there_is_a_directory_error(ldap_tree: Tree) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = ldap_tree.directory(url=f"ldap://127.0.0.1:{port}", timeout=2.0)
    with pytest.raises(
        DirectoryError, match=f"cannot reach the directory at ldap://127.0.0.1:{port}: .*refused"
    ):
        read_directory(directory, [ldap_tree.group_dn("staff")], READER_PASSWORD)


def test_a_server_that_hangs_up_at_once_is_a_directory_error(ldap_tree: Tree) -> None:
    with TcpProxy("127.0.0.1", ldap_tree.server.port) as proxy:
        proxy.refuse()
        directory = ldap_tree.directory(url=f"ldap://127.0.0.1:{proxy.port}")
        with pytest.raises(
            DirectoryError,
            match=f"the bind as {READER_DN} failed: (error receiving data|session terminated by server)",
        ):
            read_directory(directory, [ldap_tree.group_dn("staff")], READER_PASSWORD)


def test_a_connection_cut_mid_read_is_an_incomplete_read(ldap_tree: Tree) -> None:
    """The proxy lets the first paged search through (the mapped group) and cuts the connection at
    the next (its members), after the server got it: the answer never reaches the reader."""
    group = staff(ldap_tree, *(f"u{number}" for number in range(20)))
    with TcpProxy("127.0.0.1", ldap_tree.server.port) as proxy:
        proxy.cut(PAGED, deliver=True, armed_by=PAGED)
        directory = ldap_tree.directory(url=f"ldap://127.0.0.1:{proxy.port}")
        with pytest.raises(IncompleteRead, match="the connection to the directory was lost mid-read"):
            read_directory(directory, [group], READER_PASSWORD)
        assert proxy.cut_done.wait(5) and proxy.connections == 1


def test_a_server_stopped_mid_read_is_an_incomplete_read(tmp_path: Path) -> None:
    """A server of this test's own, killed once the first batch (the mapped group) has been read."""
    require_slapd()
    server = Slapd(tmp_path / "slapd")
    server.start()
    try:
        tree = server.tree("stopped")
        group = staff(tree, *(f"u{number}" for number in range(20)))

        def stop(done: int, known: int) -> None:
            server.kill()

        with pytest.raises(IncompleteRead, match="lost mid-read"):
            read_directory(tree.directory(), [group], READER_PASSWORD, stop)
    finally:
        server.stop()


def test_a_size_limit_is_an_incomplete_read(ldap_tree: Tree) -> None:
    """cn=limited may have 10 entries a search (tests/ldap_server.py): a group of 10 members reads
    whole, and once it has 11 the search of its members is cut short."""
    group = staff(ldap_tree, *(f"u{number:02}" for number in range(10)))
    limited = ldap_tree.directory(bind_dn=LIMITED_DN)
    assert len(read_directory(limited, [group], LIMITED_PASSWORD).members[group]) == 10
    ldap_tree.add(ldap_tree.person("u10"))
    ldap_tree.add(f"dn: {group}\nchangetype: modify\nadd: member\nmember: {ldap_tree.person_dn('u10')}\n")

    with pytest.raises(IncompleteRead, match=r"the server's size limit was reached \(sizeLimitExceeded\)"):
        read_directory(limited, [group], LIMITED_PASSWORD)


def test_a_server_that_does_not_answer_is_given_up_after_the_timeout(ldap_tree: Tree) -> None:
    """A server that takes the connection and never answers: the bind waits `timeout` seconds."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        directory = ldap_tree.directory(url=f"ldap://127.0.0.1:{silent.getsockname()[1]}", timeout=1.0)
        started = time.monotonic()
        with pytest.raises(DirectoryError, match=f"the bind as {READER_DN} failed: .*timed out"):
            read_directory(directory, [ldap_tree.group_dn("staff")], READER_PASSWORD)
        assert 0.9 < time.monotonic() - started < 5


def test_a_referral_in_the_tree_is_an_incomplete_read(ldap_tree: Tree) -> None:
    """Part of the tree held by another server: slapd answers a search over it with a continuation
    reference, and the reader will not take a read without that part."""
    group = staff(ldap_tree, "ann")
    ldap_tree.add(
        f"dn: ou=far,{ldap_tree.base_dn}\nobjectClass: referral\nobjectClass: extensibleObject\nou: far\n"
        f"ref: ldap://elsewhere.example/ou=far,{ldap_tree.base_dn}\n"
    )
    with pytest.raises(
        IncompleteRead, match=r"referred part of the tree to another server \(ldap://elsewhere.example/ou=far"
    ):
        read(ldap_tree, [group])


def test_without_ldap3_a_read_says_what_to_install() -> None:
    """In a process where ldap3 cannot be imported: the package imports, and a read is an InputError."""
    script = (
        "import sys; sys.modules['ldap3'] = None\n"
        "from reconciler.core.errors import InputError\n"
        "from reconciler.directory import read_directory\n"
        "try:\n    read_directory(None, [], None)\nexcept InputError as error:\n    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == (
        "reading an LDAP directory needs ldap3, which is not installed: pip install 'licence-reconciler[ldap]'"
    )


def test_dn_keys_are_equal_for_two_spellings_of_one_name() -> None:
    assert dn_key("uid=Ann,OU=People,  dc=Acme") == dn_key("UID=ann , ou=people,dc=acme")
    assert (
        dn_key(r"cn=Lee\, Ann,dc=acme")
        == dn_key(r"cn=lee\2C ann,dc=acme")
        == ((("cn", "lee, ann"),), (("dc", "acme"),))
    )
    assert dn_key("cn=a+uid=b,dc=x") == dn_key("uid=b+cn=a,dc=x")
    assert dn_key("cn=a,dc=x") != dn_key("cn=a+uid=b,dc=x") != dn_key(r"cn=a\+uid=b,dc=x")
    for bad in ("x", "cn=a,", "=a", "cn=a,,dc=b", "cn=a\\"):
        with pytest.raises(ValueError, match="is not a DN"):
            dn_key(bad)
    assert is_under(dn_key("uid=a,ou=p,dc=x"), dn_key("dc=x")) and is_under(dn_key("dc=x"), dn_key("dc=x"))
    assert not is_under(dn_key("uid=a,ou=p,dc=xx"), dn_key("dc=x")) and not is_under(
        dn_key("dc=x"), dn_key("ou=p,dc=x")
    )


@given(
    st.lists(
        st.tuples(st.sampled_from(["cn", "OU", " dc", "uid "]), st.text(alphabet="aB =-\t\n", max_size=6)),
        min_size=1,
        max_size=4,
    )
)
def test_the_quick_reading_of_a_plain_dn_is_the_parser_s(rdns: list[tuple[str, str]]) -> None:
    dn = ",".join(f"{attribute}={value}" for attribute, value in rdns)
    try:
        expected = _parse(dn)
    except ValueError:
        with pytest.raises(ValueError, match="is not a DN"):
            dn_key(dn)
    else:
        assert dn_key(dn) == expected


def test_flattening_reaches_every_depth_and_names_each_cycle_once() -> None:
    groups = {"a": ["b", "p1"], "b": ["c", "p2"], "c": ["a", "p3"], "d": ["d"], "e": ["a", "p4"]}
    assert leaves(groups, "a") == {"p1", "p2", "p3"}
    assert leaves(groups, "e") == {"p1", "p2", "p3", "p4"}
    assert leaves(groups, "d") == set()
    assert sorted(sorted(cycle) for cycle in cycles(groups)) == [["a", "b", "c"], ["d"]]
    chain = {f"g{number}": [f"g{number + 1}"] for number in range(5000)} | {"g5000": ["person"]}
    assert leaves(chain, "g0") == {"person"} and cycles(chain) == []  # no recursion to run out of
