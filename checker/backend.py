"""The backend protocol: what the runner needs from the executor and the live kernel."""
from __future__ import annotations

from typing import ContextManager, Protocol

from .model import Outcome, QueryResult, Step


class Backend(Protocol):
    """Applies steps one at a time.  ``apply`` never raises for a kernel outcome:
    every errno comes back as ``Outcome.errno``."""

    name: str
    dialect: str

    def apply(self, step: Step) -> Outcome: ...

    def session(self) -> ContextManager:
        """``with backend.session():`` around many apply() calls (the kernel
        backend stays inside its namespace; the model needs nothing)."""
        ...

    def hooks(self) -> dict[tuple[str, str], QueryResult]:
        """State of every hook of every present device, keyed (dev, dir)."""
        ...

    def close(self) -> None:
        """Release everything this backend created (idempotent)."""
        ...


def open_backend(kind: str, dialect: str) -> Backend:
    """The ``kind`` backend ("model" or "kernel") for ``dialect``.  Raises
    BackendUnavailable when the live kernel cannot run here, or does not
    implement the dialect (never a run under another dialect's flag table)."""
    if kind == "model":
        from .exec import Executor
        return Executor(dialect)
    from .kernel import kernel_backend
    return kernel_backend(dialect)
