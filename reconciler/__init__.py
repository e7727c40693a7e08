"""reconciler: licence accounts as code.

Desired state in YAML, validated, diffed against a store, planned, applied.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
