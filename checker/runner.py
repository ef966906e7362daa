"""Run a request sequence on a backend and check its inline expectations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from . import dialects
from .backend import Backend
from .flags import FlagTable
from .model import Expect, Outcome, QueryResult, Step
from .syntax.render import entries_text


@dataclass
class StepResult:
    index: int
    step: Step
    outcome: Outcome
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def stored_flags_table(dialect: str) -> Optional[FlagTable]:
    """The flag table that reads a dialect's stored flags in query results,
    or None where queries report none (linux)."""
    d = dialects.get(dialect)
    return d.flags if d.query_flags else None


def check_expectation(e: Expect | None, o: Outcome, stored: Optional[FlagTable] = None) -> list[str]:
    """Differences between an expectation and an outcome, as sentences.
    ``stored``: the dialect's flag table when its queries report stored
    flags (stored_flags_table); the expected names are compared as bits."""
    if e is None:
        return []
    out = []
    if e.errno != o.errno:
        out.append(f"errno: expected {e.errno}, got {o.errno}")
    wants_query = any(x is not None for x in (e.count, e.revision, e.progs, e.mode))
    if not wants_query:
        return out
    q = o.query
    if q is None:
        return out + ["query: expected a query result, the request wrote none back"]
    if e.count is not None and e.count != q.count:
        out.append(f"count: expected {e.count}, got {q.count}")
    if e.revision is not None and e.revision != q.revision:
        out.append(f"revision: expected {e.revision}, got {q.revision}")
    if e.progs is not None:
        want = list(zip(e.progs, e.links or (None,) * len(e.progs)))
        got = list(zip(q.progs, q.links))
        if want != got:
            out.append(f"order: expected {format_entries(e.progs, e.links)}, got {format_entries(q.progs, q.links)}")
        elif stored is not None:
            want_bits = tuple(stored.word(f) for f in e.flags) if e.flags else (0,) * len(e.progs)
            got_bits = q.flags or (0,) * len(q.progs)
            if want_bits != got_bits:
                out.append(f"stored flags: expected {entries_text(e.progs, e.links, e.flags)}, "
                           f"got {format_entries(q.progs, q.links, q.flags, stored)}")
    if e.mode is not None and e.mode != q.mode:
        out.append(f"mode: expected {e.mode}, got {q.mode or '(none reported)'}")
    return out


def format_entries(progs, links, flags=(), table: Optional[FlagTable] = None) -> str:
    """Entries as the script language writes them; ``flags`` are stored flag
    words, read with ``table``."""
    names = tuple(table.decode(f) for f in flags) if (flags and table is not None) else None
    return entries_text(progs, links, names)


def run_steps(steps: Iterable[Step], backend: Backend) -> Iterator[StepResult]:
    stored = stored_flags_table(backend.dialect)
    for i, s in enumerate(steps):
        o = backend.apply(s)
        yield StepResult(i, s, o, check_expectation(s.expect, o, stored))


def query_summary(q: QueryResult, table: Optional[FlagTable] = None) -> str:
    mode = f" mode {q.mode}" if q.mode is not None else ""
    return f"count {q.count} rev {q.revision} {format_entries(q.progs, q.links, q.flags, table)}{mode}"


def outcome_summary(o: Outcome, table: Optional[FlagTable] = None) -> str:
    text = o.errno
    if o.query is not None:
        text += " " + query_summary(o.query, table)
    return text
