"""Which rules and errnos each corpus reaches, per dialect, side by side:
the generated suite, the per-rule cases, the scripts and, among them, the
translated kernel selftests (files named ``test_*.mprog``, translations of
tools/testing/selftests/bpf/prog_tests/*.c, and of the 2023 proposal's own
selftests for rfc).  The selftests' gaps are the rules that the suite
reaches and they do not.

A rule is reached by a step when it decides the step or shapes its success
(hook/* effects), on the reference executor of the file's dialect.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import dialects
from ..exec import Executor
from ..errors import BadInput
from ..syntax.sources import load
from .replay import find


@dataclass
class Corpus:
    name: str                   # column title
    root: str
    files: dict = field(default_factory=dict)     # dialect -> files
    rules: dict = field(default_factory=dict)     # dialect -> rule -> steps
    errnos: dict = field(default_factory=dict)    # dialect -> errno -> steps
    bad: list = field(default_factory=list)


def measure(name: str, root: str, only=None) -> Corpus:
    """Run every file under ``root`` (``only``: a filter on file names)."""
    c = Corpus(name, root)
    for path in find(root):
        if only is not None and not only(os.path.basename(path)):
            continue
        try:
            script = load(path)
        except BadInput as e:
            c.bad.append(e.render())
            continue
        c.files[script.dialect] = c.files.get(script.dialect, 0) + 1
        ex = Executor(script.dialect)
        rules = c.rules.setdefault(script.dialect, {})
        errnos = c.errnos.setdefault(script.dialect, {})
        for s in script.steps:
            o = ex.apply(s)
            for r in (o.rule,) + o.effects:
                rules[r] = rules.get(r, 0) + 1
            errnos[o.errno] = errnos.get(o.errno, 0) + 1
    return c


def is_selftest(name: str) -> bool:
    return name.startswith("test_") and name.endswith(".mprog")


def default_corpora(repo: str, suite: str = None) -> list:
    """(column, root, filter) of the corpora of a checkout at ``repo``; a
    missing directory is left out."""
    out = []
    for name, root, only in (("suite", suite or os.path.join(repo, "vectors"), None),
                             ("rule cases", os.path.join(repo, "tests", "rules"), None),
                             ("scripts", os.path.join(repo, "tests", "scripts"), None),
                             ("selftests", os.path.join(repo, "tests", "scripts"), is_selftest)):
        if os.path.isdir(root):
            out.append((name, root, only))
    return out


def table(corpora: list) -> dict:
    """The side-by-side data: dialect -> {"rules": {rule: {errno, corpus: steps}},
    "errnos": {errno: {corpus: steps}}, "gaps": {corpus: [rules the suite
    reaches and it does not]}}."""
    out = {}
    for name in dialects.names():
        d = dialects.get(name)
        if not any(name in c.rules for c in corpora):
            continue
        rules = {r: {"errno": d.rules[r], **{c.name: c.rules.get(name, {}).get(r, 0) for c in corpora}}
                 for r in sorted(d.rules)}
        errno_names = sorted({e for c in corpora for e in c.errnos.get(name, {})})
        errnos = {e: {c.name: c.errnos.get(name, {}).get(e, 0) for c in corpora} for e in errno_names}
        base = corpora[0].name
        gaps = {c.name: [r for r in rules if rules[r][base] and not rules[r][c.name]]
                for c in corpora[1:]}
        out[name] = {"files": {c.name: c.files.get(name, 0) for c in corpora},
                     "rules": rules, "errnos": errnos, "gaps": gaps}
    return out


__all__ = ["Corpus", "measure", "default_corpora", "table", "is_selftest"]
