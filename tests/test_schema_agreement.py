"""The schema `validate` enforces is the schema it publishes.

`reconciler validate` runs the published schema with its `$ref`s put in
place once, for speed (loading/schema.py). Editors and CI tools run the
published file as it is, with a standard 2020-12 validator. For every
schema-level case (the tests' files, and documents made by changing one
field of a valid account to values near every limit), both must find the
same errors: the same keyword failing at the same place.

E-mail addresses are judged by `validate` with email-validator
(model.email_problem), and by editors and the fast path with the schema's
pattern alone: generated addresses hold the pattern to refuse every address
`validate` refuses for a reason a pattern can say (BEYOND_A_PATTERN lists
the others), to take every address `validate` takes, and to read the same in
Python's `re` (jsonschema), Rust's (jsonschema-rs: the fast path) and
ECMA-262 (editors; a real Chromium's).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from conftest import ACCOUNT, EXAMPLES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.core.model import email_problem
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.schema import _validator

SCHEMA = json.loads((ROOT / "schemas" / "desired-state.schema.json").read_text())
PUBLISHED = Draft202012Validator(SCHEMA)
#: A team beside the base account's users, so that every place a team has is tried too.
TEAMS = """\
teams:
  - name: Design Studio
    description: Architects in Oslo
    members: [bob@acme.example, carol@acme.example]
    access:
      - serial: "399-12345678"
        download: true
"""
BASE = parse(Source("account.yaml", (ACCOUNT + TEAMS).encode())).document
BASE["contracts"][0]["ends"] = "2027-03-31"  # so that every value is tried in a contract's end date too


def errors(validator: Draft202012Validator, document: Any) -> set[tuple[tuple[Any, ...], str]]:
    """Each failing keyword, by the place in the document it fails at."""
    found: set[tuple[tuple[Any, ...], str]] = set()
    pending = list(validator.iter_errors(document))
    while pending:  # a failing allOf, anyOf or oneOf is told by the errors under it
        error = pending.pop()
        if error.context:
            pending.extend(error.context)
        elif error.validator not in ("allOf", "anyOf", "oneOf"):
            found.add((tuple(error.absolute_path), str(error.validator)))
    return found


def agree(document: Any) -> None:
    assert errors(_validator(), document) == errors(PUBLISHED, document)


def files() -> Iterator[Path]:
    """The YAML files of the tests that read as YAML: the rest are refused before any schema."""
    for folder in (ROOT / "tests" / "data", ROOT / "tests" / "golden", EXAMPLES):
        for path in sorted(folder.rglob("*.yaml")):
            if not parse(Source(path.name, path.read_bytes())).problems:
                yield path


FILES = list(files())


def test_the_files_are_found() -> None:
    assert len(FILES) >= 15, FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_of_the_tests_is_judged_alike(path: Path) -> None:
    agree(parse(Source(path.name, path.read_bytes())).document)


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `node`, containers included."""
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from leaves(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from leaves(child, (*path, index))


PLACES = [place for place in leaves(BASE) if place]
#: Lengths at the limits the schema sets (1, 200, 254, 500) and around them.
LENGTHS = [0, 1, 2, 5, 199, 200, 201, 253, 254, 255, 499, 500, 501, 1_000]
TEXTS = st.one_of(
    st.sampled_from(LENGTHS).map(lambda n: "x" * n),
    st.sampled_from(LENGTHS).map(lambda n: "a" * max(0, n - 13) + "@acme.example"),
    st.sampled_from(
        ["110001234567", "399-12345678", "12345", "399-1234567", "US", "us", "USA", "a@b", "@acme.example"]
    ),
    st.text(st.sampled_from("aZ09.@-_ \t\x00\x1f\u2028é"), max_size=12),
)
VALUES = st.one_of(
    TEXTS,
    st.integers(-2, 3),
    st.sampled_from([True, False, None, 2.5, 10**12]),
    st.lists(TEXTS, max_size=2),
    st.dictionaries(st.sampled_from(["email", "serial", "name", "colour"]), TEXTS, max_size=2),
)


#: A value of each kind, at and around each limit: every one is tried in every place.
SWEEP = [
    *("x" * n for n in LENGTHS),
    *("a" * max(1, n - 13) + "@acme.example" for n in (64, 65, 254, 255)),
    *("a" * n + "@acme.example" for n in (64, 65)),
    *("a@x." + tld for tld in ("123", "a1", "1a", "x--y", "ab--c.example")),
    "110001234567",
    "399-12345678",
    "2027-03-31",
    "2028-02-29",
    "2027-02-29",
    "2027-02-30",
    "0999-12-31",
    "US",
    "a@b",
    " ",
    "line\nbreak",
    -1,
    0,
    1,
    True,
    None,
    [],
    {},
]


def changed(place: tuple[Any, ...], value: Any, extra: bool = False) -> Any:
    """BASE with the field at `place` set to `value`, or with an unknown field beside it."""
    document = copy.deepcopy(BASE)
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    if extra and isinstance(parent, dict):
        parent[f"{place[-1]}_extra"] = value
    else:
        parent[place[-1]] = value
    return document


def test_every_value_near_a_limit_in_every_place_is_judged_alike() -> None:
    for place in PLACES:
        for value in SWEEP:
            document = changed(place, value)
            assert errors(_validator(), document) == errors(PUBLISHED, document), (place, value)


@settings(max_examples=600, deadline=None)
@given(place=st.sampled_from(PLACES), value=VALUES, extra=st.booleans())
def test_a_document_with_one_field_changed_is_judged_alike(
    place: tuple[Any, ...], value: Any, extra: bool
) -> None:
    document = copy.deepcopy(BASE)
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    if extra and isinstance(parent, dict):
        parent[f"{place[-1]}_extra"] = value  # an unknown field beside a known one
    else:
        parent[place[-1]] = value
    agree(document)


#: Every field a user writes one line of text in, with a valid value.
ONE_LINE_FIELDS = {
    ("contracts", 0, "number"): "110001234567",
    ("contracts", 0, "manager"): "alice@acme.example",
    ("contracts", 0, "ends"): "2027-03-31",
    ("contracts", 0, "coordinators", 0, "email"): "bob@acme.example",
    ("contracts", 0, "coordinators", 0, "shipping", "name"): "Acme HQ",
    ("contracts", 0, "coordinators", 0, "shipping", "address"): "1 Main St",
    ("contracts", 0, "coordinators", 0, "shipping", "country"): "US",
    ("contracts", 0, "serials", 0, "number"): "399-12345678",
    ("contracts", 0, "serials", 0, "product"): "AutoCAD",
    ("contracts", 0, "serials", 0, "group"): "Design Studio",
    ("users", 0, "first_name"): "Alice",
    ("users", 0, "last_name"): "Moreau",
    ("teams", 0, "name"): "Design Studio",
    ("teams", 0, "description"): "Architects in Oslo",
    ("teams", 0, "members", 0): "bob@acme.example",
    ("teams", 0, "access", 0, "serial"): "399-12345678",
}


@pytest.mark.parametrize("place", list(ONE_LINE_FIELDS), ids=lambda p: ".".join(map(str, p)))
def test_a_line_break_at_the_end_of_a_value_is_refused_by_both(place: tuple[Any, ...]) -> None:
    """Python's `$` matches before a final line break, ECMA-262's (the schema's dialect) does not:
    every pattern must refuse "value\\n" under both, as editors do."""
    assert errors(PUBLISHED, changed(place, ONE_LINE_FIELDS[place])) == set()
    document = changed(place, ONE_LINE_FIELDS[place] + "\n")
    assert (place, "pattern") in errors(PUBLISHED, document)
    agree(document)


def test_a_sibling_of_a_ref_never_loosens_what_it_names() -> None:
    from reconciler.loading.schema import _inline_refs

    schema = {
        "$defs": {"short": {"type": "string", "maxLength": 2, "title": "Short"}},
        "properties": {"a": {"$ref": "#/$defs/short", "maxLength": 5, "title": "A"}},
    }
    inlined = Draft202012Validator(_inline_refs(schema, schema["$defs"]))
    assert not inlined.is_valid({"a": "xyz"}) and not Draft202012Validator(schema).is_valid({"a": "xyz"})
    assert inlined.is_valid({"a": "xy"})


# E-mail addresses: the schema's pattern against `validate`'s judge, and in three regex dialects.

#: What `validate` refuses in an address and the schema's pattern lets through, because a pattern
#: cannot say it: each is email-validator's judgement beyond the syntax of an address.
BEYOND_A_PATTERN = {
    r"special-use or reserved name": "IANA's special-use names (`.test`, `.local`, `.arpa`, ...): a list of "
    "email-validator's, which grows with its releases, not a rule of syntax",
    r"not valid IDNA|is invalid \(": "a Punycode label (`xn--...`) that does not decode to a valid "
    "internationalised name: IDNA's tables, not a pattern",
}

_ATEXT = "abXY09!#$%&'*+/=?^_`{|}~-"
_LOCAL_PARTS = st.one_of(
    st.integers(1, 70).map(lambda n: "a" * n),  # around the 64 characters before the @
    st.lists(st.text(st.sampled_from(_ATEXT), min_size=1, max_size=8), min_size=1, max_size=3).map(".".join),
    st.text(st.sampled_from(_ATEXT + '. "\\@é'), max_size=10),
)
_LABELS = st.one_of(
    st.text(st.sampled_from("abzXN09-"), min_size=1, max_size=8),  # hyphens and "--" anywhere
    st.integers(60, 65).map(lambda n: "a" * n),  # around the 63 characters of a label
    st.sampled_from(
        ["example", "xn--a", "xn--caf-dma", "Xn--bcher-kva", "ab--c", "a---b", "a1", "1a", "123", "0x1"]
        + ["test", "local", "arpa", "invalid", "localhost", "onion", "alt", "home", "lan", "internal"]
    ),
    st.text(st.sampled_from("ab9é_ ."), min_size=1, max_size=4),
)
ADDRESSES = st.builds("{}@{}".format, _LOCAL_PARTS, st.lists(_LABELS, min_size=1, max_size=4).map(".".join))
#: The published file as the fast path reads it: jsonschema-rs, Rust's regex dialect.
PUBLISHED_IN_RUST = jsonschema_rs.validator_for(SCHEMA)


@settings(max_examples=3_000, deadline=None)
@given(address=ADDRESSES)
def test_the_schema_refuses_every_address_validate_refuses_for_a_reason_a_pattern_can_say(
    address: str,
) -> None:
    document = changed(("users", 0, "email"), address)
    taken = not errors(PUBLISHED, document)
    problem = email_problem(address)
    if problem is None:
        assert taken, f"the schema refuses {address!r}, which validate takes"
    elif taken:
        beyond = [why for pattern, why in BEYOND_A_PATTERN.items() if re.search(pattern, problem)]
        assert beyond, f"the schema takes {address!r}, which validate refuses: {problem}"
    assert PUBLISHED_IN_RUST.is_valid(document) is taken, address


@pytest.fixture(scope="module")
def ecma_262() -> Iterator[Callable[[str, list[str]], list[bool]]]:
    """Whether ECMA-262's RegExp, with the u flag as editors and validators use it, finds a pattern in
    each text: a real Chromium's V8. It runs in a thread of its own: Playwright's sync API drives one
    browser per thread, and the browser tests' may hold this one."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    worker = ThreadPoolExecutor(max_workers=1)

    def start() -> tuple[Any, Any]:
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        return playwright, browser

    playwright, browser = worker.submit(start).result()
    page = worker.submit(browser.new_page).result()
    script = "([pattern, texts]) => texts.map((text) => new RegExp(pattern, 'u').test(text))"
    try:
        yield lambda pattern, texts: worker.submit(page.evaluate, script, [pattern, texts]).result()
    finally:
        worker.submit(lambda: (browser.close(), playwright.stop())).result()
        worker.shutdown()


@settings(max_examples=25, deadline=None)
@given(addresses=st.lists(ADDRESSES, min_size=100, max_size=100))
def test_the_email_pattern_reads_the_same_in_python_rust_and_ecma_262(
    addresses: list[str], ecma_262: Callable[[str, list[str]], list[bool]]
) -> None:
    """JSON Schema's `pattern` is ECMA-262's, searched for (not anchored) in the text."""
    pattern = SCHEMA["$defs"]["email"]["pattern"]
    in_rust = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    in_ecma = ecma_262(pattern, addresses)
    in_python = [re.search(pattern, address) is not None for address in addresses]
    assert in_ecma == in_python
    assert [in_rust.is_valid(address) for address in addresses] == in_python
