"""Opt-in expedited RCU for kernel runs.

tcx mutations wait in synchronize_rcu() (~115 changes/s); writing 1 to
/sys/kernel/rcu_expedited makes them ~150x faster.  It is a machine-wide
setting, so it is only changed on request (``mprog fuzz --expedited-rcu``,
the kernel tests) and the previous value is restored on every exit path:
normal exit, exceptions, Ctrl-C (KeyboardInterrupt) and SIGTERM (turned into
an exception while the context is active).
"""
from __future__ import annotations

import contextlib
import signal
import threading

PATH = "/sys/kernel/rcu_expedited"


class Terminated(Exception):
    """SIGTERM arrived while rcu_expedited was changed."""


@contextlib.contextmanager
def expedited_rcu(enabled: bool = True):
    """Set rcu_expedited=1 for the duration; yields the previous value (or
    None when nothing was changed: disabled, or the file is not writable)."""
    if not enabled:
        yield None
        return
    try:
        with open(PATH) as f:
            prev = f.read().strip()
        with open(PATH, "w") as f:
            f.write("1")
    except OSError:
        yield None
        return
    old_term = None
    if threading.current_thread() is threading.main_thread():
        def on_term(signum, frame):
            raise Terminated("SIGTERM")
        old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        yield prev
    finally:
        with open(PATH, "w") as f:
            f.write(prev)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
