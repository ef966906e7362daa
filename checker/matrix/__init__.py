"""The kernel matrix (README "Kernel matrix"): the same scripts, vectors or
fuzz campaign on several kernels at once: Debian's kernels booted in QEMU
guests (virtme-ng, TCG), and the host's own.

debian.py resolves, downloads and unpacks the kernels; guest.py boots one
and runs a command in it; inguest.py is what runs there (and on the host);
run.py drives a whole matrix and compares every kernel with the model of
each file's dialect.  The command line is checker.cli.matrix.
"""
