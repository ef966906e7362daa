"""The netkit dialect: netkit device pairs (drivers/net/netkit.c, Linux 6.7
and later) beside tcx, spec/netkit/.

Data only, as a delta over the linux dialect: the netkit attach points
(``BPF_NETKIT_PRIMARY`` / ``BPF_NETKIT_PEER`` of include/uapi/linux/bpf.h),
the device modes, the ``netkit_add`` request, and the rules netkit adds to
mainline's.  A netkit hook runs the same bpf_mprog core as tcx, so every
linux rule keeps its meaning (on tcx hooks of veth and netkit devices alike,
and inside the core on netkit hooks); what netkit adds is its own device
lookup, a bundle embedded in the device (never freed: the revision survives
an empty period, but a query of an empty hook still answers revision 1), and
pair deletion.  tests/test_spec_xref.py checks spec/netkit/ against this
table and spec/netkit/constants.md against the constants.
"""
from __future__ import annotations

from . import linux

# enum bpf_attach_type (35dfaad7188c "netkit, bpf: Add bpf programmable net device")
BPF_NETKIT_PRIMARY = 54
BPF_NETKIT_PEER = 55
NETKIT_POINTS = {"primary": BPF_NETKIT_PRIMARY, "peer": BPF_NETKIT_PEER}
ATTACH_TYPE = {**linux.ATTACH_TYPE, **NETKIT_POINTS}

# enum netkit_mode (IFLA_NETKIT_MODE); netkit_new_link() defaults to L3.
MODES = {"l2": 0, "l3": 1}
DEFAULT_MODE = "l3"

OPS = linux.OPS | {"netkit_add"}

# rule ID -> errno, the rules netkit adds (spec/netkit/)
CHANGED: dict[str, str] = {
    # spec/netkit/device.md
    "netkit/add": "ok",
    "netkit/add-exists": "EEXIST",
    "netkit/del-pair": "ok",
    # spec/netkit/hooks.md: netkit_dev_fetch() and the embedded bundle
    "netkit/dev-missing": "ENODEV",
    "netkit/not-netkit": "ENXIO",
    "netkit/not-primary": "EACCES",
    "netkit/detach-empty": "ENOENT",
    "netkit/query-empty": "ok",
    "netkit/keep-when-empty": "ok",
}

DIALECT = linux.DIALECT.derive(
    "netkit",
    summary="netkit pairs (BPF_NETKIT_PRIMARY/PEER managed through the primary) beside tcx hooks",
    kernels="Linux 6.7 and later with CONFIG_NETKIT (and CONFIG_NET_XGRESS for the tcx hooks); "
            "single-device mode (7.0) is not modelled",
    changed=CHANGED,
    attach_points=ATTACH_TYPE,
    ops=OPS,
    executor="checker.exec.netkit",
    encoding="checker.smt.netkit",
    kernel="netkit",
    since=(6, 7),
    diff_hook=("primary", "netkit_add"),
    spec="spec/netkit",
)
