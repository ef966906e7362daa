"""What the sub-commands share: exit statuses, option types, atomic output files."""
from __future__ import annotations

import argparse
import math
import os
import stat
import sys
import tempfile

from ..errors import BadInput

# Exit statuses of every sub-command (README "CLI reference").
EXIT_OK = EXIT_SAT = 0
EXIT_FAIL = EXIT_UNSAT = 1        # an expectation failed / a divergence / unsat / no plan
EXIT_BAD = 2                      # bad input, bad option, unwritable output, unavailable backend
EXIT_UNKNOWN = 3                  # a solver could not decide (timeout)
EXIT_BUG = 70                     # EX_SOFTWARE: a bug of mprog-checker (the only traceback)
EXIT_PIPE = 141                   # stdout closed by the reader (128 + SIGPIPE, as a shell reports it)
# Stopped by a signal: 128 + the signal's number (SIGINT 130, SIGTERM 143).

STDOUT = "-"                      # an output path that means standard output


# --------------------------------------------------------------------------
# Option types (argparse reports a bad value as "argument --x: ..." and exits 2)

def timeout_seconds(text: str) -> float:
    """``--timeout S`` of verify, solve and plan: one time budget in seconds
    for all solver checks of the command (0: no limit); what it leaves
    undecided is reported unknown (exit 3)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0 (0: no limit), "
                                         f"not {text!r}")
    return v


def positive_seconds(text: str) -> float:
    """A duration that must be finite and > 0 (``fuzz --time``)."""
    v = timeout_seconds(text)
    if v == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def count(text: str) -> int:
    """A non-negative integer option (decimal)."""
    try:
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {v}")
    return v


def stop_z3_on_signal() -> None:
    """SIGINT / SIGTERM during a z3 check stop the command within a second.
    A check runs in C for minutes, where Python's handler cannot run: the
    signal watcher (checker.signals.on_signal) interrupts z3, the check
    returns unknown, and the handler raises.  z3's own Ctrl-C handling is
    turned off: it would cancel only the current check and let the run go on."""
    import z3

    from .. import signals
    z3.set_param("ctrl_c", False)
    signals.on_signal(lambda: z3.main_ctx().interrupt())


# --------------------------------------------------------------------------
# Output files

def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_output(path: str) -> None:
    """Refuse an output path that is not (or cannot become) a regular file
    in an existing directory: BadInput (``OUT: message``, exit 2).  Called
    before any work, so a long run does not end on an unwritable output."""
    if path == STDOUT:
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise BadInput(f"cannot write here: {e.strerror}", path, 0, 0) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise BadInput(f"not a regular file ({_kind(st.st_mode)}): output goes only to a regular "
                       f"file path (or '-' for standard output where a file is written)", path, 0, 0)
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise BadInput(f"cannot write here: directory {d} does not exist", path, 0, 0)
    if not os.access(d, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write here: directory {d} is not writable", path, 0, 0)


def check_output_dir(path: str) -> None:
    """An output directory (``--out DIR``): an existing directory we may
    write in, or a path whose parent exists (it is created)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise BadInput(f"cannot create the output directory: {parent} does not exist", path, 0, 0) from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise BadInput(f"cannot create the output directory: {parent} is not writable", path, 0, 0) from None
        return
    except OSError as e:
        raise BadInput(f"cannot use as output directory: {e.strerror}", path, 0, 0) from None
    if not stat.S_ISDIR(st.st_mode):
        raise BadInput(f"not a directory ({_kind(st.st_mode)})", path, 0, 0)
    if not os.access(path, os.W_OK | os.X_OK):
        raise BadInput("output directory is not writable", path, 0, 0)


def make_output_dir(path: str) -> None:
    check_output_dir(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the output directory: {e.strerror}", path, 0, 0) from None


def _umask() -> int:
    m = os.umask(0o022)
    os.umask(m)
    return m


def write_atomically(path: str, text: str) -> None:
    """Write all or nothing, to a regular file only (``-``: standard output).
    The text goes to a temporary file in the same directory, is synced and
    renamed over ``path``: a failure (unwritable place, full disk, a signal)
    leaves the old file as it was.  A new file gets mode 0666 & ~umask (0644
    under the usual umask 022); a replaced file keeps its mode.  Raises
    BadInput (exit 2) for a path that is not a regular file (device nodes,
    FIFOs, symbolic links, directories: never replaced) or cannot be written."""
    if path == STDOUT:
        sys.stdout.write(text)
        return
    check_output(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as e:
        raise BadInput(f"cannot write: {e.strerror}", path, 0, 0) from None
    d = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".mprog-", suffix=".tmp")
    except OSError as e:
        raise BadInput(f"cannot write: {e.strerror}", path, 0, 0) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise BadInput(f"cannot write: {e.strerror}", path, 0, 0) from None
    except BaseException:
        os.unlink(tmp)
        raise


def write_files(files: list[tuple[str, str]]) -> list[str]:
    """Several outputs that belong together (a script and its vector): every
    text is built before this is called; each file is written atomically."""
    for path, _ in files:
        check_output(path)
    for path, text in files:
        write_atomically(path, text)
    return [p for p, _ in files]
