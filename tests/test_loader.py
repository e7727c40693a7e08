"""The strict YAML loader: YAML 1.2 core scalars, duplicates, aliases, positions."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from reconciler.loading import events
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.locate import Position, locate

PARSERS = [pytest.param(yaml.SafeLoader, id="pure")]
if yaml.__with_libyaml__:
    PARSERS.insert(0, pytest.param(yaml.CSafeLoader, id="libyaml"))


@pytest.fixture(autouse=True, params=PARSERS)
def event_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every loader test runs on libyaml and on PyYAML's pure parser."""
    monkeypatch.setattr(events, "EVENT_PARSER", request.param)


def load(text: str | bytes) -> Any:
    data = text.encode() if isinstance(text, str) else text
    parsed = parse(Source("t.yaml", data))
    assert not parsed.problems, parsed.problems
    return parsed.document


def problems(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    parsed = parse(Source("t.yaml", data))
    assert parsed.problems and parsed.document is None
    return [str(d) for d in parsed.problems]


def test_norway_stays_a_country_code() -> None:
    assert load("country: NO\n") == {"country": "NO"}


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yaml_1_1_booleans_are_text(word: str) -> None:
    assert load(f"download: {word}\n") == {"download": word}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        ("", None),
        ("25", 25),
        ("-3", -3),
        ("0755", 755),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("-.Inf", float("-inf")),
        ("2024-01-01", "2024-01-01"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("12:30", "12:30"),
        ('"25"', "25"),
        ("'true'", "true"),
        ("!!str 25", "25"),
        ("!!int 25", 25),
    ],
)
def test_core_schema_scalars(text: str, value: Any) -> None:
    assert load(f"k: {text}\n") == {"k": value}


@pytest.mark.parametrize(
    ("text", "value"), [("! 12", "12"), ("! true", "true"), ("! null", "null"), ("!", "")]
)
def test_the_non_specific_tag_makes_a_plain_scalar_text(text: str, value: str) -> None:
    # YAML 1.2, 6.9.1 and its example 6.28: `! 12` is the string "12", not the number.
    assert load(f"first_name: {text}\n") == {"first_name": value}


def test_a_key_tagged_non_specific_is_text_not_a_merge_key() -> None:
    assert load("! <<: 1\n") == {"<<": 1}


def test_nan_is_a_float() -> None:
    nan = load("k: .nan\n")["k"]
    assert nan != nan


def test_duplicate_key_names_the_second_key() -> None:
    assert problems("a: 1\nb: 2\na: 3\n") == ["t.yaml:3:1: duplicate key 'a' in this mapping"]


def test_every_duplicate_is_reported_at_once() -> None:
    text = "users:\n  - email: a@x.example\n    email: b@x.example\n  - first_name: A\n    first_name: B\n"
    assert problems(text) == [
        "t.yaml:3:5: duplicate key 'email' in this mapping",
        "t.yaml:5:5: duplicate key 'first_name' in this mapping",
    ]


def test_keys_must_be_text() -> None:
    assert problems("1: a\ntrue: b\n") == [
        "t.yaml:1:1: the key 1 is not text; quote it",
        "t.yaml:2:1: the key true is not text; quote it",
    ]


def test_complex_keys_are_refused() -> None:
    assert problems("? [1]\n: 2\n") == [
        "t.yaml:1:3: a key must be plain text, not a list, a mapping or an alias"
    ]


def test_merge_keys_are_refused() -> None:
    assert problems("base: &b {x: 1}\nother:\n  <<: *b\n") == [
        "t.yaml:3:3: YAML merge keys (<<) are not supported; write the fields out"
    ]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!python/object:os.system x\n", "!!python/object:os.system"),
        ("a: !custom x\n", "!custom"),
        ("a: !!set {x}\n", "!!set"),
        ("a: !!omap [x]\n", "!!omap"),
    ],
)
def test_unknown_tags_are_refused(text: str, tag: str) -> None:
    assert problems(text) == [f"t.yaml:1:4: the tag {tag} is not supported"]


def test_a_tag_must_fit_its_value() -> None:
    assert problems("a: !!int 1.5\n") == ["t.yaml:1:4: '1.5' is not a valid !!int"]


def test_aliases_are_shared_not_copied() -> None:
    document = load("a: &x [1, 2]\nb: *x\n")
    assert document == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize("text", ["{&k a: 1, b: *k}\n", "&k a: 1\nb: *k\n"])
def test_an_anchor_on_a_key_names_that_key(text: str) -> None:
    assert load(text) == {"a": 1, "b": "a"}


def test_undefined_alias() -> None:
    assert problems("a: *nowhere\n") == ["t.yaml:1:4: the alias *nowhere names no anchor defined before it"]


def test_recursive_alias_is_refused() -> None:
    assert problems("a: &x [*x]\n") == ["t.yaml:1:8: the alias *x names no anchor defined before it"]


def billion_laughs(levels: int = 9) -> bytes:
    lines = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name = bytes([97 + level])
        aliases = b", ".join([b"*" + bytes([96 + level])] * 9)
        lines.append(b"%s: &%s [%s]" % (name, name, aliases))
    return b"\n".join(lines) + b"\n"


def test_alias_bomb_fails_fast() -> None:
    started = time.perf_counter()
    found = problems(billion_laughs())
    elapsed = time.perf_counter() - started
    assert found == ["t.yaml:5:8: aliases expand this file to over 10 times its size; write the data out"]
    assert elapsed < 0.5


def test_deep_nesting_is_refused() -> None:
    assert problems(b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n") == [
        "t.yaml:1:67: nested deeper than 64 levels"
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("users:\n\t- email: a@x.example\n", "2:1"),
        ("users:\n \t- email: a@x.example\n", "2:2"),
        ("note: |\n\tindented with a tab\n", "2:1"),
    ],
)
def test_tab_indentation(text: str, where: str) -> None:
    assert problems(text) == [f"t.yaml:{where}: a tab character; YAML is indented with spaces only"]


@pytest.mark.parametrize(
    "text",
    [
        "groups:\n  -\tsupport\n",
        "-\t-1\n",
        "version: 1\nname:\tAlice\n",
        "name: Alice\t\n",
    ],
)
def test_a_tab_that_is_not_indentation_keeps_the_parsers_message(text: str) -> None:
    # Tabs may separate tokens; where a parser still refuses one, "YAML is indented with spaces
    # only" would send the user hunting for indentation that is not there.
    parsed = parse(Source("t.yaml", text.encode()))
    for problem in parsed.problems:
        assert "cannot start any token" in problem.message, problem


def test_bad_indentation_is_located() -> None:
    [found] = problems("users:\n  - email: a@x.example\n   first_name: A\n")
    assert found.startswith("t.yaml:3:")


def test_unclosed_flow_sequence_is_located() -> None:
    [found] = problems("a: [1, 2\nb: 3\n")
    assert found.startswith("t.yaml:")
    assert "flow sequence" in found


def test_empty_file() -> None:
    assert problems("") == ["t.yaml: the file is empty; it needs at least `version: 1`"]


def test_comment_only_file_is_empty() -> None:
    assert problems("# nothing here\n") == ["t.yaml: the file is empty; it needs at least `version: 1`"]


def test_two_documents_in_one_file() -> None:
    assert problems("a: 1\n---\nb: 2\n") == [
        "t.yaml:2:1: a second YAML document (---) in one file; put it in a file of its own"
    ]


def test_non_utf8_bytes_are_located() -> None:
    assert problems(b"version: 1\nname: caf\xe9\n") == [
        "t.yaml:2:10: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    ]


def test_control_character_is_located_in_its_field() -> None:
    assert problems("version: 1\nname: café \x07\n") == [
        "t.yaml:2:12: name: must be one line of text; it contains the control character U+0007"
    ]


def test_a_control_character_outside_any_field_is_located() -> None:
    assert problems("version: 1 # café \x07\n") == ["t.yaml:1:19: a control character (U+0007)"]


#: YAML 1.1's line breaks, which YAML 1.2 and JSON read as text. libyaml follows YAML 1.1: it folds a NEL
#: in quotes to a space (so "A\x85B" would pass as "A B") and counts a line at each, so that every
#: problem after one was placed a line too far.
YAML_1_1_BREAKS = {
    "\x85": "must be one line of text; it contains the control character U+0085",
    "\u2028": "must be one line of text; it contains U+2028 (LINE SEPARATOR)",
    "\u2029": "must be one line of text; it contains U+2029 (PARAGRAPH SEPARATOR)",
}


@pytest.mark.parametrize("quote", ['"', "'", ""], ids=["double-quoted", "single-quoted", "plain"])
@pytest.mark.parametrize("char", YAML_1_1_BREAKS, ids=["NEL", "LS", "PS"])
def test_a_yaml_1_1_line_break_in_text_is_refused_on_its_line_in_its_field(char: str, quote: str) -> None:
    text = f"version: 1\nusers:\n  - email: a@b.example\n    first_name: {quote}A{char}B{quote}\n    last_name: B\n"
    column = len(f"    first_name: {quote}A") + 1
    assert problems(text) == [f"t.yaml:4:{column}: users[0].first_name: {YAML_1_1_BREAKS[char]}"]


def test_refused_before_parsing_are_what_yaml_does_not_allow_and_its_1_1_line_breaks() -> None:
    every = "".join(map(chr, [*range(0xD800), *range(0xE000, 0x110000)]))
    yaml_refuses = set(yaml.reader.Reader.NON_PRINTABLE.findall(every))
    assert set(events._REFUSED_CHARACTER.findall(every)) == yaml_refuses | set(YAML_1_1_BREAKS)


def test_a_nel_at_the_end_of_a_name_or_in_a_key_or_a_comment_is_placed_too() -> None:
    head = "version: 1\nusers:\n  - email: a@b.example\n"
    assert problems(head + "    first_name: A\x85\n    last_name: B\n") == [
        "t.yaml:4:18: users[0].first_name: must be one line of text; it contains the control character U+0085"
    ]
    assert problems(head + "    first\x85name: A\n") == [
        "t.yaml:4:10: users[0]: must be one line of text; it contains the control character U+0085"
    ]
    assert problems("# a note\x85\n" + head) == ["t.yaml:1:9: a control character (U+0085)"]


def test_a_top_level_list_still_parses() -> None:
    # Not a mapping is the schema's to say, with the file's name on it.
    assert load("- a\n- b\n") == ["a", "b"]


def test_locate_finds_values_keys_and_the_nearest_existing_parent() -> None:
    source = Source("t.yaml", b"users:\n  - email: a@x.example\n    first_name: A\n")
    assert locate(source, [("users", 0, "first_name"), ("users", 0, "missing")]) == {
        ("users", 0, "first_name"): Position(3, 17),
        ("users", 0, "missing"): Position(2, 5),
    }
    assert locate(source, [("users", 0, "first_name")], key=True) == {
        ("users", 0, "first_name"): Position(3, 5)
    }


def test_text_starting_with_a_colon_in_brackets_is_refused_with_how_to_write_it() -> None:
    """YAML 1.2 reads `:A` as text there, YAML 1.1's parsers take the `:` for a key's (the fast path
    leaves such a file to this one)."""
    expected = "text inside [ ] or { } cannot start with ':' (':A'); put it in quotes"
    assert problems("users: [{first_name: :A}]\n") == [f"t.yaml:1:22: {expected}"]
    assert problems('users: [{"first_name"::A}]\n') == [f"t.yaml:1:23: {expected}"]
    assert problems("groups: [:A]\n") == [f"t.yaml:1:10: {expected}"]
    assert "quotes" not in problems("groups: [ : A ]\n")[0]  # an empty key: the parser's own words
