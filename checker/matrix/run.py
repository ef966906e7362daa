"""One matrix run: the same files on several kernels, compared with each
other and with the model of each file's dialect.

Kernels are specs (checker.matrix.debian: ``6.1``, ``6.12``, ``newest``, an
exact Debian version) or ``host`` (the running kernel, no guest).  Each
kernel runs checker.matrix.inguest over all the files, in a QEMU guest
(checker.matrix.guest) or as a subprocess on the host, and reports every
step's observable answer (errno, and what a query wrote back).  The model
(the reference executor of the file's dialect) runs here.  A kernel that
cannot be fetched or booted is *unavailable*, with the reason: that is a
fact about the machine, not a result.

Per file, a kernel either ran it, refused it (its backend is unavailable
there: no tcx, no netkit, a dialect no kernel implements: whether the
dialect describes that kernel's release is data, Dialect.describes), or
never reached it (the guest stopped).  The comparison lists every step on
which the answers of the kernels that ran the file and the model are not
all equal, and counts per kernel the steps that differ from the model and
the expectations that fail.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .. import dialects
from ..exec import Executor
from ..model import Outcome, QueryResult
from ..runner import check_expectation
from ..syntax.sources import load
from . import debian, guest
from .inguest import outcome_json

HOST = "host"
DEFAULT_KERNELS = ("6.1", "6.12", HOST, "newest")


@dataclass
class FileResult:
    path: str
    dialect: Optional[str]
    status: str                      # ran / refused / bad-input
    reason: str = ""
    steps: list = field(default_factory=list)    # outcome_json per step
    seconds: float = 0.0


@dataclass
class KernelResult:
    spec: str                        # as asked ("6.12", "host")
    status: str = "pending"          # ran / unavailable / boot-failed / timeout
    release: Optional[str] = None    # the kernel's own uname -r
    reason: str = ""
    files: dict = field(default_factory=dict)     # path -> FileResult
    seconds: dict = field(default_factory=dict)   # fetch, boot, command, total
    image: Optional[debian.KernelImage] = None
    fuzz: Optional[dict] = None                   # a campaign's summary (inguest.run_fuzz)


@dataclass
class ModelFile:
    path: str
    dialect: str
    steps: tuple                     # Step
    outcomes: list                   # outcome_json per step


@dataclass
class Difference:
    """A step on which the answers are not all the same: ``answers`` maps
    "model" and every kernel spec that ran the file to its answer."""
    path: str
    index: int
    step: object
    answers: dict


@dataclass
class Matrix:
    files: list                      # ModelFile, in the order given
    kernels: list                    # KernelResult, in the order given
    work: str = ""

    def kernel_outcomes(self, k: KernelResult, f: ModelFile) -> Optional[list]:
        r = k.files.get(f.path)
        return r.steps if r is not None and r.status == "ran" else None

    def differences(self) -> list:
        out = []
        for f in self.files:
            columns = {"model": f.outcomes}
            for k in self.kernels:
                steps = self.kernel_outcomes(k, f)
                if steps is not None:
                    columns[k.spec] = steps
            for i, step in enumerate(f.steps):
                answers = {c: (v[i] if i < len(v) else None) for c, v in columns.items()}
                if len({json.dumps(a) for a in answers.values()}) > 1:
                    out.append(Difference(f.path, i, step, answers))
        return out

    def counts(self, k: KernelResult) -> dict:
        """Files ran / refused / not reached, steps, steps unlike the model,
        failed expectations of kernel ``k``, and files that ran although
        their dialect does not describe the kernel's release (the dialect's
        version data is wrong, or the kernel has the feature early)."""
        c = {"ran": 0, "refused": 0, "missing": 0, "steps": 0, "unlike_model": 0, "failed": 0,
             "undescribed": 0}
        for f in self.files:
            r = k.files.get(f.path)
            if r is None:
                c["missing"] += 1
                continue
            if r.status != "ran":
                c["refused"] += 1
                continue
            c["ran"] += 1
            c["undescribed"] += k.release is not None and not dialects.get(f.dialect).describes(k.release)
            c["steps"] += len(r.steps)
            if len(r.steps) != len(f.steps):
                c["unlike_model"] += 1
            for step, got, want in zip(f.steps, r.steps, f.outcomes):
                c["unlike_model"] += got != want
                c["failed"] += bool(check_expectation(step.expect, _outcome(got)))
        return c

    def refusals(self, k: KernelResult) -> dict:
        """reason -> (files, whether every such file's dialect describes the kernel)."""
        out: dict = {}
        for r in k.files.values():
            if r.status != "refused":
                continue
            d = dialects.get(r.dialect) if r.dialect in dialects.registry() else None
            described = d is not None and k.release is not None and d.describes(k.release)
            n, any_described = out.get(r.reason, (0, False))
            out[r.reason] = (n + 1, any_described or described)
        return out


def _outcome(answer: list) -> Outcome:
    errno, q = answer
    return Outcome(errno, query=None if q is None else QueryResult(q[0], q[1], tuple(q[2]), tuple(q[3]),
                                                                   tuple(q[4]), q[5]))


def expand(paths: list) -> list:
    """Files, and the .mprog / .json files under each directory (sorted),
    each once."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, names in sorted(os.walk(p)):
                out += sorted(os.path.join(d, n) for n in names if n.endswith((".mprog", ".json")))
        else:
            out.append(p)
    # Once each: a glob and a directory may name the same file.
    return list(dict.fromkeys(os.path.abspath(p) for p in out))


def model_files(paths: list) -> list:
    """Every file read (BadInput on the first bad one) and run on the model."""
    out = []
    for path in paths:
        script = load(path)
        ex = Executor(script.dialect)
        out.append(ModelFile(path, script.dialect, script.steps,
                             [outcome_json(ex.apply(s)) for s in script.steps]))
    return out


def _job(work: str, name: str, files: list, expedite: bool, fuzz: Optional[dict]) -> tuple[str, str]:
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    job, results = os.path.join(d, "job.json"), os.path.join(d, "results.jsonl")
    with open(job, "w") as f:
        json.dump({"files": files, "results": results, "expedite": expedite,
                   **({"fuzz": fuzz} if fuzz else {})}, f)
    return job, results


class _Progress:
    """Tells how far a running kernel got, from its results file (a line per
    file, a progress line now and then during a campaign), every
    ``every`` seconds at most."""

    def __init__(self, path: str, spec: str, files: int, note, every: float = 30.0):
        import threading
        self._stop = threading.Event()
        self._seen = ""
        self._thread = threading.Thread(target=self._run, args=(path, spec, files, note, every), daemon=True)
        self._thread.start()

    def _run(self, path, spec, files, note, every):
        while not self._stop.wait(every):
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            done = sum('"kind": "file"' in l for l in lines)
            last = next((l for l in reversed(lines) if '"kind": "progress"' in l), None)
            text = f"{done}/{files} files" if files else ""
            if last is not None:
                try:
                    p = json.loads(last)
                    text = f"fuzz: {p['requests']} requests, {p['divergences']} divergences" + \
                        (f"; {text}" if text else "")
                except ValueError:
                    pass
            if text and text != self._seen:
                self._seen = text
                note(spec, text)

    def stop(self) -> None:
        self._stop.set()


def _read_results(k: KernelResult, path: str) -> bool:
    """Fill ``k`` from a results file; True if the run got to its end."""
    done = False
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:               # a line cut short by a dying guest
            break
        if obj["kind"] == "kernel":
            k.release = obj["release"]
        elif obj["kind"] == "file":
            k.files[obj["path"]] = FileResult(obj["path"], obj["dialect"], obj["status"],
                                              obj["reason"], obj["steps"], obj["seconds"])
        elif obj["kind"] == "fuzz":
            k.fuzz = obj
        elif obj["kind"] == "done":
            done = True
    return done


def run_kernel(spec: str, files: list, work: str, *, cache: str, resolver: Optional[debian.Resolver],
               expedite_host: bool, guest_timeout: float, memory: str, cpus: int,
               note: Callable[[str, str], None], fuzz: Optional[dict] = None) -> KernelResult:
    k = KernelResult(spec)
    t0 = time.monotonic()
    job, results = _job(work, spec.replace("/", "_"), files, expedite_host if spec == HOST else True, fuzz)
    what = (f"{len(files)} files" if files else "") + (" and " if files and fuzz else "") + \
        (f"a {fuzz['dialect']} fuzz campaign of {fuzz['max_requests']} requests" if fuzz else "")
    argv = [sys.executable, "-m", "checker.matrix.inguest", job]
    if spec == HOST:
        note(spec, f"running {what} on the host kernel ({os.uname().release})")
        try:
            proc = guest.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except guest.GuestUnavailable as e:
            k.status, k.reason = "unavailable", str(e)
            return k
        try:
            err = proc.communicate()[1]
        finally:
            guest.forget(proc)
        k.seconds["command"] = k.seconds["total"] = round(time.monotonic() - t0, 1)
        done = _read_results(k, results)
        k.status = "ran" if done else "failed"
        if not done:
            k.reason = f"the run on the host stopped (exit {proc.returncode}): {err.strip()[-400:]}"
        return k
    note(spec, "resolving")
    try:
        k.image = debian.fetch(spec, cache, resolver)
    except debian.KernelUnavailable as e:
        k.status, k.reason = "unavailable", f"kernel unavailable: {e}"
        return k
    k.seconds["fetch"] = round(time.monotonic() - t0, 1)
    note(spec, f"booting {k.image.release} ({'cached' if k.image.cached else 'fetched'}, "
               f"{k.image.suite}) under QEMU TCG: {what}")
    progress = _Progress(results, spec, len(files), note)
    try:
        g = guest.boot(k.image, argv, os.path.dirname(job), cwd=os.getcwd(),
                       env={"PYTHONDONTWRITEBYTECODE": "1"}, timeout_s=guest_timeout,
                       memory=memory, cpus=cpus)
    except guest.GuestUnavailable as e:
        k.status, k.reason = "unavailable", f"cannot boot a guest: {e}"
        return k
    finally:
        progress.stop()
    k.seconds.update(g.seconds)
    k.seconds["total"] = round(time.monotonic() - t0, 1)
    done = _read_results(k, results)
    if g.status == "ran" and done:
        k.status = "ran"
    elif g.status == "boot-failed":
        k.status, k.reason = "boot-failed", g.reason
    elif g.status == "timeout":
        k.status, k.reason = "timeout", g.reason
    else:
        k.status = "failed"
        k.reason = f"the runner exited {g.rc} before the end: {g.stderr.strip()[-400:]}"
    if k.release is None:
        k.release = g.release
    return k


def run_matrix(kernels: list, paths: list, *, cache: Optional[str] = None, jobs: int = 1,
               keep: Optional[str] = None, expedite_host: bool = False, guest_timeout: float = 3600,
               memory: str = "2G", cpus: int = 1, refresh: bool = False, fuzz: Optional[dict] = None,
               note: Callable[[str, str], None] = lambda spec, msg: None) -> Matrix:
    """Run ``paths`` (files already expanded) on every kernel of
    ``kernels``, after the fuzz campaign ``fuzz`` ({dialect, seed,
    max_requests, time}) if one is given.  Raises BadInput for a bad file
    (before any kernel runs)."""
    files = model_files(paths)
    cache = cache or debian.default_cache()
    work = keep or tempfile.mkdtemp(prefix="mprog-matrix-")
    os.makedirs(work, exist_ok=True)
    resolver = debian.Resolver(cache, refresh) if any(k != HOST for k in kernels) else None
    order = {spec: i for i, spec in enumerate(kernels)}
    results = []
    guest.reset()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(run_kernel, spec, paths, work, cache=cache, resolver=resolver,
                               expedite_host=expedite_host, guest_timeout=guest_timeout,
                               memory=memory, cpus=cpus, note=note, fuzz=fuzz) for spec in kernels]
        for fut in concurrent.futures.as_completed(futures):
            k = fut.result()
            note(k.spec, f"{k.status}" + (f" ({k.release})" if k.release else "")
                 + (f" in {k.seconds.get('total', 0):.0f} s" if k.seconds.get("total") else ""))
            results.append(k)
    finally:
        # Ctrl-C, SIGTERM or an error: no guest may outlive the run, and the
        # workers must not wait for theirs before the pool lets go.
        guest.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    results.sort(key=lambda k: order[k.spec])
    return Matrix(files, results, work if keep else "")
