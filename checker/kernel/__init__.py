"""Live-kernel backend: bpf(2) on tcx hooks of veth devices in a private
network namespace.  ``kernel_available()`` returns None when it can run here,
else the reason it cannot."""
from .backend import KernelBackend, kernel_available

__all__ = ["KernelBackend", "kernel_available"]
