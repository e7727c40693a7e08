"""Where a policy's verdicts are placed: the line scan agrees with libyaml's composition wherever it
finds a record, finds every record of a file written as fmt writes it, and leaves the rest to the
composition."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.plan import PolicyOutcome, Verdict
from reconciler.loading.files import Source
from reconciler.loading.places import _scan, find_places, place_verdicts

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

HAND_WRITTEN = """\
version: 1
contracts:
  - manager: alice@acme.example   # the key that names it is not first
    number: "110001234567"
    serials:
      - {number: "399-1", product: AutoCAD, seats: 2}
users:
  - first_name: Alice
    email: alice@acme.example
    last_name: Moreau
    access:
      - serial: "399-1"
  - email: 'bob@acme.example'
    first_name: Bob
    last_name: "Okafor"
    access: [{serial: "399-1"}]
teams:
  - name: "Design  Studio"
    members: [alice@acme.example]
policies:
  - {id: flow-rule, applies_to: plan, when: "true", effect: warn}
"""


@pytest.mark.parametrize("path", sorted((EXAMPLES / "acme").glob("*.yaml")), ids=lambda p: p.name)
def test_the_scan_finds_every_record_of_a_file_as_fmt_writes_it_where_libyaml_does(path: Path) -> None:
    source = Source(str(path), path.read_bytes())
    composed = find_places([source])
    scanned: dict[tuple[str, ...], tuple[str, int, int]] = {}
    _scan(source, set(composed), scanned)
    assert composed and scanned == composed


def test_the_scan_never_misplaces_a_record_written_otherwise() -> None:
    source = Source("hand.yaml", HAND_WRITTEN.encode())
    composed = find_places([source])
    scanned: dict[tuple[str, ...], tuple[str, int, int]] = {}
    _scan(source, set(composed), scanned)
    # What the scan finds is where libyaml has it; what it does not find, the composition places.
    assert scanned == {where: composed[where] for where in scanned}
    assert set(composed) - set(scanned) == {
        ("user", "alice@acme.example"),
        ("grant", "alice@acme.example", "399-1"),
        ("grant", "bob@acme.example", "399-1"),
        ("member", "design  studio", "alice@acme.example"),
        ("serial", "399-1"),
        ("policy", "flow-rule"),
    }


def test_a_verdict_the_scan_cannot_place_is_placed_by_the_composition(tmp_path: Path) -> None:
    (tmp_path / "hand.yaml").write_text(HAND_WRITTEN)
    verdicts = (
        Verdict("r", "warn", "m", "user", {"user": "alice@acme.example"}, "user alice@acme.example"),
        Verdict("r", "warn", "m", "user", {"user": "bob@acme.example"}, "user bob@acme.example"),
    )
    placed = place_verdicts([str(tmp_path)], PolicyOutcome(verdicts))
    name = str(tmp_path / "hand.yaml")
    assert [(v.file, v.line, v.column) for v in placed.verdicts] == [(name, 8, 5), (name, 13, 5)]


def test_a_member_is_found_in_the_members_list_not_in_the_text_above_it() -> None:
    text = """\
version: 1
teams:
  - name: Studio
    description: >-
      Architects. Former:
      - xavier@contractors.example
    members:
      - carol@acme.example
      - "xavier@contractors.example"
    access:
      - serial: "399-1"
"""
    source = Source("teams.yaml", text.encode())
    composed = find_places([source])
    scanned: dict[tuple[str, ...], tuple[str, int, int]] = {}
    _scan(source, set(composed), scanned)
    assert scanned[("member", "studio", "xavier@contractors.example")] == ("teams.yaml", 9, 9)
    assert scanned == composed
