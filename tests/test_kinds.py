"""The kind registry: every action kind is one row of kinds.TABLE and one statement, and nothing else
in the package spells a kind or an event out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reconciler.core.kinds import RANK, TABLE, Event, Kind, Record
from reconciler.core.plan import Action
from reconciler.core.wording import EVENT_NAMES, describe, target_label
from reconciler.store.statements import WRITES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"
#: Where kinds and events are named: the registry itself.
REGISTRY = PACKAGE / "core" / "kinds.py"
#: Where no kind or event is spelled out: every module of the package but the registry, and the memory
#: store (a test double, but a store that applies each action by its kind's record and effect).
OTHER_MODULES = [
    *sorted(p for p in PACKAGE.rglob("*.py") if p != REGISTRY),
    ROOT / "tests" / "memory_store.py",
]


def test_every_kind_has_one_row_and_one_statement() -> None:
    assert list(TABLE) == sorted(Kind, key=RANK.__getitem__)
    assert set(TABLE) == set(Kind) == set(WRITES)
    assert sorted(RANK.values()) == list(range(len(Kind)))


def test_every_event_a_kind_causes_has_a_name_and_every_event_is_caused() -> None:
    caused = {notice.event for info in TABLE.values() for notice in info.mail}
    assert caused == set(Event) == set(EVENT_NAMES)


def test_a_kind_is_named_after_its_record() -> None:
    """`serial.create` is about a serial; `team.member_add` about a team member, `team.access_grant`
    about a team's access, `team.create` about the team."""
    for kind in Kind:
        family, verb = kind.value.split(".")
        assert kind.record.value in (family, f"{family}_{verb.split('_')[0]}")
    assert {kind.record for kind in Kind} == set(Record)
    assert Kind.TEAM_MEMBER_ADD.record is Record.TEAM_MEMBER
    assert Kind.TEAM_ACCESS_REVOKE.record is Record.TEAM_ACCESS
    assert Kind.TEAM_REMOVE.record is Record.TEAM
    assert Kind.SERIAL_ASSIGN_COORDINATOR.record is Record.SERIAL
    assert Kind.USER_CHANGE_EMAIL.record is Record.USER


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant in `path` but docstrings, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize(
    "path", OTHER_MODULES, ids=lambda p: str(p.relative_to(PACKAGE if p.is_relative_to(PACKAGE) else ROOT))
)
def test_no_module_but_the_registry_spells_a_kind_or_an_event(path: Path) -> None:
    names = {kind.value for kind in Kind} | {event.value for event in Event}
    spelled = [f"line {line}: {text!r}" for line, text in _literals(path) if text in names]
    assert not spelled, f"use kinds.Kind / kinds.Event instead of strings: {spelled}"


@pytest.mark.parametrize("kind", list(Kind))
def test_every_phrase_and_label_reads_with_the_keys_of_its_record(kind: Kind) -> None:
    keys = {
        "contract": "110001234567",
        "serial": "399-12345678",
        "coordinator": "b@x.example",
        "user": "u@x.example",
        "team": "Design Studio",
    }
    target = {
        key: keys[key]
        for key in {*kind.record.keys, "contract"}
        if kind.record is not Record.USER or key == "user"
    }
    action = Action(kind, target, {"coordinator": None}, {"coordinator": "b@x.example"})
    assert "{" not in describe(action) and target_label(action)
