"""Every string export writes reads back as itself, under YAML 1.1 (PyYAML) and 1.2 (our loader)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report.yaml import _Quoted, _scalar

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


@given(number=st.text("0123456789-", min_size=1, max_size=14))
def test_numbers_are_always_quoted(number: str) -> None:
    assert _scalar(_Quoted(number)).startswith('"')
    assert yaml.safe_load(f"k: {_scalar(_Quoted(number))}\n") == {"k": number}
