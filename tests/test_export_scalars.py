"""Every string export writes reads back as itself, under YAML 1.1 (PyYAML) and 1.2 (our loader)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.model import Access, Contract, DesiredState, Serial, Team, User
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report.yaml import _SURELY_PLAIN, _Quoted, _scalar, export_yaml

#: What the schema lets a name, group or product hold: printable text, no control characters.
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters="\ufeff")


@settings(max_examples=3_000, deadline=None)
@given(
    value=st.one_of(st.text(PRINTABLE, max_size=30), st.text("aZ09 .:#-'\"!&*?|>%@`,[]{}~\\\t", max_size=12))
)
def test_any_string_round_trips(value: str) -> None:
    line = f"k: {_scalar(value)}\n"
    assert yaml.safe_load(line) == {"k": value}, line
    assert parse(Source("x.yaml", line.encode())).document == {"k": value}, line


@settings(max_examples=2_000, deadline=None)
@given(value=st.from_regex(_SURELY_PLAIN, fullmatch=True))
def test_what_is_surely_plain_is_plain_to_both_yaml_versions(value: str) -> None:
    """The shortcut for e-mails and UUIDs agrees with asking both versions' resolvers."""
    line = f"k: {value}\n"
    assert yaml.safe_load(line) == {"k": value}, line
    assert parse(Source("x.yaml", line.encode())).document == {"k": value}, line


@given(number=st.text("0123456789-", min_size=1, max_size=14))
def test_numbers_are_always_quoted(number: str) -> None:
    assert _scalar(_Quoted(number)).startswith('"')
    assert yaml.safe_load(f"k: {_scalar(_Quoted(number))}\n") == {"k": number}


def test_every_serial_number_is_quoted_where_a_grant_names_it_too() -> None:
    state = DesiredState(
        contracts=(Contract("110001234567", "a@x.example", serials=(Serial("399-12345678", "AutoCAD", 1),)),),
        users=(User("a@x.example", "A", "B", (Access("399-12345678"),)),),
        teams=(Team("T", members=("a@x.example",), access=(Access("399-12345678", True),)),),
    )
    text = export_yaml(state)
    assert text.count('"399-12345678"') == 3, text
    assert "399-12345678" not in text.replace('"399-12345678"', "")
