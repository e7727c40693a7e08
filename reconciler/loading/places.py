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
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    """Whether the scan found the record itself (the nearest place, not one that holds it)."""
    return _candidates(verdict)[0] in places


#: The lines the scan reads: a top-level key, and a list item that starts with a record's key, with its
#: indentation; and inside a record, the items of its lists (a grant, a member: a key or an e-mail).
_LINE = re.compile(
    r"^(?:(?P<top>[a-z_]+):|(?P<indent> *)- (?P<key>email|name|number|id): *(?P<value>[^#\n]*?))"
    r"[ \t]*(?:#[^\n]*)?\r?$",
    re.MULTILINE,
)
_ITEM = re.compile(
    r"^(?P<indent> *)- (?:(?P<key>serial|email): *(?P<value>[^#\n]*?)"
    r"|(?P<item>\"[^\"\n]*\"|'[^'\n]*'|[^\s#:'\"{\[][^#\n:]*?))"
    r"[ \t]*(?:#[^\n]*)?\r?$",
    re.MULTILINE,
)


def _scan(source: Source, wanted: set[Where], places: dict[Where, Place]) -> None:
    """Where the records of `wanted` are in `source`, as the block style `fmt` and `export` write
    them (each item's key first): read line by line, without building the document, and inside only
    the users and teams a verdict names, which is what makes placing a few verdicts in an account of
    100,000 users take a fraction of a second. A record written otherwise is left for `find_places`."""
    text = source.data.decode("utf-8", "replace")
    owners = {where[1] for where in wanted if where[0] in ("user", "grant", "team", "member")}
    counted = [1, 0]  # the line at the offset: lines are counted only for what is placed

    def place(where: Where, offset: int, indent: int) -> None:
        if where in wanted and where not in places:
            if offset < counted[1]:  # never so in a file as fmt writes it; counted again all the same
                counted[:] = [1, 0]
            counted[0] += text.count("\n", counted[1], offset)
            counted[1] = offset
            places[where] = (source.name, counted[0], indent + 3)

    section, depth = "", -1
    for found in _LINE.finditer(text):
        if found["top"] is not None:
            section, depth = found["top"], -1
            continue
        indent, key = len(found["indent"]), found["key"]
        depth = indent if depth < 0 else depth
        if (
            section in ("users", "teams")
            and indent <= depth
            and key == ("email" if section == "users" else "name")
        ):
            value = _unquoted(found["value"])
            owner = value.lower() if section == "users" else value.casefold()
            if owner in owners:
                place((section[:-1], owner), found.start(), indent)
                _scan_record(text, found.end(), indent, section, owner, place)
        elif section == "contracts" and key == "number":
            if indent <= depth:
                depth = indent
            else:
                place(("serial", _unquoted(found["value"])), found.start(), indent)
        elif section == "policies" and key == "id" and indent <= depth:
            place(("policy", _unquoted(found["value"])), found.start(), indent)


def _scan_record(
    text: str, start: int, depth: int, section: str, owner: str, place: Callable[[Where, int, int], None]
) -> None:
    """The grants of a user (its `access:` list), or the members of a team (its `members:`), from
    `start` to where the next record or section begins."""
    end = re.compile(rf"^(?: {{0,{depth}}}- |[^ \n#])", re.MULTILINE).search(text, start)
    stop = end.start() if end else len(text)
    listed = re.compile(rf"^( *){'access' if section == 'users' else 'members'}:[ \t]*(?:#.*)?\r?$", re.M)
    key_line = listed.search(text, start, stop)
    if key_line is None:
        return
    # The list ends at the first line as far in as its key that is not one of its items.
    after = re.compile(rf"^ {{0,{len(key_line[1])}}}(?!- )[^ \n#]", re.MULTILINE).search(
        text, key_line.end(), stop
    )
    for found in _ITEM.finditer(text, key_line.end(), after.start() if after else stop):
        key, indent = found["key"], len(found["indent"])
        if section == "users" and key == "serial":
            place(("grant", owner, _unquoted(found["value"])), found.start(), indent)
        elif section == "teams" and key in ("email", None):
            member = _unquoted(found["value"] if key else found["item"]).lower()
            place(("member", owner, member), found.start(), indent)


def _unquoted(text: str) -> str:
    """A scalar as read: the scan's match has no blanks around it."""
    first = text[:1]
    if first == "'" and len(text) > 1 and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if first == '"' and len(text) > 1 and text[-1] == '"':
        if "\\" not in text:
            return text[1:-1]
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
