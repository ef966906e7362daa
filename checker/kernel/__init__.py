"""Live-kernel backends: bpf(2) on tcx hooks of veth devices in a private
network namespace (backend.py), and on netkit pairs beside them (netkit.py).
``kernel_backend(dialect)`` opens the one the dialect runs on;
``available(dialect)`` is None when it can run here, else the reason it
cannot (``kernel_available()``: the tcx probe)."""
from __future__ import annotations

from .. import dialects
from .backend import KernelBackend, kernel_available
from .netkit import NetkitBackend, netkit_available

# Dialect.kernel -> the backend class driving that kernel feature.
BACKENDS = {KernelBackend.KERNEL: KernelBackend, NetkitBackend.KERNEL: NetkitBackend}


def backend_class(dialect: str = "linux") -> type:
    """The backend class of ``dialect`` (KernelBackend for a dialect no
    kernel implements: it refuses it with the reason)."""
    try:
        feature = dialects.get(dialect).kernel
    except LookupError:
        feature = None
    return BACKENDS.get(feature, KernelBackend)


def kernel_backend(dialect: str = "linux") -> KernelBackend:
    return backend_class(dialect)(dialect)


def available(dialect: str = "linux"):
    """None if ``dialect``'s kernel backend can run here, else the reason."""
    return backend_class(dialect).unavailable()


__all__ = ["KernelBackend", "NetkitBackend", "kernel_available", "netkit_available",
           "kernel_backend", "backend_class", "available"]
