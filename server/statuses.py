"""Status and role vocabularies shared by the database, the routes and the executor."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Statuses of a run (API.md section 3)."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    WAITING = "WAITING"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """COMPLETED, FAILED and CANCELLED never change again."""
        return self in TERMINAL_RUN_STATUSES


TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class NodeStatus(StrEnum):
    """Statuses of a node within a run."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


class GateStatus(StrEnum):
    """Statuses of a human gate."""

    WAITING = "WAITING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class Role(StrEnum):
    """Project key roles; each includes every role before it."""

    VIEWER = "viewer"
    APPROVER = "approver"
    OPERATOR = "operator"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the ladder, viewer = 0."""
        return list(Role).index(self)

    def includes(self, needed: Role) -> bool:
        """True when this role may do what `needed` may."""
        return self.rank >= needed.rank
