"""Where the records a policy rule holds for are written: each verdict put on its file, line and
column, after the plan is made.

The plan names records by their keys (an e-mail, a serial, a team); this finds each in the files, by
one composition of each file (libyaml's, in C), only when a plan has verdicts to place. Access that
only teams give is placed on the (first) team's line, as that is where it is written; a rule over the
plan, on the rule's own.
"""

from __future__ import annotations

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
    places = find_places(sources)
    return replace(outcome, verdicts=tuple(_placed(verdict, places) for verdict in outcome.verdicts))


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
