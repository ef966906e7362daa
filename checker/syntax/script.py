"""Reading scripts: one line at a time through the fast parser, the reference
parser deciding every line the fast one does not accept, then the
validator (declared names, the dialect's ops, attach points and flags).
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ..errors import BadInput
from ..model import Script
from . import grammar
from .fast import Reject, parse_line_fast
from .validate import Validator


def parse_line(text: str, path: str, lineno: int):
    try:
        return parse_line_fast(text, lineno)
    except (Reject, IndexError):
        return grammar.parse_line(text, path, lineno)


def iter_script(lines: Iterable[str], path: str = "<script>") -> Iterator:
    """Yield ("dialect", name) once, then validated Steps, one line at a time
    (memory stays flat in file length).  Raises BadInput on the first error."""
    v = Validator(path)
    dialect_seen = False
    yielded_dialect = False
    for lineno, text in enumerate(lines, 1):
        item = parse_line(text, path, lineno)
        if item is None:
            continue
        if isinstance(item, tuple):
            if dialect_seen or yielded_dialect:
                col = text.find("dialect") + 1
                raise BadInput("'dialect' must be the first statement of a script", path, lineno, col, text)
            dialect_seen = True
            v.set_dialect(item[1], lineno, text)
            yielded_dialect = True
            yield ("dialect", item[1])
            continue
        if not yielded_dialect:
            yielded_dialect = True
            yield ("dialect", "linux")
        yield v.check(item, text)
    if not yielded_dialect:
        yield ("dialect", "linux")


def read_script(path: str, text: str | None = None) -> Script:
    if text is None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    items = list(iter_script(text.splitlines(), path))
    dialect = items[0][1]
    return Script(tuple(items[1:]), dialect=dialect, path=path)
