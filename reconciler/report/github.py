"""`validate --format github`: each problem as a GitHub Actions workflow command, which GitHub shows
as an annotation on the file and line in the pull request's diff and on the run's summary.

    ::error file=account/users.yaml,line=12,col=7,title=reconciler validate::users[2].email: ...
    ::warning file=account/users.yaml,line=30,col=18,title=reconciler validate::users[4].expires: ...

A command is one line: GitHub's escaping keeps a value in its place. The
message (the data, after `::`) escapes `%`, CR and LF; a property's value
(after `name=`) also `:` and `,`, which would end it. A problem is an
`::error`, or a `::warning` when it is one (a date already past).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from reconciler.core.characters import scrub
from reconciler.core.diagnostics import Diagnostic

TITLE = "reconciler validate"

_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def annotation_lines(diagnostics: Iterable[Diagnostic], files: Mapping[str, str]) -> Iterator[str]:
    """One `::error` (or `::warning`, by its severity) command per problem. `files` names each
    diagnostic's file as the annotation must: relative to the repository's root, with `/` (a file not
    in it keeps the name it has)."""
    for diagnostic in diagnostics:
        properties = [("file", files.get(diagnostic.file, diagnostic.file))]
        if diagnostic.line:
            properties.append(("line", str(diagnostic.line)))
            if diagnostic.column:
                properties.append(("col", str(diagnostic.column)))
        properties.append(("title", TITLE))
        said = ",".join(f"{name}={value.translate(_PROPERTY)}" for name, value in properties)
        yield f"::{diagnostic.severity} {said}::{escape_data(_message(diagnostic))}"


def escape_data(text: str) -> str:
    """`text` as a workflow command's data: one line, then nothing that reorders or hides text (U+FFFD
    in its place, as the text report shows it)."""
    return scrub(text.translate(_DATA))


def _message(diagnostic: Diagnostic) -> str:
    return f"{diagnostic.path}: {diagnostic.message}" if diagnostic.path else diagnostic.message
