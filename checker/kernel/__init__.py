"""Live-kernel backends: bpf(2) on tcx hooks of veth devices in a private
network namespace (backend.py), on netkit pairs beside them (netkit.py), and
on cgroup programs in a private cgroup v2 subtree (cgroup.py).
``kernel_backend(dialect)`` opens the one the dialect runs on;
``available(dialect)`` is None when it can run here, else the reason it
cannot (``kernel_available()``: the tcx probe; ``netkit_available()``,
``cgroup_available()``)."""
from __future__ import annotations

from .. import dialects
from .backend import KernelBackend, kernel_available
from .cgroup import CgroupBackend, cgroup_available
from .netkit import NetkitBackend, netkit_available

# Dialect.kernel -> the backend class driving that kernel feature.
BACKENDS = {B.KERNEL: B for B in (KernelBackend, NetkitBackend, CgroupBackend)}


def backend_class(dialect: str = "linux") -> type:
    """The backend class of ``dialect`` (KernelBackend for a dialect no
    kernel implements: it refuses it with the reason)."""
    try:
        feature = dialects.get(dialect).kernel
    except LookupError:
        feature = None
    return BACKENDS.get(feature, KernelBackend)


def kernel_dialect(dialect: str = "linux"):
    """The dialect if a kernel backend runs it; BackendUnavailable saying
    which dialects the kernel backends implement otherwise (decided from the
    registry alone, before anything on the machine is touched)."""
    from .backend import _kernel_dialect
    return _kernel_dialect(dialect)


def kernel_backend(dialect: str = "linux") -> KernelBackend:
    return backend_class(dialect)(dialect)


def available(dialect: str = "linux"):
    """None if ``dialect``'s kernel backend can run here, else the reason."""
    return backend_class(dialect).unavailable()


__all__ = ["KernelBackend", "NetkitBackend", "CgroupBackend", "kernel_available", "netkit_available",
           "cgroup_available", "kernel_backend", "kernel_dialect", "backend_class", "available"]
