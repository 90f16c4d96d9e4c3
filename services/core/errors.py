"""Domain exceptions. Pages turn these into messages a person can act on."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base for errors a user can cause or fix; the message is shown as is."""


class ValidationError(WorkbenchError):
    """Input that cannot be accepted; nothing was written."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(WorkbenchError):
    """The object asked for does not exist (or was deleted meanwhile)."""


class StaleWriteError(WorkbenchError):
    """Someone else changed the row after it was read; the write was refused."""


class UnavailableError(WorkbenchError):
    """The workbench cannot open its store (held by another process, or not writable); the
    message says which and what to do. Nothing was read or written."""
