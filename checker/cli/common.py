"""What the sub-commands share: exit statuses, atomic output files, backends."""
from __future__ import annotations

import os
import tempfile

# Exit statuses of every sub-command (README "CLI reference").
EXIT_OK = EXIT_SAT = 0
EXIT_FAIL = EXIT_UNSAT = 1        # an expectation failed / a divergence / unsat / no plan
EXIT_BAD = 2                      # bad input, bad option, unavailable backend
EXIT_UNKNOWN = 3                  # a solver could not decide (timeout)


def write_atomically(path: str, text: str) -> None:
    """Write all or nothing: a failure never leaves a partial output file."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".mprog-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
