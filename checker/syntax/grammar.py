"""The reference parser: grammar/mprog.lark through lark (LALR, contextual lexer).

checker.syntax.script parses the common case with the faster hand-written
line parser (checker.syntax.fast) and falls back to this one for every line
it does not accept, so lark decides every syntax error and its message.
tests/test_grammar.py holds the two parsers to the same output.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from importlib import resources
from pathlib import Path

import lark

from .. import dialects
from ..errors import BadInput
from ..model import Expect, Raw, Step
from ..flags import canonical
from .lexicon import NumberError, entries_fields, merge_options, parse_int, target_key
from .validate import did_you_mean

# Friendly names for terminals in "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "a number", "RESULT": "'ok' or an errno name",
    "FLAG_NAME": "a flag name", "_NL": "end of line", "$END": "end of input",
    "INGRESS": "'ingress'", "EGRESS": "'egress'", "BEFORE": "'before'", "AFTER": "'after'",
    "ID_KW": "'id'", "LINK_KW": "'link'", "DEV_ADD": "'dev_add'", "DEV_DEL": "'dev_del'",
    "CLSACT_ADD": "'clsact_add'", "CLSACT_DEL": "'clsact_del'",
    "CGROUP_POINT": "a cgroup attach point", "MODE": "'none', 'override' or 'multi'",
    "FIRST_KW": "'first'", "LAST_KW": "'last'", "PRIMARY": "'primary'", "PEER": "'peer'",
    "NETKIT_MODE": "'l2' or 'l3'",
}


def grammar_text(name: str = "mprog.lark") -> str:
    """A grammar shipped inside the wheel (checker/grammar/), or the
    repository's grammar/ when running from a source checkout."""
    try:
        res = resources.files("checker") / "grammar" / name
        if res.is_file():
            return res.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    return (Path(__file__).resolve().parents[2] / "grammar" / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def parser() -> lark.Lark:
    return lark.Lark(grammar_text(), parser="lalr", lexer="contextual", start=["start", "line"],
                     propagate_positions=True, maybe_placeholders=False)


def _expected(names) -> str:
    # (lark names anonymous patterns __ANON_<n>: nothing a reader can type)
    out = sorted({_TERMINAL_NAMES.get(n, f"'{n.lower()}'" if n.isupper() else n) for n in names
                  if not n.startswith("__")})
    # Anonymous keyword terminals are named after their text by lark.
    return ", ".join(out)


def parse_line(text: str, path: str, lineno: int):
    """Parse one line.  Returns a Step, ("dialect", name), or None for a blank
    or comment-only line; raises BadInput for a syntax error."""
    stripped = text.split("#", 1)[0].strip()
    if not stripped:
        return None
    text = text.rstrip("\r\n")
    try:
        tree = parser().parse(text, start="line")
    except lark.UnexpectedInput as e:
        raise _bad_input(e, text, path, lineno) from None
    try:
        return _ToStep(lineno).transform(tree)
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, _BadNumber):
            raise BadInput(str(e.orig_exc), path, lineno, e.orig_exc.column, text) from None
        raise


def shorten(word: str, limit: int = 40) -> str:
    """A token for a message: long ones are cut in the middle."""
    return word if len(word) <= limit else f"{word[:limit // 2]}...{word[-8:]}"


def _bad_input(e: lark.UnexpectedInput, text: str, path: str, lineno: int) -> BadInput:
    col = getattr(e, "column", 1) or 1
    src = text.rstrip("\r\n")
    if isinstance(e, lark.UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            what = "unexpected end of line"
            col = len(src.split("#", 1)[0].rstrip()) + 1
        else:
            what = f"unexpected {shorten(str(tok))!r}"
        msg = f"{what}; expected {_expected(e.expected)}"
        if tok.type != "$END" and tok.start_pos == len(src) - len(src.lstrip()):
            # The first word of a line is the request: suggest the nearest one.
            ops = dialects.all_ops()
            msg = f"unknown request {shorten(str(tok))!r}{did_you_mean(str(tok), ops + ('dialect',))}; " \
                  f"expected one of: {', '.join(ops)}"
    elif isinstance(e, lark.UnexpectedCharacters):
        ch = src[col - 1] if 0 < col <= len(src) else "?"
        msg = f"unexpected character {ch!r}"
        if e.allowed:
            msg += f"; expected {_expected(e.allowed)}"
    else:  # pragma: no cover - UnexpectedEOF is not produced by LALR
        msg = str(e)
    return BadInput(msg, path, lineno, col, src)


class _BadNumber(NumberError):
    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


def _int(tok) -> int:
    try:
        return parse_int(str(tok))
    except NumberError as e:
        raise _BadNumber(str(e), tok.column) from None


def _obj(tree):
    return str(tree.children[0]) if tree.data == "name" else Raw(_int(tree.children[0]))


class _ToStep(lark.Transformer):
    """Parse tree of one line -> Step (the same Step the fast parser builds)."""

    def __init__(self, lineno: int):
        super().__init__()
        self.lineno = lineno

    def line(self, c):
        return c[0]

    def header(self, c):
        return ("dialect", str(c[0]))

    def statement(self, c):
        step = c[0]
        if len(c) > 1:
            step = replace(step, expect=c[1])
        return step

    # requests -------------------------------------------------------------
    def load(self, c):
        return Step("load", prog=str(c[0]), type=str(c[1]) if len(c) > 1 and c[1].type == "NAME" else None,
                    expected_attach_type=str(c[-1]) if len(c) > 1 and c[-1].type != "NAME" else None,
                    line=self.lineno)

    def dev_op(self, c):
        return Step(str(c[0]), dev=str(c[1]), line=self.lineno)

    def cgroup_add(self, c):
        return Step("cgroup_add", cgroup=str(c[0]), parent=str(c[1]) if len(c) > 1 else None,
                    line=self.lineno)

    def cgroup_del(self, c):
        return Step("cgroup_del", cgroup=str(c[0]), line=self.lineno)
    def netkit_add(self, c):
        return Step("netkit_add", dev=str(c[0]), peer=str(c[1]),
                    mode=str(c[2]) if len(c) > 2 else None, line=self.lineno)

    def attach(self, c):
        return _with_options(Step("attach", prog=_obj(c[0]), **c[1], line=self.lineno), c[2:])

    def detach(self, c):
        if isinstance(c[0], lark.Tree):
            return _with_options(Step("detach", prog=_obj(c[0]), **c[1], line=self.lineno), c[2:])
        return _with_options(Step("detach", **c[0], line=self.lineno), c[1:])

    def query(self, c):
        return _with_options(Step("query", **c[0], line=self.lineno), c[1:])

    def link_create(self, c):
        return _with_options(Step("link_create", link=str(c[0]), prog=_obj(c[1]), **c[2],
                                  line=self.lineno), c[3:])

    def link_update(self, c):
        return _with_options(Step("link_update", link=_obj(c[0]), prog=_obj(c[1]), line=self.lineno), c[2:])

    def link_detach(self, c):
        return Step("link_detach", link=_obj(c[0]), line=self.lineno)

    def close(self, c):
        return Step("close", prog=_obj(c[0]), line=self.lineno)

    def hook(self, c):
        """The target (in the Step field its attach point implies) and the point."""
        return {target_key(str(c[1])): str(c[0]), "dir": str(c[1])}

    # options: (flags to add, {field: value}) --------------------------------
    def position(self, c):
        flags = [str(c[0]).upper()]
        fields = {}
        if len(c) > 1:
            tflags, rel = c[1]
            flags += tflags
            fields["relative"] = rel
        return ("opt", flags, fields)

    def pin(self, c):
        return ("opt", [str(c[0]).upper()], {})

    def target(self, c):
        flags = [("ID" if str(t) == "id" else "LINK") for t in c[:-1]]
        return (flags, _obj(c[-1]))

    def replace(self, c):
        return ("opt", ["REPLACE"], {"replace": _obj(c[0])})

    def rev(self, c):
        return ("opt", [], {"expected_revision": _int(c[0])})

    def set_flags(self, c):
        return ("opt", list(c), {})

    def flag(self, c):
        t = c[0]
        return _int(t) if t.type == "INT" else str(t)

    def set_relative(self, c):
        return ("opt", [], {"relative": _obj(c[0])})

    def set_replace(self, c):
        return ("opt", [], {"replace": _obj(c[0])})

    def set_revision(self, c):
        return ("opt", [], {"expected_revision": _int(c[0])})

    def qcount(self, c):
        return ("opt", [], {"count": _int(c[0])})

    def set_query_flags(self, c):
        return ("opt", [], {"query_flags": _int(c[0])})

    def set_attach_flags(self, c):
        return ("opt", [], {"attach_flags": _int(c[0])})

    def effective(self, c):
        return ("opt", [], {"query_flags": 1})

    def with_flags_array(self, c):
        return ("opt", [], {"prog_attach_flags": True})

    def old(self, c):
        return ("opt", ["REPLACE"], {"old_prog": _obj(c[0])})

    def set_old(self, c):
        return ("opt", [], {"old_prog": _obj(c[0])})

    # expectation ------------------------------------------------------------
    def expectation(self, c):
        fields = {"errno": str(c[0])}
        for part in c[1:]:
            fields.update(part)
        return Expect(**fields)

    def ecount(self, c):
        return {"count": _int(c[0])}

    def erev(self, c):
        return {"revision": _int(c[0])}

    def emode(self, c):
        return {"mode": str(c[0])}

    def entries(self, c):
        return entries_fields(c)

    def entry(self, c):
        stored = c[-1] if isinstance(c[-1], tuple) else ()
        names = [x for x in c if not isinstance(x, tuple)]
        return (str(names[0]), str(names[1]) if len(names) > 1 else None, stored)

    def stored(self, c):
        return canonical([str(t) for t in c])


def _with_options(step: Step, opts) -> Step:
    flags, fields = [], {}
    for _, f, kv in opts:
        flags += f
        fields.update(kv)
    return merge_options(step, flags, fields)
