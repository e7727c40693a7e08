"""`reconciler fmt`: the canonical layout (export's), comments kept, on real files.

The properties run over random valid accounts (`desired_states`, as the
other property tests draw them) written the way people write YAML: records
and fields shuffled, e-mails in any case, any quoting YAML allows, flow or
block collections, sequences indented or not, defaults spelled out. On
such files: the plain way and the commented way give the same bytes; the
layout reads back as the same account; a second run changes no byte; every
comment is kept.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, RESELLER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import desired_states

from reconciler.cli import cli
from reconciler.core.model import DesiredState
from reconciler.core.planfile import dump_plan
from reconciler.engine.planner import make_plan
from reconciler.loading import Source, find_sources, load_sources
from reconciler.loading.events import parse
from reconciler.report import layout
from reconciler.report.layout import canonical_file, commented_layout, plain_layout
from reconciler.report.yaml import MODELINE, _plain_is_safe, _Quoted, _scalar, export_yaml, part_yaml
from reconciler.store import open_store

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: A comment as a test writes it, numbered so that each can be found again.
COMMENT = re.compile(r"# [a-z]+\d+")


def fmt(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["fmt", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def read(text: str | bytes, name: str = "account.yaml") -> tuple[DesiredState, tuple[str, ...]]:
    """The account one file declares, and its top-level keys; the file must be valid."""
    data = text.encode() if isinstance(text, str) else text
    loaded = load_sources([Source(name, data)], by_file=True)
    assert loaded.state is not None, [str(p) for p in loaded.problems]
    return loaded.state, loaded.parts[0].keys


def laid_out(text: str) -> str:
    state, keys = read(text)
    return canonical_file(text.encode(), state, keys).decode()


def comments(text: str) -> Counter[str]:
    return Counter(COMMENT.findall(text))


# The files people write -----------------------------------------------------------------------------


def _scalar_text(draw: st.DrawFn, value: object, flow: bool) -> str:
    """`value` as YAML reads it back, in one of the ways YAML lets it be written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, str)
    ways = ["double", "single"]
    if _plain_is_safe(value) and not (flow and set(value) & set(",[]{}")):
        ways.append("plain")
    way = draw(st.sampled_from(ways))
    if way == "plain":
        return value
    if way == "single":
        return "'" + value.replace("'", "''") + "'"
    return _scalar(_Quoted(value))


def _flow(draw: st.DrawFn, value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(draw, item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(draw, item) for item in value) + "]"
    return _scalar_text(draw, value, flow=True)


def _block(draw: st.DrawFn, mapping: dict[str, Any], indent: int, out: list[str], first: str = "") -> None:
    """`mapping` as block YAML at `indent`, its first line after `first` (a list entry's dash) if given;
    each collection in it written flow or block, a block sequence indented under its key or not."""
    for index, (key, value) in enumerate(mapping.items()):
        lead = first if index == 0 and first else " " * indent
        if isinstance(value, (dict, list)) and (not value or draw(st.booleans())):
            out.append(f"{lead}{key}: {_flow(draw, value)}")
        elif isinstance(value, dict):
            out.append(f"{lead}{key}:")
            _block(draw, value, indent + 2, out)
        elif isinstance(value, list):
            out.append(f"{lead}{key}:")
            dash = indent + draw(st.sampled_from((0, 2)))
            for element in value:
                if isinstance(element, dict):
                    _block(draw, element, dash + 2, out, " " * dash + "- ")
                else:
                    out.append(" " * dash + "- " + _scalar_text(draw, element, flow=False))
        else:
            out.append(f"{lead}{key}: {_scalar_text(draw, value, flow=False)}")


def _shuffled(draw: st.DrawFn, fields: dict[str, Any]) -> dict[str, Any]:
    return dict(draw(st.permutations(list(fields.items()))))


def _email(draw: st.DrawFn, email: str) -> str:
    return draw(st.sampled_from((email, email.upper(), email.capitalize(), email.title())))


def _some(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    return list(draw(st.permutations(items)))


def _access(draw: st.DrawFn, access: Any) -> list[dict[str, Any]]:
    return _some(
        draw,
        [
            _shuffled(
                draw,
                {
                    "serial": a.serial,
                    **({"download": a.download} if a.download or draw(st.booleans()) else {}),
                },
            )
            for a in access
        ],
    )


def _optional(draw: st.DrawFn, key: str, value: Any, default: Any) -> dict[str, Any]:
    """`{key: value}`, or when it is the default, that spelt out or left out."""
    return {key: value} if value != default or draw(st.booleans()) else {}


@st.composite
def documents(draw: st.DrawFn) -> tuple[DesiredState, dict[str, Any]]:
    """A random valid account, and a document that declares it as a person might write it."""
    state = draw(desired_states())
    contracts = [
        _shuffled(
            draw,
            {
                "number": c.number,
                "manager": _email(draw, c.manager),
                **_optional(draw, "protect", False, False),
                **_optional(
                    draw,
                    "coordinators",
                    _some(
                        draw,
                        [
                            _shuffled(
                                draw,
                                {
                                    "email": _email(draw, k.email),
                                    **_optional(draw, "manage_users", k.manage_users, False),
                                    **(
                                        {"shipping": _shuffled(draw, vars_of(k.shipping))}
                                        if k.shipping
                                        else {}
                                    ),
                                },
                            )
                            for k in c.coordinators
                        ],
                    ),
                    [],
                ),
                **_optional(
                    draw,
                    "serials",
                    _some(
                        draw,
                        [
                            _shuffled(
                                draw,
                                {
                                    "number": s.number,
                                    "product": s.product,
                                    "seats": s.seats,
                                    **({"group": s.group} if s.group is not None else {}),
                                    **({"coordinator": _email(draw, s.coordinator)} if s.coordinator else {}),
                                    **_optional(draw, "protect", False, False),
                                },
                            )
                            for s in c.serials
                        ],
                    ),
                    [],
                ),
            },
        )
        for c in state.contracts
    ]
    users = [
        _shuffled(
            draw,
            {
                "email": _email(draw, u.email),
                **({"id": u.id} if u.id is not None else {}),
                "first_name": u.first_name,
                "last_name": u.last_name,
                **_optional(draw, "protect", False, False),
                **_optional(draw, "access", _access(draw, u.access), []),
            },
        )
        for u in state.users
    ]
    teams = [
        _shuffled(
            draw,
            {
                "name": t.name,
                **({"description": t.description} if t.description is not None else {}),
                **_optional(draw, "members", _some(draw, [_email(draw, m) for m in t.members]), []),
                **_optional(draw, "access", _access(draw, t.access), []),
            },
        )
        for t in state.teams
    ]
    document: dict[str, Any] = {"version": 1}
    document |= _optional(draw, "contracts", _some(draw, contracts), [])
    document |= _optional(draw, "users", _some(draw, users), [])
    document |= _optional(draw, "teams", _some(draw, teams), [])
    return state, _shuffled(draw, document)


def vars_of(shipping: Any) -> dict[str, Any]:
    return {"name": shipping.name, "address": shipping.address, "country": shipping.country}


@st.composite
def files(draw: st.DrawFn, commented: bool) -> tuple[DesiredState, str]:
    """A file of a random account as a person might write it; with `commented`, with comments at the
    ends of lines, comment lines and blank lines anywhere between them, each comment numbered."""
    state, document = draw(documents())
    lines: list[str] = []
    _block(draw, document, 0, lines)
    if draw(st.booleans()):
        lines.insert(0, "# yaml-language-server: $schema=../schemas/desired-state.schema.json")
    if commented:
        written: list[str] = []
        for number, line in enumerate(lines):
            kind = draw(st.sampled_from(("", "", "", "line", "blank", "end")))
            if kind == "line":
                written.append(" " * draw(st.integers(0, 8)) + f"# above{number}")
            elif kind == "blank":
                written.append("")
            written.append(line + (f"  # end{number}" if kind == "end" else ""))
        if draw(st.booleans()):
            written.append("# last0")
        lines = written
    return state, "\n".join(lines) + "\n"


# The properties -------------------------------------------------------------------------------------


@SETTINGS
@given(drawn=files(commented=False))
def test_without_comments_the_two_ways_give_the_same_bytes(drawn: tuple[DesiredState, str]) -> None:
    state, text = drawn
    read_state, keys = read(text)
    assert read_state == state
    lead = layout._leading_block_end(text)
    plain = plain_layout(text, lead, read_state, keys)
    assert commented_layout(text, lead, read_state, keys) == plain
    assert laid_out(text) == plain
    assert read(plain) == (
        state,
        tuple(key for key in ("version", "contracts", "users", "teams") if key in keys),
    )


@SETTINGS
@given(drawn=files(commented=True))
def test_the_layout_keeps_the_account_and_every_comment_and_a_second_run_changes_nothing(
    drawn: tuple[DesiredState, str],
) -> None:
    state, text = drawn
    once = laid_out(text)
    assert read(once)[0] == state
    assert comments(once) == comments(text)
    assert laid_out(once) == once


@SETTINGS
@given(drawn=files(commented=False))
def test_a_file_in_the_layout_is_what_export_writes(drawn: tuple[DesiredState, str]) -> None:
    state, text = drawn
    _, keys = read(text)
    once = laid_out(text)
    body = once[layout._leading_block_end(once) :]
    assert body == part_yaml(state, keys)
    if set(keys) == {"version", "contracts", "users", "teams"} and state.teams:
        assert MODELINE + body == export_yaml(state)


# The command ----------------------------------------------------------------------------------------


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    folder = tmp_path / "acme"
    shutil.copytree(EXAMPLES / "acme", folder)
    return folder


def _dana_first(text: str) -> str:
    """The example's users file with Dana, and the blank line above her, moved above Carol."""
    dana = text.index("\n  - email: dana.lund@acme.example")
    end = text.index("\n\n", dana + 1)
    carol = text.index("\n  - email: carol.smith@acme.example")
    assert carol < dana
    block = text[dana:end] + "\n"
    without = text[:dana] + text[end:]
    return without[:carol] + block + without[carol:]


def test_the_example_is_in_the_layout(runner: CliRunner) -> None:
    """The examples are what fmt writes, so the pre-commit hook passes on a copy of them."""
    assert fmt(runner, "--check", str(EXAMPLES / "acme")) == (
        0,
        "",
        "0 files would be reformatted, 3 unchanged.\n",
    )


def test_the_example_keeps_every_comment_where_it_was(runner: CliRunner, acme: Path) -> None:
    users, contracts = acme / "users.yaml", acme / "contracts.yaml"
    users.write_text(_dana_first(users.read_text()))
    contracts.write_text(
        contracts.read_text().replace(
            "address: 1 Main St, Springfield, IL 62701", 'address: "1 Main St, Springfield, IL 62701"'
        )
    )
    before = {path.name: path.read_text() for path in sorted(acme.iterdir())}
    assert before["users.yaml"].index("dana.lund") < before["users.yaml"].index("carol.smith")
    code, out, _ = fmt(runner, str(acme))
    assert (code, out) == (
        0,
        f"reformatted {acme / 'contracts.yaml'}\nreformatted {acme / 'users.yaml'}\n"
        "2 files reformatted, 1 unchanged.\n",
    )
    after = {path.name: path.read_text() for path in sorted(acme.iterdir())}
    for name, text in before.items():
        old = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
        new = [line.strip() for line in after[name].splitlines() if line.strip().startswith("#")]
        assert new == old, name  # every comment line, in the same order: none of them moved past another
        assert after[name].count("\n\n") == text.count("\n\n"), name
        assert after[name] == (EXAMPLES / "acme" / name).read_text(), (
            name
        )  # back to the example, byte for byte
    # Dana sorts after Carol, each with the blank line above her; Carol keeps her comment above her grant.
    assert (
        "\n\n  - email: carol.smith@acme.example\n    first_name: Carol\n    last_name: Smith\n"
        "    # AutoCAD and Revit come with the Design Studio team (teams.yaml); her own\n"
        "    # grant adds download rights to Revit.\n"
        '    access:\n      - serial: "399-12345679"\n        download: true\n\n'
        "  - email: dana.lund@acme.example\n"
    ) in after["users.yaml"]
    # Quotes only where they are needed: the address loses them, Norway keeps its.
    assert "address: 1 Main St, Springfield, IL 62701\n" in after["contracts.yaml"]
    assert 'country: "NO"\n' in after["contracts.yaml"]
    assert _state(acme) == _state(EXAMPLES / "acme")
    assert fmt(runner, str(acme)) == (0, "0 files reformatted, 3 unchanged.\n", "")


def _state(*paths: Path) -> DesiredState:
    sources, problems = find_sources([str(p) for p in paths])
    loaded = load_sources(sources, problems)
    assert loaded.state is not None
    return loaded.state


SHUFFLED = """\
users:
  - {email: Carol@ACME.example, first_name: Carol, last_name: Smith, access: [{serial: '399-12345679'}]}
  - last_name: Okafor
    email: BOB@acme.example
    access:
    - download: true
      serial: "399-12345678"
    first_name: Bob
  - email: Alice@Acme.Example
    first_name: 'Alice'
    last_name: "Moreau"
contracts:
  - serials:
      - {number: "399-12345679", product: Revit, seats: 1}
      - number: "399-12345678"
        coordinator: Bob@Acme.example
        group: "Design Studio"
        seats: 2
        product: AutoCAD
    manager: ALICE@acme.example
    number: '110001234567'
    coordinators:
      - shipping: {country: US, address: "1 Main St", name: Acme HQ}
        email: bob@acme.example
        manage_users: true
version: 1
"""


def test_a_shuffled_mixed_case_file_becomes_canonical_and_plans_the_same(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "account.yaml"
    path.write_text(SHUFFLED)
    assert fmt(runner, str(path)) == (0, f"reformatted {path}\n1 file reformatted, 0 unchanged.\n", "")
    state = _state(path)
    assert MODELINE + path.read_text() == export_yaml(state) == export_yaml(read(ACCOUNT)[0])
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    store.initialize([RESELLER])
    snapshot = store.snapshot()
    shuffled = make_plan(read(SHUFFLED)[0], snapshot, RESELLER)
    assert dump_plan(make_plan(state, snapshot, RESELLER)) == dump_plan(shuffled)
    assert shuffled.actions


def test_check_lists_what_would_change_and_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    messy, tidy = tmp_path / "a-users.yaml", tmp_path / "b-contracts.yaml"
    messy.write_text("version: 1\nusers: [{email: A@x.example, first_name: A, last_name: B}]\n")
    tidy.write_text("version: 1\ncontracts: []\n")
    stamps = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in (messy, tidy)}
    assert fmt(runner, "--check", str(tmp_path)) == (
        2,
        f"{messy}\n",
        "1 file would be reformatted, 1 unchanged.\n",
    )
    assert fmt(runner, "--check", str(tidy)) == (0, "", "0 files would be reformatted, 1 unchanged.\n")
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in stamps} == stamps
    assert fmt(runner, str(tmp_path))[0] == 0
    assert fmt(runner, "--check", str(tmp_path)) == (0, "", "0 files would be reformatted, 2 unchanged.\n")


def test_a_file_already_in_the_layout_is_not_written(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "account.yaml"
    path.write_text(export_yaml(read(ACCOUNT)[0]))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    inode = path.stat().st_ino
    assert fmt(runner, str(path)) == (0, "0 files reformatted, 1 unchanged.\n", "")
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (1_000_000_000, inode)


def test_an_invalid_account_changes_no_file_and_says_what_validate_says(
    runner: CliRunner, tmp_path: Path
) -> None:
    good, bad = tmp_path / "a.yaml", tmp_path / "b.yaml"
    good.write_text(SHUFFLED)
    bad.write_text("version: 1\nusers:\n  - email: Alice@acme.example\n    first_name: A\n    last_name: M\n")
    validated = runner.invoke(cli, ["validate", str(tmp_path)])
    code, out, err = fmt(runner, str(tmp_path))
    assert (code, out, err) == (1, validated.stdout, validated.stderr)
    assert "users[0].email: " in out and f"{bad}:3:" in out and err == "Invalid: 1 error in 1 file.\n"
    assert (good.read_text(), bad.read_text()) == (
        SHUFFLED,
        "version: 1\nusers:\n  - email: Alice@acme.example\n    first_name: A\n    last_name: M\n",
    )


def test_a_layout_that_would_change_the_account_is_refused_and_nothing_is_written(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "contracts.yaml", tmp_path / "users.yaml"
    first.write_text('version: 1\ncontracts: [{number: "110001234567", manager: A@x.example}]\n')
    second.write_text("version: 1\nusers: [{email: A@x.example, first_name: Ann, last_name: B}]\n")

    def broken(
        data: bytes, state: DesiredState, keys: tuple[str, ...]
    ) -> bytes:  # a bug: a name loses a letter
        return canonical_file(data, state, keys).replace(b"first_name: Ann", b"first_name: An")

    monkeypatch.setattr("reconciler.commands.fmt.canonical_file", broken)
    code, out, err = fmt(runner, str(tmp_path))
    assert (code, out) == (1, "")
    assert err == (
        f"Error: not formatted: the canonical layout of {second} would change what the file declares "
        "(it reads back as different records); no file was written. "
        "This is a bug in reconciler: please report it, with the file\n"
    )
    assert "first_name: Ann" in second.read_text() and "A@x.example" in first.read_text()


def test_what_the_composer_cannot_read_is_refused_naming_the_file_and_nothing_is_written(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from reconciler.report import layout

    def refuse(text: str, Loader: object) -> object:
        raise yaml.YAMLError("no")

    path = tmp_path / "account.yaml"
    path.write_text("version: 1  # one\nusers: [{email: A@x.example, first_name: A, last_name: B}]\n")
    monkeypatch.setattr(layout.yaml, "compose", refuse)
    assert fmt(runner, str(path)) == (
        1,
        "",
        f"Error: not formatted: {path}: PyYAML cannot read it as the loader did (YAMLError); no file was "
        "written. This is a bug in reconciler: please report it, with the file\n",
    )
    assert "A@x.example" in path.read_text()


def test_a_tab_between_a_key_and_its_value_is_read_as_the_loader_reads_it() -> None:
    text = "version:\t1  # one\nusers:\t[{email:\tA@x.example, first_name: A, last_name: B}]\t# all\n"
    assert (
        laid_out(text)
        == "version: 1  # one\nusers: # all\n  - email: a@x.example\n    first_name: A\n    last_name: B\n"
    )


def test_line_breaks_and_a_byte_order_mark_are_kept_and_the_file_ends_with_one_line_break(
    runner: CliRunner, tmp_path: Path
) -> None:
    crlf, bom, bare = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    crlf.write_bytes(
        b"# c\r\nversion: 1\r\nusers:\r\n  - {email: B@x.example, first_name: B, last_name: B}  # b\r\n"
    )
    bom.write_bytes(b"\xef\xbb\xbfversion: 1\ncontracts: []\n\n\n")
    bare.write_bytes(b"version: 1\nteams: []")
    assert fmt(runner, str(tmp_path))[0] == 0
    assert crlf.read_bytes() == (
        b"# c\r\nversion: 1\r\nusers:\r\n  - email: b@x.example  # b\r\n    first_name: B\r\n    last_name: B\r\n"
    )
    assert bom.read_bytes() == b"\xef\xbb\xbfversion: 1\ncontracts: []\n"
    assert bare.read_bytes() == b"version: 1\nteams: []\n"


def test_each_file_keeps_its_own_top_level_keys(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        'contracts: [{number: "110001234567", manager: A@x.example}]\nunmanaged_users: keep\nversion: 1\n'
    )
    (tmp_path / "b.yaml").write_text(
        "version: 1\nusers: [{email: a@x.example, first_name: A, last_name: B}]\n"
    )
    assert fmt(runner, str(tmp_path))[0] == 0
    assert (tmp_path / "a.yaml").read_text() == (
        'version: 1\nunmanaged_users: keep\ncontracts:\n  - number: "110001234567"\n    manager: a@x.example\n'
    )


def test_comments_go_with_what_they_are_about(tmp_path: Path) -> None:
    text = """\
# yaml-language-server: $schema=x
version: 1  # the format
users:  # everybody
  # Zed came last
  - email: zed@x.example
    first_name: Zed
    last_name: Z
    access:
      - serial: "399-12345679"  # the Revit seat
        download: false  # not yet
      - serial: "399-12345678"

  # The admins
  - {email: Al@x.example, first_name: Al, last_name: 'NO', access: []}  # a flow record
contracts:
  - number: "110001234567"
    manager: al@x.example
    serials:
      - {number: "399-12345679", product: Revit, seats: 1}
      - {number: "399-12345678", product: AutoCAD, seats: 1}
# the end
"""
    assert (
        laid_out(text)
        == """\
# yaml-language-server: $schema=x
version: 1  # the format
contracts:
  - number: "110001234567"
    manager: al@x.example
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 1
      - number: "399-12345679"
        product: Revit
        seats: 1
users:  # everybody
  # The admins
  - email: al@x.example  # a flow record
    first_name: Al
    last_name: "NO"
  # Zed came last
  - email: zed@x.example
    first_name: Zed
    last_name: Z
    access:
      - serial: "399-12345678"
      # not yet
      - serial: "399-12345679"  # the Revit seat
# the end
"""
    )


def test_a_quoted_hash_is_no_comment_and_gives_what_the_plain_way_gives() -> None:
    text = 'version: 1\nusers:\n  - {email: b@x.example, first_name: "Studio #1", last_name: "x # y"}\n'
    assert layout._has_comments_or_blanks(text, 0)
    state, keys = read(text)
    assert commented_layout(text, 0, state, keys) == plain_layout(text, 0, state, keys)
    assert (
        laid_out(text)
        == 'version: 1\nusers:\n  - email: b@x.example\n    first_name: "Studio #1"\n    last_name: "x # y"\n'
    )


@pytest.mark.parametrize(
    "name", ["NO", "on", "0755", "null", "Yes", "~", "0o17", "1e3", "12:30", "2001-12-14"]
)
def test_yaml_1_1_traps_are_quoted_and_read_the_same_by_both_versions(name: str, tmp_path: Path) -> None:
    text = f"version: 1\nusers:\n  - email: a@x.example\n    first_name: '{name}'\n    last_name: B\n"
    once = laid_out(text)
    assert f'first_name: "{name}"\n' in once
    document = {"version": 1, "users": [{"email": "a@x.example", "first_name": name, "last_name": "B"}]}
    assert yaml.safe_load(once) == document  # YAML 1.1
    assert parse(Source("x.yaml", once.encode())).document == document  # YAML 1.2, our loader


def test_a_block_scalar_and_a_multi_line_string_hold_no_comments(tmp_path: Path) -> None:
    text = (
        "version: 1\nusers:\n  - email: a@x.example\n    first_name: >-  # folded\n      Ann\n"
        '    last_name: "Multi\n      #not a comment"\n'
    )
    assert laid_out(text) == (
        'version: 1\nusers:\n  - email: a@x.example\n    first_name: Ann  # folded\n    last_name: "Multi #not a comment"\n'
    )


def test_help_says_what_fmt_does(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["fmt", "--help"])
    assert result.exit_code == 0
    assert "--check" in result.output and "Example:" in result.output and "comments" in result.output
