"""``mprog convert``: script <-> JSON vector, losslessly."""
from __future__ import annotations

import sys

from ..errors import BadInput
from ..syntax.render import render_script
from ..syntax.sources import is_vector, load
from ..syntax.vectors import dumps_vector
from .common import write_atomically


def cmd_convert(args) -> int:
    try:
        script = load(args.input)
    except BadInput as e:
        print(e.render(), file=sys.stderr)
        return 2
    to_json = not is_vector(args.input)
    if args.output:
        to_json = is_vector(args.output)
    text = dumps_vector(script) if to_json else render_script(script)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def register(sub) -> None:
    c = sub.add_parser("convert", help="script <-> JSON vector (lossless)")
    c.add_argument("input", metavar="FILE")
    c.add_argument("-o", "--output", metavar="OUT",
                   help="output file; its extension (.json or other) picks the format")
    c.set_defaults(func=cmd_convert)
