"""Reading scripts: one line at a time through the fast parser, the reference
parser deciding every line the fast one does not accept, then the
validator (declared names, the dialect's ops, attach points and flags).

A script's name and description (the vector keys of spec/vectors.md) are
header comments before the first statement, one line per line of text, so
that script -> vector -> script -> vector is lossless::

    # name: attach-before-first
    # description: BEFORE with no relative prepends
    # description: (a second line of the description)
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ..errors import BadInput
from ..model import Script
from . import grammar
from .fast import Reject, parse_line_fast
from .lexicon import NumberError, check_line_length, meta_text_problem, read_text, split_lines
from .validate import Validator

META_KEYS = ("name", "description")


def parse_line(text: str, path: str, lineno: int):
    check_line_length(text, path, lineno)
    try:
        return parse_line_fast(text, lineno)
    except (Reject, IndexError, NumberError):
        return grammar.parse_line(text, path, lineno)


def iter_script(lines: Iterable[str], path: str = "<script>") -> Iterator:
    """Yield ("dialect", name) once, then validated Steps, one line at a time
    (memory stays flat in file length).  ``lines`` are already split by the
    line rule (checker.syntax.lexicon).  Raises BadInput on the first error."""
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


def header_meta(lines: list[str], path: str = "<script>") -> dict[str, str]:
    """name and description from the header comments (see the module
    docstring).  A control character in one is bad input, as in a vector's
    (it could not come back from the vector)."""
    found: dict[str, list[str]] = {}
    for lineno, text in enumerate(lines, 1):
        code = text.split("#", 1)[0]
        if code.strip():
            break
        for key in META_KEYS:
            head = f"# {key}:"
            if text.startswith(head):
                value = text[len(head) + 1:] if text.startswith(head + " ") else text[len(head):]
                bad = meta_text_problem(value)
                if bad is not None:
                    col = len(text) - len(value) + next(i for i, c in enumerate(value)
                                                        if meta_text_problem(c) is not None) + 1
                    raise BadInput(f"the {key} must be text without control characters (it has {bad})",
                                   path, lineno, col, text)
                found.setdefault(key, []).append(value)
    return {k: "\n".join(v) for k, v in found.items()}


def read_script(path: str, text: str | None = None) -> Script:
    if text is None:
        text = read_text(path)
    lines = split_lines(text)
    items = list(iter_script(lines, path))
    dialect = items[0][1]
    return Script(tuple(items[1:]), dialect=dialect, path=path, **header_meta(lines, path))
