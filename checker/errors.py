"""Exception kinds.  Kernel outcomes are *values* (checker.model.Outcome), never
exceptions; the classes here are for bad input, unavailable backends and bugs.
(Named errors.py, not errno.py, so that the stdlib module is not shadowed.)
"""
from __future__ import annotations


class BadInput(Exception):
    """A malformed script or vector: reported as ``file:line:col: message``,
    followed by the offending line and a caret; the CLI exits 2."""

    def __init__(self, message: str, path: str = "<input>", line: int = 0,
                 column: int = 0, source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line

    def render(self) -> str:
        if not self.line:            # about the file as a whole (unreadable, not UTF-8)
            return f"{self.path}: {self.message}"
        head = f"{self.path}:{self.line}:{self.column}: {self.message}"
        if self.source_line is None:
            return head
        caret = " " * max(self.column - 1, 0) + "^"
        return f"{head}\n    {self.source_line.rstrip()}\n    {caret}"


class BackendUnavailable(Exception):
    """The backend cannot run here (no bpf(2), no namespaces, not root...).
    The CLI prints the reason and exits 2; tests skip with the reason."""


class SpecCrash(AssertionError):
    """An impossible state was reached: a bug in our own code, never a kernel outcome."""
