"""Stopping on SIGINT and SIGTERM: one exception for both, raised in the main
thread, that unwinds every ``finally`` (kernel objects, namespaces,
rcu_expedited) like Ctrl-C does.

:class:`Interrupted` subclasses KeyboardInterrupt on purpose: hypothesis
re-raises a KeyboardInterrupt at once instead of treating it as a test
failure (a plain Exception becomes a FlakyFailure there), and every
``except Exception`` lets it through.  An exception raised inside a gc
callback or a library's catch-all can still be lost, so the signal is also
*recorded*: long loops call :func:`check` (the fuzz campaign does per
request), which raises it again until the process has stopped.

Library code works without :func:`install` (the tests drive backends
directly); the CLI installs the handlers first thing (checker.cli.main) and
exits 128 + the signal's number.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable, Optional

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def status(self) -> int:
        return 128 + self.signum


_pending: list[int] = []
_callbacks: list[Callable[[], None]] = []
_watcher: list = []


def handler(signum, frame):
    """The Python-level handler :func:`install` sets for both signals."""
    _pending.append(signum)
    raise Interrupted(signum)


def _unraisable(hook):
    def quiet(args):
        # Raised where Python cannot propagate it (a gc callback, a __del__):
        # nothing to print, the signal is recorded and check() raises it.
        if isinstance(args.exc_value, Interrupted):
            return
        hook(args)
    quiet.mprog = True
    return quiet


def install() -> None:
    """SIGINT and SIGTERM raise Interrupted (main thread only)."""
    _pending.clear()
    for s in STOP_SIGNALS:
        signal.signal(s, handler)
    if not getattr(sys.unraisablehook, "mprog", False):
        sys.unraisablehook = _unraisable(sys.unraisablehook)


def pending() -> Optional[int]:
    """The first stop signal received since install(), or None."""
    return _pending[0] if _pending else None


def check() -> None:
    """Raise Interrupted again if a stop signal came (its first raise may
    have been swallowed)."""
    if _pending:
        raise Interrupted(_pending[0])


def on_signal(callback: Callable[[], None]) -> None:
    """Call ``callback()`` from a helper thread as soon as a signal arrives,
    even while the main thread is inside one long C call (a z3 check: the
    Python handler runs only once it returns).  z3's interrupt() is such a
    callback: the check returns unknown, then the handler raises."""
    _callbacks.append(callback)
    if _watcher or threading.current_thread() is not threading.main_thread():
        return
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(r, True)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)

    def watch():
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if not data:
                return
            if any(b in (int(signal.SIGINT), int(signal.SIGTERM)) for b in data):
                for cb in list(_callbacks):
                    try:
                        cb()
                    except Exception:      # pragma: no cover - best effort
                        pass

    t = threading.Thread(target=watch, name="mprog-signal-watch", daemon=True)
    t.start()
    _watcher.append(t)
