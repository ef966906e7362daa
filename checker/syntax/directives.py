"""Directive files (grammar/directives.lark): the input of ``mprog solve`` and
``mprog plan --want``.

A directive file declares programs, one per line, with the seed's dependency
directives (FIRST, LAST, BEFORE x, AFTER x; rfc-first-last.md §0), and
optionally applications (``app NAME: prog ...``) for the multi-tenant check.
The grammar file is the syntax reference and documents the semantics; this
module parses it with lark (only this module and checker.syntax.grammar import
lark) and checks names.  Every error is a checker.errors.BadInput with
``file:line:col`` and, for unknown names and directives, a did-you-mean.

No z3 here: checker.smt.directives encodes a DirectiveSet.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import lark

from ..errors import BadInput
from .grammar import grammar_text, shorten
from .lexicon import check_line_length, read_text, split_lines
from .validate import did_you_mean

KINDS = ("FIRST", "LAST", "BEFORE", "AFTER")
KEYWORDS = KINDS + ("app",)

_TERMINAL_NAMES = {
    "NAME": "a name", "_NL": "end of line", "$END": "end of input", "APP": "'app'",
    "COLON": "':'", "COMMA": "','", "FIRST": "FIRST", "LAST": "LAST", "BEFORE": "BEFORE",
    "AFTER": "AFTER",
}


@dataclass(frozen=True, slots=True)
class Directive:
    """One directive of one program; ``target`` is set for BEFORE/AFTER.
    ``line``/``column`` point at the directive keyword."""
    prog: str
    kind: str
    target: str | None = None
    line: int = 0
    column: int = 0

    @property
    def text(self) -> str:
        """``lb: AFTER fw``: how cores and reports name the directive."""
        return f"{self.prog}: {self.kind}" + (f" {self.target}" if self.target else "")

    def holds(self, order) -> bool:
        """Does a complete run order (a sequence of all program names) satisfy it?"""
        i = list(order).index(self.prog)
        if self.kind == "FIRST":
            return i == 0
        if self.kind == "LAST":
            return i == len(order) - 1
        j = list(order).index(self.target)
        return i < j if self.kind == "BEFORE" else i > j


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class App:
    """An application: attaches ``progs`` in this order (multi-tenant check)."""
    name: str
    progs: tuple[str, ...]
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class DirectiveSet:
    """A parsed directive file.  ``programs`` in declaration order (the
    tie-breaking order of every output); ``directives`` in file order."""
    programs: tuple[Program, ...]
    directives: tuple[Directive, ...]
    apps: tuple[App, ...] = ()
    path: str = "<directives>"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.programs)

    def of(self, prog: str) -> tuple[Directive, ...]:
        return tuple(d for d in self.directives if d.prog == prog)

    def holds(self, order) -> bool:
        return all(d.holds(order) for d in self.directives)

    def where(self, d: Directive) -> str:
        return f"{self.path}:{d.line}:{d.column}"


# --------------------------------------------------------------------------
# Parsing

@functools.lru_cache(maxsize=1)
def parser() -> lark.Lark:
    return lark.Lark(grammar_text("directives.lark"), parser="lalr", lexer="contextual", propagate_positions=True,
                     maybe_placeholders=False)


def read_directives(path: str, text: str | None = None, known: tuple = (),
                    max_programs: int | None = None, max_apps: int | None = None) -> DirectiveSet:
    """Read and check a directive file; raises BadInput.  ``known``: names
    that may be referenced without a declaration (``mprog plan``: the
    programs already on the hook).  ``max_programs`` / ``max_apps``: more
    declarations than that are bad input at the first one too many."""
    if text is None:
        text = read_text(path)
    return parse_directives(text, path, known, max_programs, max_apps)


def parse_directives(text: str, path: str = "<directives>", known: tuple = (),
                     max_programs: int | None = None, max_apps: int | None = None) -> DirectiveSet:
    lines = split_lines(text)
    for i, line in enumerate(lines, 1):
        check_line_length(line, path, i)
    try:
        tree = parser().parse(text if text.endswith("\n") or not text else text + "\n")
    except lark.UnexpectedInput as e:
        raise _bad_input(e, lines, path) from None
    ds = _Checker(path, lines, known).build(tree)
    for items, limit, what in ((ds.programs, max_programs, "programs"), (ds.apps, max_apps, "applications")):
        if limit is not None and len(items) > limit:
            x = items[limit]
            why = ("a hook holds at most" if what == "programs" else
                   "the multi-tenant check runs every arrival order of at most")
            raise BadInput(f"{len(items)} {what} declared: {why} {limit}", path, x.line, x.column,
                           _src(lines, x.line))
    return ds


def _src(lines, line: int) -> str | None:
    return lines[line - 1] if 0 < line <= len(lines) else None


def _expected(names) -> str:
    return ", ".join(sorted({_TERMINAL_NAMES.get(n, repr(n.lower())) for n in names
                             if not n.startswith("__")}))


_WORD_CHAR = re.compile(r"[A-Za-z0-9_.\-]")


def _glued_word(src, col: int):
    """(word, column) when the token at ``col`` continues a directive keyword
    without a space (the lexer split one word in two), else None."""
    if not src or col < 2 or not _WORD_CHAR.match(src[col - 2]):
        return None
    start = col - 1
    while start > 0 and _WORD_CHAR.match(src[start - 1]):
        start -= 1
    end = col - 1
    while end < len(src) and _WORD_CHAR.match(src[end]):
        end += 1
    word = src[start:end]
    return (word, start + 1) if any(word.startswith(k) for k in KINDS) else None


def _bad_input(e: lark.UnexpectedInput, lines, path: str) -> BadInput:
    line, col = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
    src = _src(lines, line)
    if isinstance(e, lark.UnexpectedToken):
        tok, expected = e.token, set(e.expected)
        if tok.type in ("$END", "_NL"):
            code = (src or "").split("#", 1)[0].rstrip()
            col = len(code) + 1
            if expected == {"NAME"} and code.split() and code.split()[-1] in ("BEFORE", "AFTER"):
                msg = f"{code.split()[-1]} needs the name of a program"
            else:
                msg = f"unexpected end of line; expected {_expected(expected)}"
        elif tok.type == "NAME" and ((glued := _glued_word(src, col)) or expected & set(KINDS)):
            # "LASTT" lexes as LAST + T: report the whole word
            word, col = glued or (str(tok), col)
            msg = (f"unknown directive {shorten(word)!r}{did_you_mean(word.upper(), KINDS)}; "
                   f"expected FIRST, LAST, BEFORE <prog> or AFTER <prog>")
        elif tok.type in KINDS and "NAME" in expected:
            msg = f"{str(tok)!r} is a keyword, not a program name"
        elif tok.type == "COLON" and expected == {"NAME"} and re.match(r"\s*app\s*:", src or ""):
            msg = "'app' is a keyword: write 'app NAME: prog ...', or rename the program"
            col = (src or "").find("app") + 1
        elif expected == {"COLON"}:
            msg = f"unexpected {shorten(str(tok))!r}; expected ':' after the name"
        else:
            msg = f"unexpected {shorten(str(tok))!r}; expected {_expected(expected)}"
    elif isinstance(e, lark.UnexpectedCharacters):
        ch = src[col - 1] if src and 0 < col <= len(src) else "?"
        msg = f"unexpected character {ch!r}"
        if ch == "|":
            msg += "; separate directives with ',' (e.g. 'p: FIRST, LAST')"
        elif e.allowed:
            msg += f"; expected {_expected(e.allowed)}"
    else:  # pragma: no cover - UnexpectedEOF is not produced by LALR
        msg = str(e)
    return BadInput(msg, path, line, col, src)


class _Checker:
    """Parse tree -> DirectiveSet, with the name checks of the grammar's header."""

    def __init__(self, path: str, lines, known=()):
        self.path, self.lines, self.extra = path, lines, tuple(known)

    def fail(self, msg: str, tok) -> BadInput:
        return BadInput(msg, self.path, tok.line, tok.column, _src(self.lines, tok.line))

    def name(self, tok, what: str) -> str:
        if str(tok) in KEYWORDS:
            raise self.fail(f"{str(tok)!r} is a keyword, not {what}", tok)
        return str(tok)

    def build(self, tree) -> DirectiveSet:
        progs: dict[str, Program] = {}
        directives: list[Directive] = []
        refs: list = []                       # (target token, directive)
        apps: list[App] = []
        app_tokens: list = []
        for node in tree.children:
            if node.data == "prog_decl":
                tok = node.children[0]
                name = self.name(tok, "a program name")
                if name in progs:
                    raise self.fail(f"program {name!r} is declared twice (first on line "
                                    f"{progs[name].line}); put all its directives on one line", tok)
                progs[name] = Program(name, tok.line, tok.column)
                seen: dict[str, int] = {}
                for d in node.children[1:]:
                    kw = d.children[0]
                    target = d.children[1] if len(d.children) > 1 else None
                    if target is not None and target.column == kw.column + len(kw):
                        # the lexer splits "AFTERx" into AFTER + x: not what was meant
                        raise self.fail(f"unknown directive {str(kw) + str(target)!r}; write "
                                        f"'{kw} {target}' with a space", kw)
                    dr = Directive(name, str(kw), None if target is None else self.name(target, "a program name"),
                                   kw.line, kw.column)
                    if dr.text in seen:
                        raise self.fail(f"duplicate directive {dr.text!r}", kw)
                    seen[dr.text] = 1
                    directives.append(dr)
                    if target is not None:
                        refs.append((target, dr))
            else:  # app_decl
                kw, tok, members = node.children[0], node.children[1], node.children[2:]
                name = self.name(tok, "an application name")
                if any(a.name == name for a in apps):
                    raise self.fail(f"application {name!r} is declared twice", tok)
                if not members:
                    raise self.fail(f"application {name!r} lists no programs", tok)
                apps.append(App(name, tuple(str(m) for m in members), kw.line, kw.column))
                app_tokens.append(members)
        for target, dr in refs:
            self.known(target, progs, self.extra)
        owner: dict[str, str] = {}
        for app, members in zip(apps, app_tokens):
            for m in members:
                self.known(m, progs)
                if str(m) in owner:
                    raise self.fail(f"program {str(m)!r} already belongs to application "
                                    f"{owner[str(m)]!r}", m)
                owner[str(m)] = app.name
        if apps:
            for p in progs.values():
                if p.name not in owner:
                    raise BadInput(f"program {p.name!r} belongs to no application; list it in an "
                                   f"'app' line (with app lines present, every program needs one)",
                                   self.path, p.line, p.column, _src(self.lines, p.line))
        return DirectiveSet(tuple(progs.values()), tuple(directives), tuple(apps), self.path)

    def known(self, tok, progs, extra=()) -> None:
        if str(tok) not in progs and str(tok) not in extra:
            names = set(progs) | set(extra)
            raise self.fail(f"unknown program {shorten(str(tok))!r}{did_you_mean(str(tok), names)}; "
                            f"declare it on its own line ('{tok}:')", tok)
