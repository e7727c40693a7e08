"""A Sphinx extension: the YAML reference's tables, generated from the published schema at build time.

    ```{schema-fields} contracts[]
    ```

puts the table of the fields of the object at that place (`.` for the top
level); `{schema-value-types}` the table of the named kinds of value. Both
draw the account files' schema unless the option `:schema: workspace` names
the workspace file's (reconciler.yaml). The tables come from
schema_tables.py. A build in which some object of either schema has no
table warns, so with -W a new object cannot go undocumented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import schema_tables
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _shown(env: BuildEnvironment) -> dict[str, str]:
    """The places given a table so far, as `schema place` (`workspace accounts[]`), each with the
    page that holds it."""
    if not hasattr(env, "schema_fields_shown"):
        env.schema_fields_shown = {}  # type: ignore[attr-defined]
    shown: dict[str, str] = env.schema_fields_shown  # type: ignore[attr-defined]
    return shown


def _schema_name(argument: str | None) -> str:
    name = directives.unchanged_required(argument) if argument is not None else ""
    if name not in schema_tables.SCHEMAS:
        raise ValueError(f"{name!r} is none of {', '.join(schema_tables.SCHEMAS)}")
    return name


class _Markdown(SphinxDirective):
    option_spec: ClassVar[dict[str, Callable[[str | None], Any]]] = {"schema": _schema_name}

    @property
    def schema_name(self) -> str:
        return str(self.options.get("schema", "desired-state"))

    def load(self) -> schema_tables.Schema:
        return schema_tables.load_schema(schema_tables.SCHEMAS[self.schema_name])

    def markdown(self, text: str) -> list[nodes.Node]:
        path = schema_tables.SCHEMAS[self.schema_name]
        self.env.note_dependency(str(path))
        container = nodes.container()
        lines = StringList(text.splitlines(), source=str(path))
        self.state.nested_parse(lines, 0, container)
        return list(container.children)


class SchemaFields(_Markdown):
    """The fields of the object at one place of the document."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        schema = self.load()
        place = self.arguments[0]
        known = schema_tables.places(schema)
        if place not in known:
            raise self.error(
                f"the {self.schema_name} schema has no object at {place!r}; it has {', '.join(known)}"
            )
        _shown(self.env)[f"{self.schema_name} {place}"] = self.env.docname
        return self.markdown(schema_tables.fields_table(schema, place))


class SchemaValueTypes(_Markdown):
    """The named kinds of value the fields' tables name."""

    def run(self) -> list[nodes.Node]:
        return self.markdown(schema_tables.value_types_table(self.load()))


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    shown = _shown(env)
    for place in [place for place, page in shown.items() if page == docname]:
        del shown[place]


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    _shown(env).update(_shown(other))


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    for name, file in schema_tables.SCHEMAS.items():
        schema = schema_tables.load_schema(file)
        option = "" if name == "desired-state" else f" with :schema: {name}"
        for place in schema_tables.places(schema):
            if f"{name} {place}" not in _shown(env):
                logger.warning(
                    "the YAML reference has no table of %s in %s: add {schema-fields} %s%s",
                    place,
                    file.name,
                    place,
                    option,
                )
        for path in schema_tables.missing_descriptions(schema):
            logger.warning("%s has no description in %s", path, file.name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("schema-fields", SchemaFields)
    app.add_directive("schema-value-types", SchemaValueTypes)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
