"""Hostile input never crashes validate: 10,000 inputs and more, each an answer or a clear refusal.

Three kinds of input, drawn by hypothesis: raw bytes; YAML-ish text built
from the tokens YAML gives meaning to (anchors, aliases, tags, merge keys,
flow collections, directives, block scalars, odd indentation); and the
example account with random bytes changed, removed or inserted. Each goes
through the whole of validate (parse, schema, domain rules, model). The only
outcomes allowed are a valid account or InvalidDesiredState with at least one
diagnostic that names the file; anything else, or taking longer than
`TIMEOUT_SECONDS`, fails. A few of the nastiest also run through the real
command line, which must answer with exit 0 or 1 and never a traceback.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, WriteYaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.loading import load_sources
from reconciler.loading.files import Source

TIMEOUT_SECONDS = 5
#: Examples per strategy; three strategies, so the suite tries over 10,000 inputs in every run.
EXAMPLES_EACH = 3_500
FUZZ = settings(
    max_examples=EXAMPLES_EACH,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = (
    "version: 1\n", "contracts:\n", "users:\n", "  - ", "- ", ": ", ":", "\n", "  ", "\t", "#", "---\n",
    "...\n", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "&a ", "*a", "&b ", "*b", "<<: ", "<<: *a\n", "!!str ",
    "!!int ", "!!binary ", "!!python/object:os.system ", "!local ", "? ", "[", "]", "{", "}", ",", "|\n",
    ">-\n", "'", '"', "\\", "\\x00", "number: ", "manager: ", "email: ", "serials:\n", "seats: ",
    "access:\n", "serial: ", "download: ", "teams:\n", "name: ", "members: ", "yes", "no", "on", "NO",
    "0755", "1e3", ".inf", "~", "null",
    "\"399-12345678\"", "alice@acme.example", "a@b.example", "\u00e9", "\u202e", "\ufeff", "\x85", "\x00",
    "\r\n", "\r", "x" * 50, "999999999999999999999999", "-1", "0", "true", "false", "[*a, *a, *a]",
)  # fmt: skip

EXAMPLE = (EXAMPLES / "acme" / "users.yaml").read_bytes()


@st.composite
def yamlish(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=60))
    return "".join(pieces).encode("utf-8", errors="surrogatepass")


@st.composite
def mutated_example(draw: st.DrawFn) -> bytes:
    data = bytearray(EXAMPLE)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("flip", "delete", "insert", "token")))
        if edit == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = draw(st.sampled_from(TOKENS)).encode("utf-8", errors="surrogatepass")
    return bytes(data)


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"validate took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def validate_bytes(data: bytes) -> None:
    """Validate `data` as one file; fail on anything but an answer or a clear refusal."""
    with time_limit(TIMEOUT_SECONDS):
        loaded = load_sources([Source("fuzz.yaml", data)])
        if loaded.state is None:
            assert loaded.problems, "a refusal must say why"
            assert all(d.file == "fuzz.yaml" and d.message for d in loaded.problems)


@FUZZ
@given(data=st.binary(max_size=2_000))
def test_raw_bytes(data: bytes) -> None:
    validate_bytes(data)


@FUZZ
@given(data=yamlish())
def test_yaml_ish_text(data: bytes) -> None:
    validate_bytes(data)


@FUZZ
@given(data=mutated_example())
def test_the_example_with_bytes_changed(data: bytes) -> None:
    validate_bytes(data)


NASTY = {
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n".encode()
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "python-tag": b"version: 1\nusers: !!python/object/apply:os.system ['echo pwned']\n",
    "deep": b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
    "nul-bytes": b"version: 1\x00\nusers: []\n",
    "latin-1": "version: 1\nusers:\n  - {email: a@b.example, first_name: Ren\xe9, last_name: X}\n".encode(
        "latin-1"
    ),
    "bom-and-crlf": b"\xef\xbb\xbfversion: 1\r\nusers: []\r\n",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_the_command_line_answers_hostile_files_in_one_line_each(name: str, write_yaml: WriteYaml) -> None:
    path = write_yaml(NASTY[name], f"{name}.yaml")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 1:
        assert result.stdout.startswith(str(path))
