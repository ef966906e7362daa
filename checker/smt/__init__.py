"""z3 encoding of the spec and its checks (the only package that imports z3).

Public API:
    RULE_IDS        rule IDs that have a tracked constraint; equals
                    set(checker.rules.LINUX) (tests/smt/test_rule_ids.py)
    verify_equivalence(n_max, timeout_s) -> list[Report]   (checker.smt.equiv)
    verify_exhaustive(n_max, timeout_s) -> list[Report]    (checker.smt.equiv)
    check_invariants(depth, timeout_s) -> list[Report]     (checker.smt.bmc)
    INVARIANTS      invariant ID -> statement
    EQUIVALENCE_RULE_IDS  the rules whose encoding is proved equal to the executor
"""
from . import bmc as _bmc
from . import linux as _encode
from .bmc import INVARIANTS, check_invariants
from .equiv import Report, verify_equivalence, verify_exhaustive


def __getattr__(name: str):
    # The rule-ID sets encode every op once: built on first use only.
    if name == "EQUIVALENCE_RULE_IDS":
        return _encode.rule_ids()
    if name == "RULE_IDS":
        return frozenset(_encode.rule_ids() | _bmc.rule_ids())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RULE_IDS", "EQUIVALENCE_RULE_IDS", "INVARIANTS", "Report", "check_invariants",
           "verify_equivalence", "verify_exhaustive"]
