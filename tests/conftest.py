"""Settings for the whole suite."""

from __future__ import annotations

import contextlib
import warnings

# Hypothesis imports libcst only to write the patch for a failing example, and libcst warns
# (DeprecationWarning) on import; with the suite's warnings-as-errors that would turn every
# property-test failure into an INTERNALERROR that hides it. Import it once, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import hypothesis.extra._patching  # noqa: F401
