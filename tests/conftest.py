"""Settings for the whole suite."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest
from proc_kit import SERVERS_USED

LOG_TAIL_LINES = 60

# Hypothesis imports libcst only to write the patch for a failing example, and libcst warns
# (DeprecationWarning) on import; with the suite's warnings-as-errors that would turn every
# property-test failure into an INTERNALERROR that hides it. Import it once, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import hypothesis.extra._patching  # noqa: F401


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, show the end of the log of every server process the test used."""
    report = yield
    if report.failed:
        for instance in item.stash.get(SERVERS_USED, []):
            tail = "\n".join(instance.log().splitlines()[-LOG_TAIL_LINES:])
            report.sections.append((f"server log ({instance.root})", tail))
    return report
