"""CEL, compiled against a rule's declared variables and evaluated over one record's values.

cel-expr-python (the `[policy]` extra) is Google's binding of cel-cpp: its checker knows the type of
every variable (vocabulary.py declares each by its dotted name, `user.email`, as a variable of its
own), so a misspelt field, an int compared with a string, or a rule that gives no bool is an error at
`validate`, at its line and column in the expression. A compiled rule evaluates in microseconds.
Evaluation errors (a missing value, a division by zero) are values, not exceptions: `Rule.holds`
returns them as messages, and the plan places them on the record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.core.model import Policy
from reconciler.policy.vocabulary import VARIABLES, Type, Variable, variable

#: What installs the CEL library.
INSTALL = "pip install 'licence-reconciler[policy]'"
MISSING_EXTRA = f"policy rules need the policy extra: {INSTALL}"

#: One error of cel-cpp's: `ERROR: <input>:LINE:COLUMN: message`.
_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_STATUS = re.compile(r"\s*\[[A-Z_]+\]$")
_OPERATOR = re.compile(r"'_(\S+?)_'")
_UNDECLARED = re.compile(r"undeclared reference to '([^']*)'")
_NO_VALUE = re.compile(r'No value with name "([^"]*)" found in Activation')
#: A CEL string literal (to leave out when looking for the names a rule reads) and a dotted name.
_STRING = re.compile(
    "[rRbB]*(" + '"""[\\s\\S]*?"""' + "|'''[\\s\\S]*?'''" + r"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Problem:
    """Why a rule's expression does not compile, at a line and column of the expression (from 1)."""

    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Rule:
    """A policy rule, compiled: `holds` evaluates it over one record's values.

    `reads` are the variables the expression names (found in its text, string literals left out: never
    fewer than it reads), so that the engine works out only those values."""

    policy: Policy
    reads: frozenset[str]
    _expression: Any

    def holds(self, values: Mapping[str, object]) -> bool | str:
        """Whether the rule holds for the record `values` describe, or why it could not be evaluated."""
        result = self._expression.eval(data=values)
        value = result.value()
        if isinstance(value, bool):
            return value
        return _evaluation_message(str(value), self.policy.applies_to)


def available() -> bool:
    """Whether the CEL library is installed."""
    try:
        import cel_expr_python  # noqa: F401
    except ImportError:
        return False
    return True


def compile_rule(policy: Policy) -> Rule | Problem:
    """`policy`'s expression compiled against the variables of what it applies to, or why it cannot be."""
    try:
        expression = _environment(policy.applies_to).compile(policy.when)
    except RuntimeError as error:  # cel-cpp's INVALID_ARGUMENT, with every problem it found
        return _problem(str(error), policy.applies_to, policy.when)
    from cel_expr_python import cel

    if expression.return_type() != cel.Type.BOOL:
        return Problem(
            f"the condition gives {_type_name(expression.return_type())}, not a bool (true or false)"
        )
    return Rule(policy, _reads(policy.when, policy.applies_to), expression)


def compile_rules(policies: Sequence[Policy]) -> list[Rule]:
    """Every rule of `policies`, compiled; ValueError for one that does not (loading has told the user)."""
    rules = []
    for policy in policies:
        rule = compile_rule(policy)
        if isinstance(rule, Problem):
            raise ValueError(f"policy {policy.id}: {rule.message}")
        rules.append(rule)
    return rules


@cache
def _environment(applies_to: str) -> Any:
    from cel_expr_python import cel

    types = {
        Type.STRING: cel.Type.STRING,
        Type.INT: cel.Type.INT,
        Type.BOOL: cel.Type.BOOL,
        Type.STRINGS: cel.Type.List(cel.Type.STRING),
    }
    return cel.NewEnv(variables={v.name: types[v.type] for v in VARIABLES[applies_to]})


def _problem(text: str, applies_to: str, when: str) -> Problem:
    """cel-cpp's first error, in our words: an undeclared name lists the names there are."""
    found = _ERROR.search(text)
    if found is None:
        return Problem(text.strip().splitlines()[0] if text.strip() else "the condition does not compile")
    line, column, message = int(found.group(1)), int(found.group(2)), found.group(3).strip()
    message = _STATUS.sub("", message).removesuffix(" (in container '')")
    message = _OPERATOR.sub(r"'\1'", message)
    undeclared = _UNDECLARED.search(message)
    if undeclared is not None and re.search(rf"(?<!\w){re.escape(undeclared.group(1))}\s*\(", when):
        message = f"unknown function {undeclared.group(1)!r}"
    elif undeclared is not None:
        names = ", ".join(v.name for v in VARIABLES[applies_to])
        message = (
            f"unknown variable {undeclared.group(1)!r}: a rule over {_records(applies_to)} may read {names}"
        )
    elif message.startswith("Syntax error: "):
        message = "syntax error: " + message.removeprefix("Syntax error: ").split(" expecting {")[0]
        message = message.replace("mismatched input '<EOF>'", "the condition ends where more was expected")
    return Problem(message, line, column)


def _evaluation_message(text: str, applies_to: str) -> str:
    text = text.removeprefix("UNKNOWN: ").removeprefix("INVALID_ARGUMENT: ").removeprefix("NOT_FOUND: ")
    missing = _NO_VALUE.search(text)
    if missing is None:
        return text
    name = missing.group(1)
    found: Variable | None = variable(applies_to, name)
    meaning = f" ({found.meaning})" if found is not None else ""
    return f'{name} has no value for this record{meaning}; test for it first, as `contract.ends != "" && …`'


def _reads(when: str, applies_to: str) -> frozenset[str]:
    text = _STRING.sub('""', when)
    names = {re.sub(r"\s+", "", found) for found in _NAME.findall(text)}
    declared = {v.name for v in VARIABLES[applies_to]}
    # `user.email.endsWith` names user.email: each name and every dotted prefix of it.
    reads: set[str] = set()
    for name in names:
        parts = name.split(".")
        reads.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(reads & declared)


def _records(applies_to: str) -> str:
    return {"grant": "grants", "user": "users", "team_member": "team members", "serial": "serials"}.get(
        applies_to, "the plan"
    )


def _type_name(cel_type: Any) -> str:
    name = str(cel_type.name()).lower()
    return {"int": "an int", "string": "a string", "double": "a double"}.get(name, name)
