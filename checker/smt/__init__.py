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
from . import encode as _encode
from .bmc import INVARIANTS, check_invariants
from .equiv import Report, verify_equivalence, verify_exhaustive

EQUIVALENCE_RULE_IDS = _encode.RULE_IDS
RULE_IDS = frozenset(_encode.RULE_IDS | _bmc.RULE_IDS)

__all__ = ["RULE_IDS", "EQUIVALENCE_RULE_IDS", "INVARIANTS", "Report", "check_invariants",
           "verify_equivalence", "verify_exhaustive"]
