"""``mprog matrix --kernels host``: the matrix's runner on the running
kernel, as a subprocess (no guest): the table names the kernel's own
``uname -r``, every step equals the model, and a dialect the kernel lacks
is listed as refused with the probe's reason (here: netkit on a kernel
built without it), not as a difference."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from checker.kernel import kernel_available, netkit_available

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.skipif(kernel_available() is not None, reason=str(kernel_available()))


def test_host_column(tmp_path):
    files = [REPO / "examples" / "tour.mprog", REPO / "tests" / "scripts" / "netkit"]
    r = subprocess.run([sys.executable, "-m", "checker", "matrix", "--kernels", "host", "--json",
                        tmp_path / "m.json", *files], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, (r.stdout, r.stderr)
    release = os.uname().release
    assert f"│ host   │ {release} │ ran " in r.stdout
    doc = json.loads((tmp_path / "m.json").read_text())
    k, = doc["kernels"]
    assert (k["spec"], k["release"], k["status"]) == ("host", release, "ran")
    assert doc["differences"] == [] and len(doc["files"]) == 8
    netkit = [f for f in k["files"] if f["dialect"] == "netkit"]
    if netkit_available() is None:
        assert {f["status"] for f in netkit} == {"ran"}
    else:
        assert {f["status"] for f in netkit} == {"refused"}
        assert f"host: 7 files refused (its dialect describes this release: a kernel built without the " \
               f"feature): the running kernel ({release}) has no netkit" in r.stdout
    tour, = [f for f in k["files"] if f["path"].endswith("tour.mprog")]
    model, = [f["model"] for f in doc["files"] if f["path"] == tour["path"]]
    assert tour["status"] == "ran" and tour["steps"] == model
