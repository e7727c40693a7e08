"""E-mail addresses (R7): one judge, email-validator, for every address reconciler reads.

model.EMAIL (the published schema's pattern) answers at once for plain
addresses and email-validator is asked about the rest; the property test
holds the two to the same verdicts, and every address taken is one a mail
parser reads without a defect.
"""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from click.testing import CliRunner
from conftest import ROOT, WriteYaml
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.core.model import EMAIL, MAX_LOCAL_PART, email_problem, is_email


def validator_takes(address: str) -> bool:
    """email-validator's verdict on an address as reconciler reads addresses: written in ASCII. (An
    internationalised domain, `a@b.é`, email-validator takes by its IDNA form; reconciler takes no
    internationalised address, see model.email_problem.)"""
    if not address.isascii():
        return False
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return len(address.rpartition("@")[0]) <= MAX_LOCAL_PART


def test_the_schema_publishes_the_pattern_the_model_uses() -> None:
    schema = json.loads((ROOT / "schemas" / "desired-state.schema.json").read_text())
    assert schema["$defs"]["email"]["pattern"] == EMAIL.pattern


@pytest.mark.parametrize(
    ("address", "why"),
    [
        (".a@x.example", "an email address cannot start with a period"),
        ("a..b@x.example", "an email address cannot have two periods in a row"),
        ("octocat.@x.example", "an email address cannot have a period immediately before the @-sign"),
        (
            "a@x.test",
            "the part after the @-sign is a special-use or reserved name that cannot be used with email",
        ),
        ("a@b", "the part after the @-sign is not valid. It should have a period"),
        ("a" * 65 + "@x.example", "the part before the @-sign is 65 characters; at most 64 are allowed"),
        ("bob@acme.example\n", "the part after the @-sign contains invalid characters: U+000A"),
    ],
)
def test_what_is_not_an_address_says_why(address: str, why: str) -> None:
    assert email_problem(address) == why


def test_an_internationalised_domain_is_not_an_address_reconciler_takes() -> None:
    assert validate_email("a@acme.é", check_deliverability=False, allow_smtputf8=False)
    assert not is_email("a@acme.é")


@pytest.mark.parametrize("address", ["x|boss@acme.example", "o'brien@acme.example", "a.b+c@sub.acme.example"])
def test_plain_addresses_with_marks_are_addresses(address: str) -> None:
    assert is_email(address)


ATOMS = st.text(st.sampled_from("ab.|/*#+-_'@!~`{}\"\\ é09"), min_size=0, max_size=8)
DOMAINS = st.sampled_from(
    ["acme.example", "x.test", "a", "b.c", "-a.example", "a-.example", "1.2", "xn--a.example"]
)


@settings(max_examples=1_500, deadline=None)
@given(local=ATOMS, domain=st.one_of(DOMAINS, ATOMS))
def test_the_fast_path_and_email_validator_always_agree(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert is_email(address) == validator_takes(address), email_problem(address)
    if is_email(address):
        parsed = email.message_from_string(f"To: {address}\n\n", policy=email.policy.strict)
        assert not parsed["To"].defects and parsed["To"].addresses[0].addr_spec == address


def test_an_actor_and_a_reseller_are_judged_by_the_same_rule(write_yaml: WriteYaml, tmp_path: object) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["init", "--reseller", "a..b@x.example", "--store", "sqlite:///unused.db"])
    assert refused.exit_code == 1
    assert refused.stderr == "Error: not an e-mail address: a..b@x.example\n"
    account = write_yaml("version: 1\n")
    refused = runner.invoke(cli, ["plan", str(account), "--actor", "octocat.@x.example"])
    assert refused.exit_code == 1
    assert refused.stderr == "Error: the actor 'octocat.@x.example' is not an e-mail address\n"
