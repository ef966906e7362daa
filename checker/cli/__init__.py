"""Command line: ``mprog run | convert | diff | fuzz | verify | solve | plan | matrix``.

One module per sub-command, each with ``register(sub)``; only this package
prints (library code never does), and nothing outside it imports it.

The one error path (exit statuses: checker.cli.common).  Sub-commands raise
BadInput for every user-facing failure (bad file, bad option, unwritable
output); :func:`main` prints it as ``file:line:col: message`` with the line
and a caret and exits 2, and does the same for an unavailable backend.
SIGINT and SIGTERM unwind every clean-up and exit 128 + the signal number
with one line; a closed standard output exits 141 quietly.  Anything else is
a bug of ours: the only traceback, under a one-line header, exit 70.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback

from .. import signals
from ..errors import BackendUnavailable, BadInput
from . import convert, dialects, diff, fuzz, matrix, plan, run, solve, vectors, verify
from .common import EXIT_BAD, EXIT_BUG, EXIT_PIPE

SUBCOMMANDS = (run, convert, diff, fuzz, verify, solve, plan, dialects, matrix, vectors)
BUG_HEADER = ("mprog: internal error: this is a bug in mprog-checker, please report it with this "
              "file and the command line")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mprog", description=(
        "Model checker, reference executor and differential fuzzer for Linux "
        "bpf_mprog (tcx) multi-program attach semantics."),
        epilog="Exit status: 0 ok / sat, 1 an expectation failed / divergence / unsat / no plan, "
               "2 bad input, bad option, unwritable output or unavailable backend, 3 unknown "
               "(solver timeout), 70 a bug of mprog-checker, 130/143 stopped by SIGINT/SIGTERM, "
               "141 standard output closed.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in SUBCOMMANDS:
        mod.register(sub)
    return p


def _uses_kernel(args) -> bool:
    return (args.command in ("diff", "fuzz", "matrix") or getattr(args, "backend", None) == "kernel"
            or bool(getattr(args, "live", None))
            or getattr(args, "vectors_command", None) == "generate" and args.kernel != "no")


def _quiet_stdout() -> None:
    """After EPIPE: point fd 1 at /dev/null so the interpreter's final flush
    of the remaining buffer cannot fail (and print) again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _dispatch(args) -> int:
    if _uses_kernel(args):
        from ..kernel.rcu import repair_stale
        note = repair_stale()
        if note:
            print(note, file=sys.stderr)
    status = args.func(args)
    sys.stdout.flush()               # a write error surfaces here, not at exit
    return status


def main(argv=None) -> int:
    signals.install()
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except BadInput as e:
        print(e.render(), file=sys.stderr)
        return EXIT_BAD
    except BackendUnavailable as e:
        print(f"mprog: the kernel backend is unavailable: {e}", file=sys.stderr)
        return EXIT_BAD
    except signals.Interrupted as e:
        print(f"mprog: stopped by {e.name}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("mprog: stopped by SIGINT", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except OSError as e:
        if e.errno == errno.EPIPE:
            _quiet_stdout()
            return EXIT_PIPE
        if e.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
            # Standard output (or a file) could not be written: the disk, not us.
            _quiet_stdout()
            print(f"mprog: cannot write the output: {e.strerror}", file=sys.stderr)
            return EXIT_BAD
        return _bug()
    except SystemExit:
        raise                        # argparse: usage message, exit 2
    except BaseException:
        return _bug()


def _bug() -> int:
    print(BUG_HEADER, file=sys.stderr)
    traceback.print_exc(file=sys.stderr)
    return EXIT_BUG
