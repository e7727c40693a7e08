"""The fast path (the [fast] extra): it reads a file as the strict path does, or leaves it to it.

The strict path (events.py, schema.py) is the reference. Every file the rest
of the suite reads, in-process or through the command line, is read both ways
(conftest sets RECONCILER_FAST=check), so every input of the suite, the fuzz
corpus and the golden cases is a differential test. Here: the guards one by
one, the YAML test suite, the suite's cases and generated YAML spliced into
every kind of place a field has (tens of thousands of inputs), every file of
the repository whole and cut into tiny pieces, the scalar readings the fast
path relies on, and what it takes to cut a file (pieces.py).
"""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ACCOUNT, EXAMPLES, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from required import require

from reconciler.core.scalars import plain_scalar
from reconciler.loading import Loaded, fast, load_sources, pieces
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.schema import schema_document, schema_findings

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from generate import write_account

SUITE_CASES = json.loads((ROOT / "tests" / "data" / "yaml-test-suite" / "cases.json").read_text())["cases"]
REPOSITORY_FILES = sorted(
    path
    for folder in (EXAMPLES, ROOT / "tests" / "data", ROOT / "tests" / "golden")
    for path in folder.rglob("*")
    if path.suffix in (".yaml", ".yml")
)


@pytest.fixture(autouse=True)
def _the_extra() -> None:
    require(
        "" if fast.INSTALLED else "the [fast] extra (yaml-rs, jsonschema-rs) is not installed",
        "the fast path's tests",
        "pip install -e '.[test]'",
    )


def read_both_ways(data: bytes, piece_bytes: int | None = None) -> bool:
    """Whether the fast path took `data`; where it did, the strict path must read the same, with no
    problem."""
    source = Source("file.yaml", data)
    if piece_bytes is None:
        document = fast.valid_document(source)
    else:
        original = pieces.PIECE_BYTES
        pieces.PIECE_BYTES = piece_bytes
        try:
            document = fast.valid_document(source)
        finally:
            pieces.PIECE_BYTES = original
    if document is None:
        return False
    strict = parse(source)
    assert not strict.problems, strict.problems
    assert not schema_findings(source.name, strict.document)
    assert fast.difference(document, strict.document) is None, fast.difference(document, strict.document)
    return True


def load_both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Loaded, Loaded]:
    """The whole load of `data`, with the fast path and without."""
    monkeypatch.setenv("RECONCILER_FAST", "1")
    with_it = load_sources([Source("file.yaml", data)])
    monkeypatch.setenv("RECONCILER_FAST", "0")
    without = load_sources([Source("file.yaml", data)])
    return with_it, without


def test_the_suite_reads_every_file_both_ways_and_a_difference_stops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert fast.checking()
    original = fast.valid_document

    def misread(source: Source) -> Any:
        document = original(source)
        return None if document is None else {**document, "version": 2}

    monkeypatch.setattr(fast, "valid_document", misread)
    with pytest.raises(
        fast.Mismatch, match=r"file.yaml: the fast path read the document.version \(2, not 1\)"
    ):
        load_sources([Source("file.yaml", ACCOUNT.encode())])


def test_a_large_account_is_read_as_the_strict_path_reads_it_whole_and_in_pieces() -> None:
    out = io.StringIO()
    write_account(out, 3_000, contracts=5, serials_per_contract=4)
    data = out.getvalue().encode()
    cut = pieces.cut(data, 16 * 1024)
    assert cut is not None
    assert [key for key, _ in cut.lists] == ["contracts", "users"]
    assert len(dict(cut.lists)["users"]) > 20
    assert read_both_ways(data, 16 * 1024)
    assert read_both_ways(data, len(data))  # whole


@pytest.mark.parametrize("piece_bytes", [None, 64], ids=["whole", "in-64-byte-pieces"])
@pytest.mark.parametrize("path", REPOSITORY_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_file_of_the_repository_reads_the_same_both_ways(path: Path, piece_bytes: int | None) -> None:
    data = path.read_bytes()
    taken = read_both_ways(data, piece_bytes)
    valid = load_sources([Source(path.name, data)]).state is not None
    if valid and fast._readable(data):  # a valid account with nothing the guards leave to the strict path
        assert taken, "the file is plain YAML: the fast path must take it"


def test_the_yaml_test_suite_is_read_the_same_both_ways_where_the_fast_parser_reads_it() -> None:
    """Not one of the suite's cases passes our schema, so the comparison is of the parsers: where the
    guards let yaml-rs read a case and it gives a mapping of text keys, libyaml must read it the same
    (valid YAML that libyaml refuses, as yaml-rs reads it, is refused by the guards)."""
    same = 0
    for case in SUITE_CASES:
        data = case["yaml"].encode("utf-8", "surrogatepass")
        source = Source(case["id"], data)
        if fast.character_problem(source) or not fast._readable(data) or not fast._numbers_agree(data):
            continue
        try:
            document = fast._parse(data.removeprefix(fast._BOM))
        except Exception:  # refused by yaml-rs: the strict path reads it
            continue
        if not isinstance(document, dict) or not _text_keys(document):
            continue  # the schema refuses it on both paths
        strict = parse(source)
        assert not strict.problems, (case["id"], case["name"], strict.problems)
        assert fast.difference(document, strict.document) is None, (case["id"], case["name"])
        same += 1
    assert same >= 25


# The differential test: every place of an account where a user writes text, with the YAML test suite's
# cases and generated YAML spliced in. For every input, the fast path declines (the strict path decides)
# or reads what the strict path reads from a file it accepts.

_HEAD = (
    'version: 1\ncontracts:\n  - number: "110001234567"\n    manager: a@b.example\n'
    '    serials:\n      - number: "399-12345678"\n        product: AutoCAD\n        seats: 2\n'
)
_BLOCK_USER = _HEAD + "users:\n  - email: a@b.example\n"
_FLOW_USER = _HEAD + "users: [{ "
_MEMBERS = _BLOCK_USER + "    first_name: A\n    last_name: B\nteams:\n  - name: T\n    members:"

#: Where text goes in a valid account (HOLE), and the indentation that keeps a value of several lines
#: inside its node. Each holds a valid account with HOLE replaced by a plain word.
SITES: dict[str, tuple[str, int]] = {
    "a block value": (_BLOCK_USER + "    first_name: HOLE\n    last_name: B\n", 6),
    "a block key's end": (_BLOCK_USER + "    first_nameHOLE: A\n    last_name: B\n", 6),
    "a double-quoted value": (_BLOCK_USER + '    first_name: "HOLE"\n    last_name: B\n', 6),
    "a single-quoted value": (_BLOCK_USER + "    first_name: 'HOLE'\n    last_name: B\n", 6),
    "a plain value's next line": (_BLOCK_USER + "    first_name: A\n      HOLE\n    last_name: B\n", 6),
    "a comment": (_BLOCK_USER + "    first_name: A #HOLE\n    last_name: B\n", 6),
    "a line of a user": (_BLOCK_USER + "    first_name: A\n    last_name: B\n    HOLE\n", 4),
    "a flow value": (_FLOW_USER + 'email: a@b.example, "first_name": HOLE, last_name: B }]\n', 2),
    "a flow value after a quoted key": (
        _FLOW_USER + '"email": a@b.example, "first_name":HOLE, last_name: B }]\n',
        2,
    ),
    "a flow value after a single-quoted key": (
        _FLOW_USER + "email: a@b.example, 'first_name':HOLE, last_name: B }]\n",
        2,
    ),
    "a flow key's end": (_FLOW_USER + 'email: a@b.example, "first_name"HOLE: A, last_name: B }]\n', 2),
    "the last flow value": (_FLOW_USER + "email: a@b.example, last_name: B, first_name: HOLE}]\n", 2),
    "the last flow value after a quoted key": (
        _FLOW_USER + 'email: a@b.example, last_name: B, "first_name":HOLE}]\n',
        2,
    ),
    "a flow value's next line": (
        _FLOW_USER + "email: a@b.example, first_name: A\n  HOLE, last_name: B }]\n",
        2,
    ),
    "a flow list's entry": (_MEMBERS + " [HOLE]\n", 2),
    "a block list's entry": (_MEMBERS + "\n      - HOLE\n", 8),
    "a flow mapping's value at the top": (
        'version: 1\ncontracts: [{number: "110001234567", manager: HOLE}]\n',
        2,
    ),
    "a number after a quoted key": (
        'version: 1\ncontracts: [{"number": "110001234567", "manager": a@b.example,'
        ' "serials": [{"number": "399-12345678", "product": A, "seats":HOLE}]}]\n',
        2,
    ),
}
#: What makes each site's account valid where a plain word does not: an e-mail, a number, no more key.
_PLAIN = {
    "a block key's end": "",
    "a flow key's end": "",
    "a line of a user": "",
    "a flow list's entry": "a@b.example",
    "a block list's entry": "a@b.example",
    "a flow mapping's value at the top": "a@b.example",
    "a number after a quoted key": "2",
}


def suite_holes(indent: int) -> Iterator[str]:
    """Each case of the YAML test suite whole (its lines indented to stay in the node it is spliced
    into), and each of its lines as written and stripped."""
    lines: set[str] = set()
    for case in SUITE_CASES:
        text: str = case["yaml"]
        yield text.replace("\n", "\n" + " " * indent)
        lines.update(text.splitlines())
        lines.update(line.strip() for line in text.splitlines())
    yield from sorted(lines)


#: What generated YAML is made of: what may lead a scalar (indicators, blanks, line breaks: LF, CR,
#: CRLF and YAML 1.1's NEL), a word or a scalar, and anything after it; the suite's own short tokens
#: count among the words and the rest.
_LEADS = [
    *":?-,[]{}\"'#&*!|>%@`\\.=~+",
    *(" ", "\n", "\n ", "\r", "\r\n", "\x85", ": ", "- ", "? ", "\ufeff"),
]
_WORDS = ["a", "Ab", "1", "0x1", "1_0", ".5", ".inf", "true", "null", "~", "a@b.example", '"a"', "'a'", "é"]
_ANY = [*_LEADS, *_WORDS, "x:", "  ", "\n      ", "\r ", " \r\n  ", " #c", "\xa0", "\u2028", "\U0001f600"]


def generated_holes(count: int, seed: int) -> list[str]:
    """`count` strings, each up to two leads, a word and up to three more pieces, drawn with a fixed
    seed: the same ones on every run."""
    tokens = sorted({token for case in SUITE_CASES for token in case["yaml"].split() if len(token) <= 6})
    draw = random.Random(seed)

    def some(pieces: list[str], most: int) -> str:
        return "".join(draw.choice(pieces) for _ in range(draw.randint(0, most)))

    return [some(_LEADS, 2) + draw.choice(_WORDS + tokens) + some(_ANY + tokens, 3) for _ in range(count)]


GENERATED = generated_holes(360, seed=20_250_611)


def taken_and_disagreement(data: bytes) -> tuple[bool, str | None]:
    """Whether the fast path took `data`, and how it broke the rule if it did: it took a file the
    strict path refuses or reads otherwise."""
    source = Source("file.yaml", data)
    document = fast.valid_document(source)
    if document is None:
        return False, None
    strict = parse(source)
    if strict.problems:
        return True, f"the strict path says: {strict.problems[0].message}"
    if schema_findings(source.name, strict.document):
        return True, "the strict path finds it invalid"
    where = fast.difference(document, strict.document)
    return True, None if where is None else f"read {where} otherwise"


@pytest.mark.parametrize("site", SITES)
def test_the_yaml_test_suite_and_generated_yaml_spliced_into_a_field_read_alike_or_go_strict(
    site: str,
) -> None:
    template, indent = SITES[site]
    plain = _PLAIN.get(site, "Carol")
    assert read_both_ways(template.replace("HOLE", plain).encode())
    broken, taken, count = [], 0, 0
    for kind, holes in (("suite", suite_holes(indent)), ("generated", GENERATED)):
        for hole in holes:
            for text in {hole, plain + hole}:  # in place of the value, and after it
                took, how = taken_and_disagreement(template.replace("HOLE", text).encode())
                count, taken = count + 1, taken + took
                if how is not None:
                    broken.append(f"{kind} {text!r}: taken, but {how}")
    assert broken == [], f"{len(broken)} of {count}:\n" + "\n".join(broken[:20])
    assert taken > 1, "the fast path took none of them: the comparison proved nothing"


def _text_keys(node: Any) -> bool:
    if isinstance(node, dict):
        return all(isinstance(key, str) and _text_keys(value) for key, value in node.items())
    if isinstance(node, list):
        return all(_text_keys(value) for value in node)
    return node is None or isinstance(node, (str, int, float))


def _with(old: str, new: str) -> bytes:
    assert old in ACCOUNT
    return ACCOUNT.replace(old, new, 1).encode()


#: Inputs the fast path must leave to the strict one: each is wrong, or YAML the fast parser reads
#: otherwise, or beyond what the fast path can vouch for.
LEFT_TO_THE_STRICT_PATH = {
    "seats with an underscore": _with("seats: 2", "seats: 1_0"),
    "seats in hex, upper case": _with("seats: 2", "seats: 0X1F"),
    "seats in binary": _with("seats: 2", "seats: 0b11"),
    "a signed hex version": _with("version: 1", "version: +0x1"),
    "seats on the next line, with an underscore": _with("seats: 2", "seats:\n          1_0"),
    "seats as JSON, with an underscore": _with("seats: 2\n", "").replace(
        b"product: Revit", b'product: Revit\n        "seats":1_0'
    ),
    "YAML 1.1 yes": _with("download: true", "download: yes"),
    "a duplicate key": _with("seats: 2", "seats: 2\n        seats: 3"),
    "a str tag": _with("product: AutoCAD", "product: !!str AutoCAD"),
    "a local tag": _with("product: AutoCAD", "product: !cad AutoCAD"),
    "a non-specific tag": _with("seats: 2", "seats: ! 2"),
    "an anchor and an alias": _with("product: Revit", "product: *p").replace(
        b"product: AutoCAD", b"product: &p AutoCAD"
    ),
    "an alias bomb": (ROOT / "tests" / "data" / "invalid" / "alias-bomb.yaml").read_bytes(),
    "a merge key": _with("    first_name: Carol", "    <<: {first_name: Carol}"),
    "a YAML 1.1 directive": b"%YAML 1.1\n---\n" + ACCOUNT.encode(),
    "a second document": ACCOUNT.encode() + b"---\nversion: 1\n",
    "an empty second document": ACCOUNT.encode() + b"---\n",
    "a document end": ACCOUNT.encode() + b"...\n",
    "a tab": _with("    last_name: Smith", "    last_name:\tSmith"),
    "a block scalar": _with("first_name: Carol", "first_name: >-\n      Carol"),
    "a colon on the line after a flow key": _with("{name: Acme HQ,", '{"name"\n          : Acme HQ,'),
    "a scalar starting with a colon": _with("country: US}", "country: :US}"),
    "a value starting with a colon after a quoted key": _with("{name: Acme HQ,", '{"name"::Acme HQ,'),
    "a value starting with a colon after a single-quoted key": _with("{name: Acme HQ,", "{'name'::Acme HQ,"),
    "a flow key's colon after a lone CR": b'version: 1\nusers: [{email: a@b.example, "first_name"\r: A}]\n',
    "an escape": _with('address: "1 Main St"', 'address: "1 Main\\x20St"'),
    "a complex key": _with("    last_name: Smith", "    ? last_name\n    : Smith"),
    "a non-text key": _with("    last_name: Smith", "    last_name: Smith\n    1: x"),
    "a key that is null": _with("    last_name: Smith", "    last_name: Smith\n    ~: x"),
    "a value of 20,000 characters": _with("Carol", "C" * 20_000),
    "a root that is a list": b"- " + ACCOUNT.replace("\n", "\n  ").encode(),
    "an empty file": b"",
    "only a comment": b"# nothing yet\n",
    "not UTF-8": _with("Moreau", "Moreau") + b"\xff",
    "a control character": _with("Moreau", "Mor\x07eau"),
    "a bidi override": _with("Moreau", "Mor\u202eeau"),
    "a YAML 1.1 line break in a comment": ("#\x85 users: []\n" + ACCOUNT).encode(),
    "a YAML 1.1 line break in quoted text": _with('address: "1 Main St"', 'address: "1 Main\x85St"'),
    "a YAML 1.1 line break in a plain name": _with("Moreau", "Mor\x85eau"),
    "a line separator in quoted text": _with('address: "1 Main St"', 'address: "1 Main\u2028St"'),
    "a line separator in a comment": ("#\u2028 users: []\n" + ACCOUNT).encode(),
}

#: ... and inputs it must take, reading them as the strict path does.
TAKEN = {
    "the account": ACCOUNT.encode(),
    "a byte order mark": "\ufeff".encode() + ACCOUNT.encode(),
    "CRLF line ends": ACCOUNT.replace("\n", "\r\n").encode(),
    "an opening document marker": b"---\n" + ACCOUNT.encode(),
    "comments": _with("users:\n", "# who\nusers: # all of them\n# first the CM\n"),
    "seats in hex, as YAML 1.2 reads it": _with("seats: 2", "seats: 0x2"),
    "seats as a float that is whole": _with("seats: 2", "seats: 2.0"),
    "names with YAML's characters": _with("first_name: Carol", 'first_name: "R&D, 5* Hotels: Carol!"'),
    "a plain name with an ampersand": _with("last_name: Smith", "last_name: Smith & Sons"),
    "flow mappings written as JSON": _with(
        '{name: Acme HQ, address: "1 Main St", country: US}',
        '{"name": "Acme HQ", "address": "1 Main St", "country": "US"}',
    ),
    "quoted keys": _with("    first_name: Carol", '    "first_name": Carol'),
}


@pytest.mark.parametrize("data", LEFT_TO_THE_STRICT_PATH.values(), ids=LEFT_TO_THE_STRICT_PATH)
def test_the_fast_path_leaves_to_the_strict_one_what_it_cannot_vouch_for(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fast.valid_document(Source("file.yaml", data)) is None
    with_it, without = load_both_ways(data, monkeypatch)
    assert with_it == without


@pytest.mark.parametrize("data", TAKEN.values(), ids=TAKEN)
def test_the_fast_path_takes_plain_yaml_and_reads_it_as_the_strict_path_does(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_both_ways(data)
    assert read_both_ways(data, 64)
    with_it, without = load_both_ways(data, monkeypatch)
    assert with_it.state is not None
    assert with_it == without


@pytest.mark.parametrize(
    "nesting",
    [
        "- " * 100_000 + "x\n",
        "a:\n" + "  - " * 50_000 + "x\n",
        "[" * 100_000,
        "".join(" " * i + "a:\n" for i in range(2_000)),
    ],
    ids=["compact lists", "compact lists indented", "flow lists", "2,000 mappings"],
)
def test_a_file_nested_a_hundred_thousand_deep_is_refused_not_a_crash(nesting: str, tmp_path: Path) -> None:
    """yaml-rs recurses into block nesting without a bound of its own and would crash the process."""
    path = tmp_path / "deep.yaml"
    path.write_text(nesting)
    code = (
        "import sys; from reconciler.loading import load; "
        "loaded = load([sys.argv[1]]); print(loaded.problems[0].message)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env={"RECONCILER_FAST": "1"}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_without_the_extra_or_switched_off_files_take_the_strict_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_called(source: Source) -> None:
        raise AssertionError("the fast path was asked")

    monkeypatch.setattr(fast, "valid_document", not_called)
    monkeypatch.setenv("RECONCILER_FAST", "0")
    assert load_sources([Source("file.yaml", ACCOUNT.encode())]).state is not None
    monkeypatch.setenv("RECONCILER_FAST", "1")
    monkeypatch.setattr(fast, "INSTALLED", False)
    assert load_sources([Source("file.yaml", ACCOUNT.encode())]).state is not None


def test_progress_reaches_the_end_of_a_file_the_fast_path_reads() -> None:
    heard: list[tuple[int, int]] = []
    data = ACCOUNT.encode()
    assert load_sources(
        [Source("a.yaml", data), Source("b.yaml", b"version: 1\n")], progress=lambda *p: heard.append(p)
    )
    total = len(data) + len(b"version: 1\n")
    assert heard[-1] == (total, total)
    assert (len(data), total) in heard


# The readings the fast path relies on (fast.py's docstring): yaml-rs reads every number, boolean and
# null of YAML 1.2's core schema as the strict path does, and invents no boolean or null of its own.

CORE_SCALARS = [
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "TRUE",
    "false",
    "False",
    "FALSE",
    "0",
    "-0",
    "+0",
    "7",
    "-15",
    "+15",
    "007",
    "0o17",
    "0o0",
    "0x1F",
    "0xff",
    "0x0",
    "123456789012345678901234567890",
    "1.5",
    "-1.5",
    "+1.5",
    ".5",
    "-.5",
    "1.",
    "1e3",
    "1E3",
    "1e+3",
    "1e-3",
    "-1.5E-3",
    "0.0",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "-.inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    ".NAN",
]


def yaml_rs_reads(token: str) -> Any:
    return fast.yaml_rs_read(f"x: {token}\n")["x"]


@pytest.mark.parametrize("token", CORE_SCALARS)
def test_yaml_rs_reads_each_core_scalar_as_the_strict_path(token: str) -> None:
    assert fast.same_scalar(yaml_rs_reads(token), plain_scalar(token))


CORE_PATTERN = (
    r"\A(?:[-+]?[0-9]{1,30}|0o[0-7]{1,20}|0x[0-9a-fA-F]{1,20}"
    r"|[-+]?(?:\.[0-9]{1,10}|[0-9]{1,10}(?:\.[0-9]{0,10})?)(?:[eE][-+]?[0-9]{1,3})?)\Z"
)


@settings(max_examples=500, deadline=None)
@given(token=st.from_regex(CORE_PATTERN))
def test_yaml_rs_reads_every_core_number_as_the_strict_path(token: str) -> None:
    assert fast.same_scalar(yaml_rs_reads(token), plain_scalar(token)), token


@settings(max_examples=1_000, deadline=None)
@given(token=st.text(alphabet="0123456789abefilnorstuxABEFILNORSTUX_.+-:~", min_size=1, max_size=8))
def test_yaml_rs_invents_no_boolean_or_null_and_misses_no_number(token: str) -> None:
    try:
        read = yaml_rs_reads(token)
    except Exception:  # not a scalar on its own (`-`, `:x`): nothing to compare
        return
    core = plain_scalar(token)
    if isinstance(read, bool) or read is None or not isinstance(core, str):
        assert fast.same_scalar(read, core), token
    if not fast.same_scalar(read, core):  # yaml-rs reads a number where the strict path keeps text
        assert isinstance(read, (int, float)) and isinstance(core, str)
        assert not fast._numbers_agree(f"seats: {token}\n".encode()), token


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_the_schema_is_closed_and_bounded_as_the_fast_path_relies_on() -> None:
    """A file with an unknown key (a merge key, a non-text key), a deep nesting or a long scalar is
    never valid, so the fast path needs no check of its own for them."""
    for node in _schemas(schema_document()):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False and "patternProperties" not in node, node
        if node.get("type") == "string" and "enum" not in node:
            pattern = node.get("pattern", "")
            bounded = re.search(r"[*+]|\{\d+,\}", pattern.replace("(?![\\s\\S])", "")) is None
            assert "maxLength" in node or bounded, node
    # The directory's `timeout` and a policy's `approvals` are numbers too: read both ways like these
    # (fast._numbers_agree).
    assert fast.number_fields() == {"approvals", "seats", "timeout", "version"}


# Cutting a file (pieces.py): where a cut may fall, and where the file is read whole.

USERS = "".join(
    f"  - email: user{index}@acme.example\n    first_name: User{index}\n    last_name: Smith\n"
    for index in range(40)
)
HEAD = 'version: 1\ncontracts:\n  - number: "110001234567"\n    manager: user0@acme.example\n'


#: Shapes a file is cut in, and read in pieces as whole.
PLAIN_SHAPES = {
    "entries indented": HEAD + "users:\n" + USERS,
    "entries at the first column": HEAD + "users:\n" + USERS.replace("\n  ", "\n").removeprefix("  "),
    "comments at the first column": HEAD
    + "users:\n"
    + USERS.replace("    last_name: Smith\n", "# a comment\n    last_name: Smith\n"),
    "blank lines and comments around": HEAD + "users:\n\n# everyone\n" + USERS + "\n# the end\n",
    "a list after": HEAD
    + "users:\n"
    + USERS
    + "teams:\n  - name: Design\n    members: [user1@acme.example]\n",
    "a comment after a value": HEAD.replace("version: 1", "version: 1 # the only one") + "users:\n" + USERS,
    "an opening marker": "---\n" + HEAD + "users:\n" + USERS,
    "CRLF line ends": (HEAD + "users:\n" + USERS).replace("\n", "\r\n"),
}
#: Shapes that may not be cut, or not be valid: where the fast path takes one, it reads it as whole.
ODD_SHAPES = {
    "an empty list before": HEAD + "teams:\nusers:\n" + USERS,
    "a quoted value at the top (not cut)": HEAD + 'unmanaged_users: "keep"\nusers:\n' + USERS,
    "a quoted scalar across an entry's line": HEAD
    + "users:\n"
    + USERS.replace("last_name: Smith\n  - email: user9", 'last_name: "Smith\n  - email: user9"', 1),
    "a flow list across an entry's line": HEAD
    + "users:\n"
    + USERS.replace("last_name: Smith\n  - email: user9", "last_name: [Smith,\n  - user9]", 1),
    "a key among the entries": HEAD + "users:\n" + USERS + "  oops: true\n",
    "an entry less indented": HEAD + "users:\n" + USERS.replace("  - email: user5", " - email: user5"),
}


@pytest.mark.parametrize("piece_bytes", [40, 200, 1_000])
@pytest.mark.parametrize("text", PLAIN_SHAPES.values(), ids=PLAIN_SHAPES)
def test_a_file_cut_into_pieces_reads_as_the_whole(text: str, piece_bytes: int) -> None:
    assert pieces.cut(text.encode(), piece_bytes) is not None
    assert read_both_ways(text.encode(), piece_bytes)


@pytest.mark.parametrize("piece_bytes", [40, 200, 1_000])
@pytest.mark.parametrize("text", ODD_SHAPES.values(), ids=ODD_SHAPES)
def test_a_file_of_another_shape_is_read_as_the_whole_or_left_to_the_strict_path(
    text: str, piece_bytes: int
) -> None:
    read_both_ways(text.encode(), piece_bytes)


def test_a_file_is_cut_only_before_an_entry_of_a_top_list() -> None:
    data = (HEAD + "users:\n" + USERS).encode()
    cut = pieces.cut(data, 200)
    assert cut is not None
    ((_key, spans),) = [entry for entry in cut.lists if entry[0] == "users"]
    assert len(spans) > 5
    for start, end in spans:
        assert data[start:end].startswith(b"\n  - email: ")
    assert b"".join(data[start:end] for start, end in cut.top) == b"version: 1\ncontracts:\nusers:"
    assert pieces.cut(data, len(data)) is None
    assert pieces.cut((HEAD + "users: [user0@acme.example]\n" + "#" * 400).encode(), 200) is None
