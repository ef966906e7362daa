"""The generated conformance suite (spec/vectors.md "Suites"): the vectors of
one or more dialects as file texts, and ``manifest.json``.

For each dialect: the family's candidates are run on the executor and a few
chosen (checker.suite.select); each chosen run becomes a vector: the
fixture's setup, the parked objects the request names, a query of the hook
(its state before), the request, and a query of every hook the vector
touched (its state after).  Every expectation is the executor's answer.
The first vector of each (op, rule) also gets its twin on the other attach
point (ingress <-> egress).  Files: ``<dialect>/<op>/<case>.<variant>.json``
where ``<case>`` is the rule's case (``attach/insert`` in op attach:
``insert``; ``relative/fd-closed`` in op detach: ``relative-fd-closed``).

Nothing here does I/O or depends on the machine, the time or hash order:
the same tool version gives the same bytes everywhere.  The CLI writes the
files (checker.cli.vectors); the kernel confirmation is checker.suite.confirm.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Optional

from .. import __version__, dialects
from ..exec import Executor
from ..model import OK, UNDEFINED, Script, Step
from ..syntax.render import render_step
from ..syntax.validate import Validator
from ..syntax.vectors import dumps_vector, with_expectations
from . import reach
from .families import family
from .family import Fixture, Tcx
from .reach import encoded_pairs
from .select import Run, dims_of, select, used_dims

SUITE_FORMAT = "mprog-vector-suite"
SUITE_VERSION = 1


@dataclass
class Vector:
    path: str                       # relative to the suite root
    script: Script
    op: str
    rule: str                       # the rule that decides the request under test
    rules: tuple                    # it and the effects that shaped it
    index: int                      # step index of the request under test
    mirror_of: str = ""


@dataclass
class DialectSuite:
    dialect: str
    vectors: list = field(default_factory=list)
    reached: dict = field(default_factory=dict)     # (rule, op) -> [paths] (any step of a vector)
    unreachable: list = field(default_factory=list)  # manifest entries of z3-proved pairs
    unproved: list = field(default_factory=list)     # residual pairs when proofs were skipped
    candidates: int = 0
    n_max: int = 0                                   # the largest hook the dialect builds
    pairs: Optional[int] = None                      # (rule, op) pairs of its encoding, if any


# -- names ------------------------------------------------------------------

_ABBREV = {"size": None, "hook": {"plain": "", "nobundle": "nobundle", "clsact": "clsact",
                                  "plain-clsact": "clsact", "gone": "gone"}}


def case_name(op: str, rule: str) -> str:
    prefix, _, case = rule.partition("/")
    return case if prefix == op else f"{prefix}-{case}"


def _tag(run: Run, dims: dict, sel) -> list:
    """The variant part of a vector's file name: the values of the dimensions
    it covers for its rule, leaving out the plain ones."""
    c = run.cand
    relevant = used_dims(run, run.outcome.rule, sel.relevant, sel.forced)
    out = []
    for dim in dims:
        if dim not in relevant:
            continue
        v = dims[dim][1](c)
        if dim == "size":
            out.append(f"n{len(c.fixture.slots)}")
            continue
        if dim == "hook":
            v = _ABBREV["hook"].get(v, v)
        elif v in ("-", "none", "no", "plain", "free") or v == "none:fd":
            continue
        elif dim in ("prog", "link", "old", "replace", "dev", "relpos", "pins", "links"):
            v = f"{dim}-{v}"
        elif dim == "mode":
            v = f"mode-{v}"
        elif dim == "rev":
            v = f"rev-{v}"
        elif dim == "stray":
            v = "stray"
        elif dim == "count":
            v = "count-" + {"0": "0", "<n": "lt", "=n": "eq", ">n": "gt"}.get(v, v)
        elif dim == "qflags":
            qf, af = v.split("/")
            v = f"qf{qf}-af{af}"
        elif dim == "rel":
            v = "rel-" + v.replace(":", "-").replace("+", "-")
        if v:
            out.append(v.replace("+", "-").lower())
    return out


# -- building one vector ----------------------------------------------------

def _build(fam: Tcx, run: Run) -> list:
    c = run.cand
    fx = c.fixture
    objs = fam.objects(fx.point)
    steps = list(fx.steps)
    for name in c.objects:
        steps += objs[name]
    if fx.hook not in ("gone", "removed"):
        steps.append(fam.query_step(fx))
    target = len(steps)
    steps.append(c.step)
    return steps, target


def _mirror_step(s: Step, swap: dict) -> Step:
    if s.expected_attach_type is not None:      # (cgroup: a program loaded for the swapped point)
        s = replace(s, expected_attach_type=swap.get(s.expected_attach_type, s.expected_attach_type))
    return replace(s, dir=swap.get(s.dir, s.dir)) if s.dir is not None else s


def _describe(fam: Tcx, fx: Fixture, rule: str, op: str, errno: str, target: Step, dir: str) -> str:
    d = fam.d
    chapter = _chapter(d, rule)
    slots = " ".join(p + (f"@{l}" if l else "") + ("{" + "|".join(pins) + "}" if pins else "")
                     for p, l, pins in fx.slots)
    if len(fx.slots) > 8:
        shown = fx.slots
        slots = (" ".join(p + (f"@{l}" if l else "") for p, l, _ in shown[:2]) + f" ... ({len(shown)} slots) "
                 + " ".join(p + (f"@{l}" if l else "") for p, l, _ in shown[-2:]))
    hook = fam.hook_text(fx, slots)
    return (f"Rule {rule} ({errno}) decides {op} here ({chapter}). The hook: {fx.dev} {dir}, {hook}. "
            f"The request under test: {render_step(replace(target, expect=None))}.")


def _chapter(d, rule: str) -> str:
    """The spec chapter whose heading is ``rule``: the dialect's own, or the
    nearest ancestor's for an inherited rule."""
    while d.parent is not None and rule not in d.changed:
        d = dialects.get(d.parent)
    return f"{d.spec}/, heading `{rule}`"


def make_vector(fam: Tcx, run: Run, path: str, name: str, swap: dict = None) -> Vector:
    """The vector of a chosen run (or its twin with ``swap`` of attach points),
    with the executor's answers as expectations."""
    steps, target = _build(fam, run)
    if swap:
        steps = [_mirror_step(s, swap) for s in steps]
    ex = Executor(fam.dialect)
    outs = [ex.apply(s) for s in steps]
    undefined = outs[target].errno == UNDEFINED
    if not undefined:
        tail = fam.final_queries(steps)
        outs += [ex.apply(s) for s in tail]
        steps += tail
    for i, (s, o) in enumerate(zip(steps, outs)):
        if i < target and o.errno != OK and s.op != "query":    # (6.6-rc: a hook without bundle is ENOENT)
            raise AssertionError(f"{path}: setup step {i} ({render_step(s)}) answered {o.errno}: "
                                 "a generator bug")
    o = outs[target]
    if (o.rule, o.effects) != (run.outcome.rule, run.outcome.effects):
        raise AssertionError(f"{path}: the request answered {o.rule} {o.effects} in the vector, "
                             f"{run.outcome.rule} {run.outcome.effects} as a candidate: a generator bug")
    fx = run.cand.fixture
    op = run.cand.step.op
    desc = _describe(fam, fx, o.rule, op, o.errno, steps[target], steps[target].dir or fx.point)
    script = with_expectations(Script(tuple(steps), dialect=fam.dialect, name=name, description=desc),
                               outs)
    v = Validator(path, fam.dialect)
    for s in script.steps:
        v.check(s)
    return Vector(path, script, op, o.rule, run.rules, target)


class GenerationError(Exception):
    """The generator cannot produce a complete suite (a reachable rule no
    vector reaches, a kernel that disagrees): the report says what and why;
    nothing is written."""


def generate_dialect(dialect: str, prove: bool = True) -> DialectSuite:
    """Every vector of ``dialect``'s suite, and (``prove``) z3's verdict on
    every (rule, op) of its encoding that no vector reaches."""
    fam = family(dialect)
    if fam is None:
        raise GenerationError(f"{dialect}: no scenario family knows how to set up this dialect's "
                              "requests (checker/suite/family.py)")
    sel = select(fam)
    dims = dims_of(fam)
    suite = DialectSuite(dialect, candidates=len(sel.runs), n_max=sel.largest_hook)
    used: set = set()
    twinned: set = set()

    def place(stem: str) -> str:
        path, k = stem, 2
        while path in used:
            path, k = f"{stem}-{k}", k + 1
        used.add(path)
        return path

    swap = fam.mirror()
    for run in sel.chosen:
        op, rule = run.cand.step.op, run.outcome.rule
        tag = _tag(run, dims, sel)
        stem = f"{dialect}/{op}/" + ".".join([case_name(op, rule)] + tag)
        path = place(stem) + ".json"
        label = f"{rule} in {op}" + (f": {', '.join(tag)}" if tag else "")
        vec = make_vector(fam, run, path, label)
        suite.vectors.append(vec)
        if (op, rule) in twinned or not any(s.dir for s in vec.script.steps):
            continue
        twinned.add((op, rule))
        other = swap[run.cand.fixture.point]
        tpath = place(stem + f".{other}") + ".json"
        twin = make_vector(fam, run, tpath, label + f" (on {other})", swap)
        twin.mirror_of = path
        suite.vectors.append(twin)
    suite.vectors.sort(key=lambda v: v.path)
    for vec in suite.vectors:
        ex = Executor(dialect)
        for s in vec.script.steps:
            o = ex.apply(s)
            for r in (o.rule,) + o.effects:
                suite.reached.setdefault((r, s.op), []).append(vec.path)
    _check_coverage(suite, prove)
    return suite


def _check_coverage(suite: DialectSuite, prove: bool) -> None:
    """Every rule of the table reached; with an encoding, every (rule, op)
    pair reached or proved unreachable by z3 (checker.suite.reach)."""
    d = dialects.get(suite.dialect)
    rules = {r for r, _ in suite.reached}
    missing = sorted(set(d.rules) - rules)
    if missing:
        raise GenerationError(f"{suite.dialect}: no vector reaches {', '.join(missing)}: a gap of the "
                              "scenario family (checker/suite/family.py)")
    pairs = encoded_pairs(suite.dialect)
    if pairs is None:
        suite.pairs = None
        return
    suite.pairs = len(pairs)
    residual = [p for p in pairs if p not in suite.reached]
    if not prove:
        suite.unproved = residual
        return
    verdicts = reach.prove(suite.dialect, residual, suite.n_max)
    bad = [v for v in verdicts if v.status != "unreachable"]
    if bad:
        raise GenerationError("\n".join(
            f"{suite.dialect}: ({v.rule}, {v.op}) is reached by no vector and z3 says "
            f"{v.status}: {v.detail}" for v in bad))
    unit = d.encoding
    suite.unreachable = [v.manifest_entry(unit, suite.n_max) for v in verdicts]


@dataclass
class Suite:
    dialects: list                  # DialectSuite, in the order asked
    seconds: float = 0.0


def generate(names: list, prove: bool = True) -> Suite:
    return Suite([generate_dialect(n, prove) for n in names])


# -- the suite's files --------------------------------------------------------

def manifest(suites: list) -> dict:
    """The coverage matrix (rule x vectors, per dialect and op) and the tool."""
    out = {"format": SUITE_FORMAT, "version": SUITE_VERSION,
           "tool": {"name": "mprog-checker", "version": __version__},
           "vector_format": {"format": "mprog-vector", "version": 1, "schema": "vector.schema.json"},
           "dialects": {}}
    for s in suites:
        d = dialects.get(s.dialect)
        rules = {}
        for rule in sorted(d.rules):
            ops = {}
            for vec in s.vectors:
                if rule in vec.rules:
                    ops.setdefault(vec.op, []).append(vec.path)
            reached = sorted({op for (r, op) in s.reached if r == rule})
            rules[rule] = {"errno": d.rules[rule], "targeted": ops, "reached_in": reached}
        errnos = {}
        for vec in s.vectors:
            for st in vec.script.steps:
                errnos[st.expect.errno] = errnos.get(st.expect.errno, 0) + 1
        out["dialects"][s.dialect] = {
            "summary": d.summary, "kernel": d.kernel, "vectors": len(s.vectors),
            "steps": sum(len(v.script.steps) for v in s.vectors),
            "candidates": s.candidates, "largest_hook": s.n_max,
            "pairs": ({"encoding": d.encoding, "total": s.pairs, "reached": s.pairs - len(s.unreachable)}
                      if s.pairs is not None else None),
            "kernel_confirmation": confirmation_note(d),
            "rules": rules,
            "unreachable": s.unreachable,
            "errnos": dict(sorted(errnos.items())),
            "index": {v.path: {"op": v.op, "rule": v.rule, "rules": list(v.rules),
                               "step": v.index, **({"twin_of": v.mirror_of} if v.mirror_of else {})}
                      for v in s.vectors},
        }
    return out


def confirmation_note(d) -> str:
    """Whether and where the vectors of dialect ``d`` are replayed on a
    kernel (the same words on every machine: the manifest does not depend
    on the kernel that generated it)."""
    if d.kernel is None:
        return "none: model only, no kernel implements this dialect"
    return (f"replayed on the running kernel (kernel backend {d.kernel}) by `mprog vectors generate` "
            f"before anything is written, only where that kernel implements the dialect ({d.kernels}); "
            f"a disagreement stops generation. Where the running kernel does not, the generator says so "
            f"(`kernel: {d.name}: not replayed (<reason>)`) and the expectations are the executor's "
            f"alone: replay them on such a kernel with `mprog vectors replay DIR --backend kernel` "
            f"or in a guest with `mprog matrix`")


def files(suites: list, schema_text: str, readme_text: str) -> dict:
    """Path -> text of every file of the suite."""
    out = {v.path: dumps_vector(v.script) for s in suites for v in s.vectors}
    out["manifest.json"] = json.dumps(manifest(suites), indent=1, sort_keys=False) + "\n"
    out["vector.schema.json"] = schema_text
    out["README.md"] = readme_text
    return dict(sorted(out.items()))


__all__ = ["DialectSuite", "GenerationError", "Suite", "Vector", "generate", "generate_dialect",
           "manifest", "files", "case_name"]


def readme(suites: list) -> str:
    """README.md of a generated suite: what it is, its layout, how to run it
    (the same text on every run of the same tool version)."""
    rows = "\n".join(
        f"| `{s.dialect}` | {len(s.vectors)} | {sum(len(v.script.steps) for v in s.vectors)} | "
        f"{len(dialects.get(s.dialect).rules)} | "
        + (f"{s.pairs - len(s.unreachable)} of {s.pairs} ({len(s.unreachable)} proved unreachable)"
           if s.pairs is not None else "no pair list (the z3 encoding has no request domain yet)"
           if dialects.get(s.dialect).encoding else "no z3 encoding") + " | "
        + (dialects.get(s.dialect).kernel or "model only") + " |"
        for s in suites)
    return f"""# bpf_mprog conformance vectors

Generated by mprog-checker {__version__} (`mprog vectors generate`): do not edit;
regenerate.  Each file is one vector: a request sequence on a fresh network
namespace with the expected answer of every step (errno; for queries count,
revision, programs in run order and their owning links).  The format is
`vector.schema.json` (JSON Schema) and spec/vectors.md of mprog-checker;
an `errno` other than `ok` also means that nothing changed.

| dialect | vectors | steps | rules | (rule, op) pairs reached | kernel |
|---|---|---|---|---|---|
{rows}

Layout: `<dialect>/<op>/<case>.<variant>.json`.  `<op>` is the request
under test, `<case>` the rule that decides it (`insert` for `attach/insert`
in op `attach`; `relative-fd-closed` for `relative/fd-closed`), the variant
names what the vector varies (`n63`: 63 programs on the hook before the
request; `rel-prog-id`: the relative is a program given by id; `egress`:
the twin on the other attach point).  `manifest.json` maps every rule to
the vectors that target it (per op), lists the (rule, op) pairs z3 proves
unreachable with the unsat core, and counts the errnos.

Conventions: devices are `lo` (the namespace's loopback, never added or
deleted), `veth0` (a veth pair, added by the vector) and, in netkit
vectors, the pair `nk1` (primary) / `nk0` (peer).  cgroup vectors name
cgroups (`cg`, its parent `top`, its children `sub` and `rm`) that a
reader creates as directories of a private cgroup v2 subtree, in the order
of the `cgroup_add` steps, and removes at the end; their programs are
`cgroup_sockopt` programs loaded for the list's attach point (the
`expected_attach_type` of the load step).  A `prog` or `link`
given as a number is a raw value: 0 is a file that is not a BPF object,
any other number an fd that is not open (or an id that names nothing).
Programs are `sched_cls` (`cgroup_skb` in cgroup) unless a `type` says
otherwise; their code does not matter (`r0 = 0; exit`).  A query without
`count` passes an array of 64 (4096 in cgroup: room for an effective order).

Run them: `mprog vectors replay DIR [--backend kernel]` (Python), the
pytest plugin of mprog-checker, a C file from `mprog vectors emit-c`, or a
reader of your own over the JSON files and the schema.
"""
