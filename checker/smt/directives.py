"""z3 encoding of directive files (grammar/directives.lark) over a symbolic run order.

A run order of ``n`` programs is a permutation: program p is at exactly one
index and every index holds exactly one program (0 runs first).  It is
encoded in propositional logic, one-hot with a ladder, because that stays
fast at 63 programs for every check (an integer index per program with
``Distinct`` does not: enumeration with blocking clauses turns into
thousands of arithmetic disequalities):

    pos[p]=i    p is at index i            (exactly one i per p, one p per i)
    pos[p]<=i   p is at index i or earlier (pos[p]<=i == pos[p]<=i-1 or pos[p]=i)

The directives (the seed's FIRST/LAST/BEFORE/AFTER, rfc-first-last.md §0):

    p: FIRST      pos[p]=0
    p: LAST       pos[p]=n-1
    p: BEFORE x   for every i: pos[x]=i -> pos[p]<=i-1   (anywhere before; not adjacent)
    p: AFTER x    x: BEFORE p

The domain (the permutation) is the meaning of "an order" and is never
tracked; every directive is tracked under its own label, its text
(``lb: AFTER fw``, unique within a file), so an unsat core prints as the
directives the user wrote.  Constraint families return lists and never
touch a solver; checker.smt.solve and checker.smt.plan assemble them.

Variable names are built here, in the conventions of checker.smt.names
(owned separately; they belong there once merged): ``pos[fw]=3``,
``pos[fw]<=3``, ``pos[fw]`` (an integer read-out, used only to decode
models while counting), ``stay[fw]`` and ``stay.upto[j]<=i`` (plan).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import z3

from ..syntax.directives import Directive, DirectiveSet
from .core import Tracked


# -- names -------------------------------------------------------------------

def at_name(prog: str, i: int) -> str:
    return f"pos[{prog}]={i}"


def le_name(prog: str, i: int) -> str:
    return f"pos[{prog}]<={i}"


def pos_name(prog: str) -> str:
    return f"pos[{prog}]"


def stay_name(prog: str) -> str:
    return f"stay[{prog}]"


def upto_name(j: int, i: int) -> str:
    return f"stay.upto[{j}]<={i}"


# -- the order ---------------------------------------------------------------

class Order:
    """A symbolic run order of ``progs`` (their order fixes tie-breaks)."""

    def __init__(self, progs: Sequence[str]):
        self.progs = tuple(progs)
        self.n = n = len(self.progs)
        self._at = {p: [z3.Bool(at_name(p, i)) for i in range(n)] for p in self.progs}
        self._le = {p: [z3.Bool(le_name(p, i)) for i in range(n)] for p in self.progs}
        self._domain: list | None = None

    def at(self, prog: str, i: int) -> z3.BoolRef:
        """``prog`` is at index ``i``."""
        return self._at[prog][i]

    def le(self, prog: str, i: int) -> z3.BoolRef:
        """``prog`` is at index ``i`` or earlier (False for i < 0)."""
        return self._le[prog][i] if i >= 0 else z3.BoolVal(False)

    def domain(self) -> list[z3.BoolRef]:
        """Untracked: every model is a permutation of the programs.  Built
        once per Order (4,095 terms at n = 63) and shared by every check's
        solver; callers only read it."""
        if self._domain is None:
            self._domain = self._build_domain()
        return self._domain

    def _build_domain(self) -> list[z3.BoolRef]:
        out = []
        for p in self.progs:
            at, le = self._at[p], self._le[p]
            out.append(z3.PbEq([(a, 1) for a in at], 1))
            out.append(le[0] == at[0])
            out += [le[i] == z3.Or(le[i - 1], at[i]) for i in range(1, self.n)]
        for i in range(self.n):
            out.append(z3.PbEq([(self._at[p][i], 1) for p in self.progs], 1))
        return out

    def before(self, a: str, b: str) -> z3.BoolRef:
        """``a`` runs somewhere before ``b``."""
        return z3.And([z3.Or(z3.Not(self._at[b][i]), self.le(a, i - 1)) for i in range(self.n)])

    def directive(self, d: Directive) -> Tracked:
        if d.kind == "FIRST":
            e = self._at[d.prog][0]
        elif d.kind == "LAST":
            e = self._at[d.prog][self.n - 1]
        elif d.kind == "BEFORE":
            e = self.before(d.prog, d.target)
        elif d.kind == "AFTER":
            e = self.before(d.target, d.prog)
        else:  # pragma: no cover - the parser admits only the four kinds
            raise ValueError(f"unknown directive kind {d.kind!r}")
        return Tracked(d.text, e)      # an unsat core reads as the directives' text

    def directives(self, ds: DirectiveSet) -> list[Tracked]:
        return [self.directive(d) for d in ds.directives]

    def differs(self, order: Sequence[str]) -> z3.BoolRef:
        """Blocking clause: any order but this one."""
        return z3.Or([z3.Not(self._at[p][i]) for i, p in enumerate(order)])

    def readout(self) -> tuple[dict, list[z3.BoolRef]]:
        """Integer variables ``pos[p]`` equal to p's index, and their
        definitions: decoding a model reads n integers instead of n*n Booleans."""
        val = {p: z3.Int(pos_name(p)) for p in self.progs}
        # Bounded (QF_FD bit-blasts bounded integers only).
        return val, [z3.And(0 <= val[p], val[p] < max(self.n, 1),
                            val[p] == z3.Sum([z3.If(a, i, 0) for i, a in enumerate(self._at[p])]))
                     for p in self.progs]

    def decode(self, model: z3.ModelRef, val: Mapping[str, z3.ArithRef]) -> tuple[str, ...]:
        idx = {p: model.eval(v, model_completion=True).as_long() for p, v in val.items()}
        return tuple(sorted(self.progs, key=idx.__getitem__))

    def kept_in_order(self, existing: Sequence[str], stay: Mapping[str, z3.BoolRef]) -> list[z3.BoolRef]:
        """The programs of ``existing`` (hook order) whose ``stay`` is true
        keep their relative order.  Linear in len(existing) * n instead of
        one ``before`` per pair: ``stay.upto[j]<=i`` says every staying
        program among existing[0..j] is at index i or earlier (i = -1: none
        stays), and a staying program comes after the staying ones before it."""
        out: list[z3.BoolRef] = []
        upto = None
        for j, e in enumerate(existing):
            s = stay[e]
            if upto is not None:
                out += [z3.Or(z3.Not(s), z3.Not(self._at[e][i]), upto[i - 1]) for i in range(self.n)]
            cur = {i: z3.Bool(upto_name(j, i)) for i in range(-1, self.n)}
            for i in range(-1, self.n):
                mine = z3.Or(z3.Not(s), self.le(e, i))
                out.append(cur[i] == (mine if upto is None else z3.And(upto[i], mine)))
            upto = cur
        return out


def must_precede(progs: Sequence[str], directives: Iterable[Directive],
                 extra: Mapping[str, Iterable[str]] = ()) -> dict[str, set]:
    """For each program, the programs the directives put before it (direct
    consequences, not the transitive closure): exactly the precedence
    relation the directives state, so its linear extensions are the
    satisfying orders (``count_orders``).  ``p: BEFORE p`` stays a self-loop:
    like the directive, it is satisfied by no order.  ``least_order`` uses
    it to skip hopeless candidates; z3 still decides each one."""
    directives = list(directives)
    pre: dict[str, set] = {p: set() for p in progs}
    for d in directives:
        if d.kind == "BEFORE":
            pre[d.target].add(d.prog)
        elif d.kind == "AFTER":
            pre[d.prog].add(d.target)
        elif d.kind == "FIRST":
            for p in progs:
                if p != d.prog:
                    pre[p].add(d.prog)
        elif d.kind == "LAST":
            pre[d.prog].update(p for p in progs if p != d.prog)
    for p, qs in dict(extra).items():
        pre[p].update(qs)
    return pre
