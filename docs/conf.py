"""Sphinx configuration: Markdown pages (MyST), the furo theme, the command reference from click
(sphinx-click) and the YAML reference from the published schema (_ext/schema_reference.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the command reference imports reconciler.cli from this checkout

from reconciler import __version__  # noqa: E402

project = "reconciler"
author = "the reconciler authors"
copyright = "the reconciler authors"
release = version = __version__

extensions = ["myst_parser", "sphinx_click", "schema_reference"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# Headings get GitHub's anchors, so a link written as [x](page.md#some-heading) works here and on GitHub.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

html_theme = "furo"
html_title = f"reconciler {release}"
html_static_path: list[str] = []
smartquotes_action = "qe"  # curly quotes, but "--flag" stays two hyphens, as the commands spell it
