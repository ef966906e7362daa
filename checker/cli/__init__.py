"""Command line: ``mprog run | convert | diff | fuzz | verify | solve | plan | dialects``.

One module per sub-command, each with ``register(sub)``; only this package
prints (library code never does), and nothing outside it imports it.
Exit statuses: checker.cli.common.
"""
from __future__ import annotations

import argparse
import sys

from . import convert, dialects, diff, fuzz, plan, run, solve, verify

SUBCOMMANDS = (run, convert, diff, fuzz, verify, solve, plan, dialects)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mprog", description=(
        "Model checker, reference executor and differential fuzzer for Linux "
        "bpf_mprog (tcx) multi-program attach semantics."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in SUBCOMMANDS:
        mod.register(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("mprog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
