"""Exception kinds.  Kernel outcomes are *values* (checker.model.Outcome), never
exceptions; the classes here are for bad input, unavailable backends and bugs.
(Named errors.py, not errno.py, so that the stdlib module is not shadowed.)
"""
from __future__ import annotations

import errno as _errno

# Errno names as the kernel spells them.  Python's errno.errorcode keeps one
# name per number, and for 95 it keeps libc's ENOTSUP; the kernel returns
# -EOPNOTSUPP (include/uapi/asm-generic/errno.h), and so do its messages.
_KERNEL_NAMES = {_errno.EOPNOTSUPP: "EOPNOTSUPP"}
ERRNO_NAMES = frozenset(_errno.errorcode.values()) | frozenset(_KERNEL_NAMES.values())


def errno_name(code: int) -> str:
    """The kernel's name of errno ``code`` ("E<code>" if it has none)."""
    return _KERNEL_NAMES.get(code) or _errno.errorcode.get(code, f"E{code}")


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
        src, col = shown_line(self.source_line.rstrip("\r\n"), self.column)
        return f"{head}\n    {src}\n    {' ' * (col - 1)}^"


SHOWN = 100     # characters of a source line shown around the column


def shown_line(src: str, column: int) -> tuple[str, int]:
    """The source line as printed under a message, and the caret's column in
    it: one character per character (tabs and control characters become one
    printable character each, so the caret stays under the offending one and
    nothing reaches the terminal as a control sequence), and a long line cut
    to a window around the column."""
    column = max(column, 1)
    if len(src) > SHOWN:
        start = max(0, min(column - 1 - SHOWN // 2, len(src) - SHOWN))
        src = ("..." if start else "") + src[start:start + SHOWN] + ("..." if start + SHOWN < len(src) else "")
        column = column - start + (3 if start else 0)
    src = "".join(c if c.isprintable() else ("\N{REPLACEMENT CHARACTER}" if c != "\t" else " ")
                  for c in src)
    return src, column


class BackendUnavailable(Exception):
    """The backend cannot run here (no bpf(2), no namespaces, not root...).
    The CLI prints the reason and exits 2; tests skip with the reason."""


class SpecCrash(AssertionError):
    """An impossible state was reached: a bug in our own code, never a kernel outcome."""
