"""Where the records a policy rule holds for are written: each verdict put on its file, line and
column, after the plan is made.

The plan names records by their keys (an e-mail, a serial, a team); this finds each in the files, only
when a plan has verdicts to place: by a scan of each file's lines as `fmt` writes them, and for any
record written otherwise, by one composition of each file (libyaml's, in C). Access that
only teams give is placed on the (first) team's line, as that is where it is written; a rule over the
plan, on the rule's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import yaml

from reconciler.core.plan import PolicyOutcome, Verdict
from reconciler.loading.events import EVENT_PARSER
from reconciler.loading.files import Source, find_sources

#: A record as the files are searched for it: ("user", email), ("grant", email, serial),
#: ("team", name), ("member", team, email), ("serial", number), ("policy", id).
Where = tuple[str, ...]
Place = tuple[str, int, int]


def place_verdicts(paths: Iterable[str], outcome: PolicyOutcome) -> PolicyOutcome:
    """`outcome` with each verdict's file, line and column, as the files at `paths` have them."""
    if not outcome.verdicts:
        return outcome
    sources, _ = find_sources(paths)
    wanted = {where for verdict in outcome.verdicts for where in _candidates(verdict)}
    places: dict[Where, Place] = {}
    for source in sources:
        _scan(source, wanted, places)
    if any(not _found(verdict, places) for verdict in outcome.verdicts):
        places = {**find_places(sources), **places}  # written in a way the scan does not read
    return replace(outcome, verdicts=tuple(_placed(verdict, places) for verdict in outcome.verdicts))


def _found(verdict: Verdict, places: Mapping[Where, Place]) -> bool:
    return any(where in places for where in _candidates(verdict))


#: The lines the scan reads: a top-level key, and a list item that starts with a record's key (or a
#: plain e-mail, a team member), each with its indentation.
_LINE = re.compile(
    r"^(?:(?P<top>[a-z_]+):"
    r"|(?P<indent> *)- (?:(?P<key>[A-Za-z_]+): *(?P<value>[^#\n]*?)"
    r"|(?P<item>[^\s#:'\"{\[][^#\n:]*?)))"
    r"[ \t]*(?:#[^\n]*)?\r?$",
    re.MULTILINE,
)


def _scan(source: Source, wanted: set[Where], places: dict[Where, Place]) -> None:
    """Where the records of `wanted` are in `source`, as the block style `fmt` and `export` write
    them (each item's key first): read line by line, without building the document, which is what
    makes placing a few verdicts in an account of 100,000 users take a fraction of a second. A
    record written otherwise is left for `find_places`."""
    text = source.data.decode("utf-8", "replace")
    section, owner, depth = "", "", -1
    line, last = 1, 0
    for found in _LINE.finditer(text):
        line += text.count("\n", last, found.start())
        last = found.start()
        if found["top"] is not None:
            section, owner, depth = found["top"], "", -1
            continue
        indent, key = len(found["indent"]), found["key"]
        value = _unquoted(found["value"] if key is not None else found["item"])
        if depth < 0:  # the section's first item: its records are at this indentation
            depth = indent
        record = indent <= depth  # a record's first line; deeper, a line of one of its lists
        where: Where | None = None
        if section == "users":
            if record:  # a user whose e-mail is not first is the composition's to place, and theirs
                owner = value.lower() if key == "email" else ""
                where = ("user", owner) if owner else None
            elif key == "serial" and owner:
                where = ("grant", owner, value)
        elif section == "teams":
            if record:
                owner = value.casefold() if key == "name" else ""
                where = ("team", owner) if owner else None
            elif owner and key in ("email", None):
                where = ("member", owner, value.lower())
        elif section == "contracts" and key == "number" and not record:
            where = ("serial", value)
        elif section == "policies" and key == "id" and record:
            where = ("policy", value)
        if where is not None and where in wanted and where not in places:
            places[where] = (source.name, line, indent + 3)


def _unquoted(text: str) -> str:
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) > 1 and text[0] == text[-1] == '"':
        try:
            return str(json.loads(text))
        except ValueError:
            return text
    return text


def _placed(verdict: Verdict, places: Mapping[Where, Place]) -> Verdict:
    for where in _candidates(verdict):
        found = places.get(where)
        if found is not None:
            return replace(verdict, file=found[0], line=found[1], column=found[2])
    return verdict


def _candidates(verdict: Verdict) -> list[Where]:
    subject = verdict.subject
    if verdict.applies_to == "plan":
        return [("policy", verdict.rule)]
    if verdict.applies_to == "grant":
        if "team" in subject:
            return [("team", subject["team"].casefold())]
        return [("grant", subject["user"], subject["serial"]), ("user", subject["user"])]
    if verdict.applies_to == "team_member":
        return [("member", subject["team"].casefold(), subject["user"]), ("team", subject["team"].casefold())]
    if verdict.applies_to == "serial":
        return [("serial", subject["serial"])]
    return [("user", subject["user"])]


def find_places(sources: Sequence[Source]) -> dict[Where, Place]:
    """Where each record of `sources` is written: the first place, where a record is in two files."""
    places: dict[Where, Place] = {}
    for source in sources:
        try:
            root = yaml.compose(source.data, Loader=EVENT_PARSER)
        except yaml.YAMLError:
            continue  # loading has said what is wrong with it
        if isinstance(root, yaml.MappingNode):
            _walk(root, source.name, places)
    return places


def _walk(root: yaml.MappingNode, name: str, places: dict[Where, Place]) -> None:
    def note(where: Where, node: yaml.Node) -> None:
        places.setdefault(where, (name, node.start_mark.line + 1, node.start_mark.column + 1))

    top = _mapping(root)
    for node in _items(top.get("policies")):
        rule = _scalar(_mapping(node).get("id"))
        if rule:
            note(("policy", rule), node)
    for node in _items(top.get("users")):
        fields = _mapping(node)
        email = _scalar(fields.get("email")).lower()
        note(("user", email), node)
        for entry in _items(fields.get("access")):
            note(("grant", email, _scalar(_mapping(entry).get("serial"))), entry)
    for node in _items(top.get("teams")):
        fields = _mapping(node)
        team = _scalar(fields.get("name")).casefold()
        note(("team", team), node)
        for member in _items(fields.get("members")):
            email = (
                _scalar(member)
                if isinstance(member, yaml.ScalarNode)
                else _scalar(_mapping(member).get("email"))
            )
            note(("member", team, email.lower()), member)
    for contract in _items(top.get("contracts")):
        for serial in _items(_mapping(contract).get("serials")):
            note(("serial", _scalar(_mapping(serial).get("number"))), serial)


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""
