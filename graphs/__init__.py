"""Graphyard's engine: workflow definitions, validation, and the compiler to LangGraph."""

from graphs.errors import HardError, NodeFailed, RetryableError
from graphs.tools import report_progress

__all__ = ["HardError", "NodeFailed", "RetryableError", "report_progress"]
