"""``mprog convert``: script <-> JSON vector, losslessly."""
from __future__ import annotations

from ..syntax.render import render_script
from ..syntax.sources import is_vector, load
from ..syntax.vectors import dumps_vector
from .common import STDOUT, check_output, write_atomically


def cmd_convert(args) -> int:
    if args.output:
        check_output(args.output)         # before reading: fail fast, change nothing
    script = load(args.input)
    to_json = not is_vector(args.input)
    if args.output and args.output != STDOUT:
        to_json = is_vector(args.output)
    text = dumps_vector(script) if to_json else render_script(script)
    write_atomically(args.output or STDOUT, text)
    return 0


def register(sub) -> None:
    c = sub.add_parser("convert", help="script <-> JSON vector (lossless)")
    c.add_argument("input", metavar="FILE")
    c.add_argument("-o", "--output", metavar="OUT",
                   help="output file, written atomically (a regular file only; '-': standard "
                        "output); its extension (.json or other) picks the format")
    c.set_defaults(func=cmd_convert)
