"""The public YAML test suite through parse(): what we read as the suite does, what we refuse and why.

tests/data/yaml-test-suite/cases.json holds the suite's cases (its README
says where from). Each one ends in one outcome, worked out twice: by what
parse() returns, and by what the parser alone makes of the text (its events,
compared with the suite's event tree):

- valid YAML: read as the suite's JSON says ("accepted"); refused by design
  for a reason of ours (one of REASONS); refused by the parser (its own
  limits against YAML 1.2); or misread by the parser (its events are not the
  suite's, so neither is the data). Valid YAML whose events match the
  suite's but whose data does not is our bug: none may be.
- invalid YAML: refused by the parser; refused by us although the parser
  took it; or accepted (the parser is lenient there; each is justified).

LIBYAML is the reviewed list of every case that does not end "accepted" on
libyaml, PURE_OTHERWISE where PyYAML's pure parser differs: a change in
libyaml, in PyYAML or in the loader shows up as a diff of them. Run with
-rA (or -s) to see the table.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from reconciler.loading import events
from reconciler.loading.events import Parsed, parse
from reconciler.loading.files import Source

SUITE = json.loads(
    (Path(__file__).parent / "data" / "yaml-test-suite" / "cases.json").read_text(encoding="utf-8")
)
CASES: list[dict[str, Any]] = SUITE["cases"]

#: Why the loader refuses valid YAML that the parser read, as its messages say it (events.py).
REASONS = {
    "several documents": (
        "a second document (`---`) in one stream: a file is one desired state",
        r"a second YAML document",
    ),
    "no document": ("a stream of no document (empty, comments, directives only)", r"the file is empty"),
    "complex key": ("a key that is a list, a mapping or an alias", r"a key must be plain text"),
    "null key": ("an empty key (`: x`, `? `) or `null`: keys are field names", r"the key null is not text"),
    "non-text key": ("a key that is a number or a boolean: quote it", r"the key .* is not text"),
    "merge key": ("`<<`, YAML 1.1's merge, not YAML 1.2", r"YAML merge keys"),
    "tag": (
        "a tag beyond the core schema's: local (`!foo`), global (`tag:example.com,2000:x`), "
        "YAML 1.1 types (`!!set`, `!!omap`, `!!binary`)",
        r"the tag .* is not supported",
    ),
    "tag mismatch": ("a core tag on a value not of its type (`!!int 1.5`)", r"is not a valid !!"),
    "duplicate key": ("the same key twice in one mapping", r"duplicate key"),
}

#: Expected data where the suite gives no JSON, reviewed by hand from its event tree.
WITHOUT_JSON: dict[str, Any] = {
    # `!` alone: an empty plain scalar with the non-specific tag, so !!str (YAML 1.2, 6.9.1).
    "UKK6/02": "",
    # `{ unquoted : "separate", http://foo.com, omitted value:, }` (libyaml refuses it).
    "4ABK": {"unquoted": "separate", "http://foo.com": None, "omitted value": None},
}

_LIBYAML = "libyaml"
_PURE = "pure"
PARSERS = [pytest.param(yaml.SafeLoader, id=_PURE)]
if yaml.__with_libyaml__:
    PARSERS.insert(0, pytest.param(yaml.CSafeLoader, id=_LIBYAML))


def _ids(*groups: str) -> list[str]:
    return sorted(" ".join(groups).split())


#: Every case that does not end "accepted" on libyaml, by outcome: reviewed, each group with why.
LIBYAML: dict[str, list[str]] = {
    "refused: several documents": _ids(
        "35KP 5TYM 6WLZ 6XDY 6ZKB 9DXL 9KAX 9WXW JHB9 KSS4 L383 PUW8 RZT7 U9NS"
    ),
    "refused: no document": _ids("8G76 98YD AVM7"),
    "refused: complex key": _ids(
        "26DV 4FJ6 6BFJ 6PBE 9MMW E76Z KK5P LX3P M2N8/01 M5DY Q9WF RZP5 SBG9 V9D5 X38W XW4D"
    ),
    "refused: null key": _ids("DFF7 FH7J PW8X"),
    "refused: tag": _ids("2XXW 565N 6CK3 7FWL C4HZ CC74 CUP7 J7PZ M5C3 P76L UGM3 Z67P Z9M4"),
    # libyaml's limits against YAML 1.2 (docs/SECURITY.md); we would refuse many of these anyway.
    "refused by the parser": _ids(
        # an empty key: `: a`, `[ : x ]`, `? : x`
        "2JQS 6M2F CFD4 FRK4 M2N8/00 NHX8 NKF9 S3PD SM9W/01 UKK6/00",
        # flow collections: a key over two lines, `:` on the line after its key or right after a
        # quoted key (`{"a":b}`), a plain scalar starting with `:` (`[:x]`) or holding one
        "4ABK 4MUZ/00 4MUZ/01 4MUZ/02 58MP 5MUD 5T43 9SA2 DBG4 HM87/00 K3WX NJ66 UT92 VJP3/01",
        # a tab that separates (`-<tab>x`), is content after the indentation, or is a blank line's
        "6BCT 6CA3 96NN/00 96NN/01 A2M4 DK95/00 DK95/03 DK95/04 Q5MG R4YG Y79Y/001 Y79Y/010",
        # an anchor of other than ASCII letters, digits, `-` and `_` (`&a:`, `&😁`)
        "2SXE 8XYN W5VH",
        # streams: a reserved directive or `%YAML 1.3` (to be warned about, not refused), a bare
        # document after `...`, only `...`, a `%` line in a block scalar, a top-level block scalar
        # indented zero
        "2LFX 6LVF 7Z25 BEC7 DK3J FP8R HWV9 M7A3 MUS6/05 MUS6/06 QT73 W4TN",
    ),
    # libyaml's events are not the suite's, so the data differs from the text and we cannot tell:
    # `?` before text in a flow collection is taken for the explicit-key indicator (`{ ?foo: bar }`
    # has the key "foo"; `[?x]` is [{x: null}]); a block scalar's last line of spaces at the end of
    # a file with no final line break is lost; an anchor ends at `:` (`&an:chor value` is anchor
    # `an` on ":chor value").
    "misread by the parser": _ids("652Z HM87/01 JEF9/02 L24T/01 Y2GN"),
    "invalid, refused by the parser": _ids(
        "236B 2CMS 2G84/00 2G84/01 3HFZ 4EJS 4H7K 4HVU 4JVG 55WF 5LLU 5TRB 5U3A 62EZ 6JTT 6S55 7LBH",
        "7MNF 8XDJ 9CWY 9KBC 9MAG 9MMA 9MQT/01 B63P BD7L BF9H BS4K C2SP CML9 CQ3W CTN5 CXX2 D49Q",
        "DK4H DK95/06 DMG6 EW3V G7JE G9HC GDY7 GT5M H7J7 H7TQ HRE5 HU3P JKF3 JY7Z KS4U LHL4 N4JP",
        "N782 P2EQ Q4CL QLJ7 RXY3 S4GJ SF5V SR86 SU74 SY6V T833 TD5N U44R U99R VJP3/00 W9L4",
        "Y79Y/000 Y79Y/004 Y79Y/005 Y79Y/006 Y79Y/007 Y79Y/008 Y79Y/009 ZCZ6 ZL4Z ZVH3 ZXT5",
    ),
    # libyaml reads these; the second document is what makes them invalid, and ours.
    "invalid, refused: several documents": _ids("9HCY EB22 MUS6/01 RHX7"),
    # Invalid YAML libyaml reads anyway, each as its text shows it, so accepting it misleads
    # nobody: `#` with no space before it ending a flow collection, a quoted scalar, a block
    # scalar indicator or a directive (9JBA CVW2 SU5Z X4QW MUS6/00); continuation lines of a
    # flow or quoted scalar not indented, or indented by a tab (9C9N QB6E DK95/01 Y79Y/003);
    # `-` as a plain scalar in a flow collection (G5U8 YJV2); an empty block scalar's blank lines
    # more indented than its comment (S98Z).
    "invalid, accepted": _ids("9C9N 9JBA CVW2 DK95/01 G5U8 MUS6/00 QB6E S98Z SU5Z X4QW Y79Y/003 YJV2"),
}

#: Where PyYAML's pure-Python parser ends otherwise than libyaml: refuses more tabs (after `:`, at the
#: end of a line, in a flow collection, after `---`), a `?` inside a flow scalar and a tag on an
#: empty flow key; reads reserved directives, `%YAML 1.3` and tabs as block scalar content.
PURE_OTHERWISE = {
    **dict.fromkeys(_ids("2LFX 4ABK 6LVF 96NN/00 96NN/01 BEC7 MUS6/05 MUS6/06 R4YG Y79Y/001"), "accepted"),
    **dict.fromkeys(
        _ids("6HB6 DC7X DK95/05 DK95/07 HS5T J3BT JR7V K54U MUS6/03 NB6Z UV7Q WZ62 Y79Y/002"),
        "refused by the parser",
    ),
    **dict.fromkeys(_ids("MUS6/00 X4QW Y79Y/003"), "invalid, refused by the parser"),
    # the tag is read as `!!str,` where libyaml refuses the comma
    "U99R": "invalid, refused: tag",
}


def reviewed(parser: str) -> dict[str, list[str]]:
    """The reviewed outcome of every case that does not end "accepted" on `parser`."""
    if parser == _LIBYAML:
        return LIBYAML
    outcome = {case: name for name, cases in LIBYAML.items() for case in cases} | PURE_OTHERWISE
    found: dict[str, list[str]] = {}
    for case, name in sorted(outcome.items()):
        if name != "accepted":
            found.setdefault(name, []).append(case)
    return found


@dataclass(frozen=True)
class Outcome:
    """How one case ended, and what was read where that is worth showing."""

    case: str
    valid: bool
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class Run:
    """Every case through parse() on one parser."""

    name: str
    parser: type
    outcomes: list[Outcome]

    def ending(self, *outcomes: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome in outcomes]


def parser_events(parser: type, data: bytes) -> list[str] | None:
    """The parser's events for `data` in the suite's tree notation, or None if it refuses the text."""
    lines = []
    loader = parser(data)
    try:
        while True:
            event = loader.get_event()
            lines.append(_event_line(event))
            if isinstance(event, StreamEndEvent):
                return lines
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


_STYLE = {None: ":", "": ":", "'": "'", '"': '"', "|": "|", ">": ">"}
_ESCAPES = str.maketrans({"\\": "\\\\", "\0": "\\0", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _event_line(event: Any) -> str:
    if isinstance(event, StreamStartEvent):
        return "+STR"
    if isinstance(event, StreamEndEvent):
        return "-STR"
    if isinstance(event, DocumentStartEvent):
        return "+DOC ---" if event.explicit else "+DOC"
    if isinstance(event, DocumentEndEvent):
        return "-DOC ..." if event.explicit else "-DOC"
    if isinstance(event, AliasEvent):
        return f"=ALI *{event.anchor}"
    if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
        return "-MAP" if isinstance(event, MappingEndEvent) else "-SEQ"
    properties = (f" &{event.anchor}" if event.anchor else "") + (f" <{event.tag}>" if event.tag else "")
    if isinstance(event, CollectionStartEvent):
        mapping = isinstance(event, MappingStartEvent)
        head = "+MAP" if mapping else "+SEQ"
        flow = (" {}" if mapping else " []") if event.flow_style else ""
        return head + flow + properties
    assert isinstance(event, ScalarEvent)
    return f"=VAL{properties} {_STYLE[event.style]}{event.value.translate(_ESCAPES)}"


def same(a: Any, b: Any) -> bool:
    """Equal as data and of the same JSON types: 1, 1.0 and true are three values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def reason(parsed: Parsed) -> str:
    """Our reason for refusing, from the first of our messages in the order of REASONS."""
    found = [
        name
        for name, (_, pattern) in REASONS.items()
        if any(re.search(pattern, problem.message) for problem in parsed.problems)
    ]
    return found[0] if found else "unexplained: " + "; ".join(p.message for p in parsed.problems)


def classify(case: dict[str, Any], parser: type) -> Outcome:
    data = case["yaml"].encode()
    valid = not case["fail"]
    try:
        parsed = parse(Source(f"{case['id']}.yaml", data))
    except Exception as error:  # the one thing no input may do
        return Outcome(case["id"], valid, "exception", repr(error))
    if not isinstance(parsed, Parsed):
        return Outcome(case["id"], valid, "exception", f"returned {parsed!r}")
    read = parser_events(parser, data)
    if not valid:
        if read is None:
            return Outcome(case["id"], valid, "invalid, refused by the parser")
        if parsed.problems:
            return Outcome(case["id"], valid, f"invalid, refused: {reason(parsed)}")
        return Outcome(case["id"], valid, "invalid, accepted", repr(parsed.document))
    if parsed.problems:
        if read is None:
            return Outcome(case["id"], valid, "refused by the parser", parsed.problems[0].message)
        return Outcome(case["id"], valid, f"refused: {reason(parsed)}")
    if case["json"] is not None:
        expected = case["json"][0] if len(case["json"]) == 1 else ("documents", case["json"])
    elif case["id"] in WITHOUT_JSON:
        expected = WITHOUT_JSON[case["id"]]
    else:  # to be worked out from the suite's tree and added to WITHOUT_JSON
        return Outcome(case["id"], valid, "accepted, no expected data", repr(parsed.document))
    if same(parsed.document, expected):
        return Outcome(case["id"], valid, "accepted")
    detail = f"read {parsed.document!r}, expected {expected!r}"
    if read != case["tree"].splitlines():
        return Outcome(case["id"], valid, "misread by the parser", detail)
    return Outcome(case["id"], valid, "different", detail)


def table(outcomes: list[Outcome], parser: str) -> str:
    """How many cases end how: the summary printed with -rA."""
    counts = Counter(o.outcome for o in outcomes)
    valid = sum(o.valid for o in outcomes)

    def design(prefix: str) -> str:
        reasons = sorted(
            ((n, name[len(prefix) :]) for name, n in counts.items() if name.startswith(prefix)), reverse=True
        )
        total = sum(n for n, _ in reasons)
        return f"{total:5}  ({', '.join(f'{why} {n}' for n, why in reasons)})" if reasons else "    0"

    return "\n".join(
        [
            f"yaml-test-suite {SUITE['version']}: {len(outcomes)} cases, on {parser}",
            f"valid YAML: {valid}",
            f"  accepted, as the suite reads it  {counts['accepted']:5}",
            f"  refused by design                {design('refused: ')}",
            f"  refused by the parser            {counts['refused by the parser']:5}",
            f"  misread by the parser            {counts['misread by the parser']:5}",
            f"  accepted but different (bug)     {counts['different'] + counts['accepted, no expected data']:5}",
            f"invalid YAML: {len(outcomes) - valid}",
            f"  refused by the parser            {counts['invalid, refused by the parser']:5}",
            f"  refused by design                {design('invalid, refused: ')}",
            f"  accepted                         {counts['invalid, accepted']:5}",
            f"exception (bug)                    {counts['exception']:5}",
        ]
    )


@pytest.fixture(scope="module", params=PARSERS)
def run(request: pytest.FixtureRequest) -> Run:
    parser = request.param
    name = _LIBYAML if parser is getattr(yaml, "CSafeLoader", None) else _PURE
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "EVENT_PARSER", parser)
        return Run(name, parser, [classify(case, parser) for case in CASES])


def test_every_case_returns_parsed_data_or_problems(run: Run) -> None:
    assert run.ending("exception") == []


def test_no_case_the_parser_reads_right_ends_as_different_data(run: Run) -> None:
    assert run.ending("different", "accepted, no expected data") == []


def test_every_refusal_of_ours_has_a_documented_reason(run: Run) -> None:
    assert [o for o in run.outcomes if "unexplained" in o.outcome] == []


def test_the_parser_reads_valid_yaml_as_the_suite_does_but_where_reviewed(run: Run) -> None:
    # The data is compared only where we accept; this looks at the parser's events for every
    # valid case it reads, refused by design or not.
    misread = [
        case["id"]
        for case in CASES
        if not case["fail"]
        and (read := parser_events(run.parser, case["yaml"].encode())) is not None
        and read != case["tree"].splitlines()
    ]
    assert misread == reviewed(run.name)["misread by the parser"]


def test_outcomes_are_the_reviewed_ones(run: Run) -> None:
    found: dict[str, list[str]] = {}
    for o in sorted(run.outcomes, key=lambda o: o.case):
        if o.outcome != "accepted":
            found.setdefault(o.outcome, []).append(o.case)
    version = f" {yaml._yaml.get_version_string()}" if run.name == _LIBYAML else ""
    print(table(run.outcomes, run.name + version))
    assert found == reviewed(run.name)
