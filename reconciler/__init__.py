"""reconciler: licence accounts as code.

Desired state in YAML, validated, diffed against a store, planned, applied.
"""

#: The one place the version is written: hatch reads it into the distribution's metadata.
__version__ = "0.1.0"
#: The name on PyPI (`pip install licence-reconciler`); the package and the command are `reconciler`.
DISTRIBUTION = "licence-reconciler"

__all__ = ["DISTRIBUTION", "__version__"]
