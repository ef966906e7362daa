"""What the matrix runs on a kernel: inside a QEMU guest, or on the host.

    python -m checker.matrix.inguest JOB.json

The job (written by checker.matrix.run) names the files to run on the
kernel backend of their dialect, or a fuzz campaign; results go to
``RESULTS.jsonl`` (the job's ``results``), one JSON object per line, each
written and flushed as soon as it is known, so a guest that dies halfway
still reports what it did:

* ``{"kind": "kernel", "release": uname -r, "python": ...}`` first;
* per file ``{"kind": "file", "path", "dialect", "status": "ran" |
  "refused" | "bad-input", "reason", "steps": [[errno, query], ...],
  "seconds"}`` where ``query`` is null or ``[count, revision, progs,
  links]`` (checker.diff.observable: what a caller of bpf(2) sees);
* ``{"kind": "progress", "requests", ...}`` now and then during a campaign;
* ``{"kind": "fuzz", ...}``: a campaign's summary, with its minimal
  divergence (the steps as script lines, the kernel's answers) if any;
* ``{"kind": "done", "seconds"}`` last.

Expedited RCU: a guest is thrown away after the run, so ``expedite`` there
simply sets it; on the host it is the opt-in, restored setting of
checker.kernel.rcu (``mprog matrix --expedited-rcu``).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

from ..errors import BackendUnavailable, BadInput


def _write(f, obj: dict) -> None:
    f.write(json.dumps(obj) + "\n")
    f.flush()
    os.fsync(f.fileno())


def outcome_json(o) -> list:
    """An Outcome as the kernel shows it (checker.diff.observable), in JSON:
    the errno and what a query wrote back, with the stored flags (rfc) and
    the attach mode (cgroup)."""
    q = o.query
    return [o.errno, None if q is None else [q.count, q.revision, list(q.progs), list(q.links),
                                              list(q.flags), q.mode]]


def run_file(path: str) -> dict:
    from ..backend import open_backend
    from ..syntax.sources import Stream
    t0 = time.monotonic()
    res = {"kind": "file", "path": path, "dialect": None, "status": "ran", "reason": "", "steps": []}
    try:
        with Stream(path) as stream:
            res["dialect"] = stream.dialect
            backend = open_backend("kernel", stream.dialect)
            try:
                with backend.session():
                    for step in stream:
                        res["steps"].append(outcome_json(backend.apply(step)))
            finally:
                backend.close()
    except BackendUnavailable as e:
        res.update(status="refused", reason=str(e))
    except BadInput as e:
        res.update(status="bad-input", reason=e.render())
    res["seconds"] = round(time.monotonic() - t0, 2)
    return res


PROGRESS_EVERY = 1000          # fuzz requests between two progress lines


def run_fuzz(job: dict, out) -> dict:
    """A campaign (checker.fuzz.campaign) with no time limit of its own: the
    host's guest timeout is the only clock.  A progress line every
    PROGRESS_EVERY requests lets the host show how far it got."""
    from ..fuzz.campaign import run_campaign
    from ..syntax.render import render_step
    mark = [PROGRESS_EVERY]

    def progress(s):
        if s.requests >= mark[0]:
            mark[0] = s.requests + PROGRESS_EVERY
            _write(out, {"kind": "progress", "requests": s.requests, "divergences": s.divergences,
                         "elapsed": round(s.elapsed, 1)})
    try:
        s = run_campaign(job["seed"], job["max_requests"], job["time"], progress, dialect=job["dialect"])
    except BackendUnavailable as e:
        return {"kind": "fuzz", "status": "refused", "reason": str(e)}
    out = {"kind": "fuzz", "status": "ran", "dialect": s.dialect, "seed": s.seed,
           "requests": s.requests, "sequences": s.sequences, "mutations": s.mutations,
           "divergences": s.divergences, "rules_covered": sorted(s.rules_covered),
           "rules_total": s.rules_total, "kernel_rps": round(s.kernel_rps, 1),
           "elapsed": round(s.elapsed, 1), "divergence": None}
    if s.minimal is not None:
        d = s.minimal
        out["divergence"] = {"steps": [render_step(x) for x in d.steps], "index": d.index,
                             "kernel": [outcome_json(o) for o in d.kernel]}
    return out


def main(argv: list) -> int:
    from ..kernel.rcu import expedited_rcu
    with open(argv[0]) as f:
        job = json.load(f)
    t0 = time.monotonic()
    with open(job["results"], "w") as out:
        _write(out, {"kind": "kernel", "release": os.uname().release,
                     "python": platform.python_version()})
        with expedited_rcu(job.get("expedite", False)):
            if "fuzz" in job:
                _write(out, run_fuzz(job["fuzz"], out))
            for path in job.get("files", ()):
                _write(out, run_file(path))
        _write(out, {"kind": "done", "seconds": round(time.monotonic() - t0, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
