"""Debian kernels for the matrix: resolved at run time, downloaded and
unpacked into a cache directory, never installed (the host's /boot and its
running kernel never change).

A kernel *spec* names what to run:

* ``6.1``: the newest ``linux-image-6.1.0-N-amd64-unsigned`` of bookworm and
  bookworm-security;
* ``6.12``: the newest ``linux-image-6.12.N+deb12-amd64-unsigned`` of
  bookworm-security and bookworm-backports;
* ``newest`` (or ``sid``): the newest amd64 kernel Debian offers at all, sid's
  ``linux-binary-<rel>`` + ``linux-modules-<rel>`` + ``linux-base-<rel>``
  (linux-base carries modules.builtin: without it a built-in driver such as
  netkit looks missing to modprobe);
* an exact version (``6.12.95``, ``6.1.0-57``, ``7.2.13``, ``6.12.95+deb12``):
  whichever of those suites still offers it (Debian keeps only the current
  version of each package per suite);
* a path to a kernel image (a kernel built elsewhere, unpacked with its
  modules under ``[usr/]lib/modules/<release>`` beside it): used as it is.

apt runs through private configurations under ``CACHE/apt/<name>`` (own
sources.list with ``signed-by`` bookworm's archive keyring, lists, package
cache, archives, an empty dpkg status): the system's apt sources, lists and
caches are never read or written.  ``apt-get update`` exits 0 even when a
source fails its signature check, so its messages are read.  If sid cannot be
verified with bookworm's keyring (NO_PUBKEY: signed by keys newer than it),
``debian-archive-keyring`` is taken from trixie, whose release file bookworm's
keyring verifies, and sid is tried again with it; sid is never used
unverified.

Unpacking: ``dpkg-deb -x`` of every package into ``CACHE/kernels/<rel>``, and
``depmod`` once (Debian's packages ship no modules.dep: the postinst makes it;
without it vng runs depmod at every boot).  ``kernel.json`` there records
what was fetched.  Any failure (no apt, no network, a package gone, a bad
signature) is :class:`KernelUnavailable` with the reason: the matrix reports
it as such, never as a result of the project.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
ARCH = "amd64"
LIST_MAX_AGE_S = 6 * 3600            # private apt lists older than this are refreshed
NEWEST = ("newest", "sid")


class KernelUnavailable(Exception):
    """A kernel spec that cannot be resolved, downloaded or unpacked here;
    the message says why."""


def default_cache() -> str:
    """MPROG_MATRIX_CACHE, else /var/cache/mprog-matrix for root, else
    ~/.cache/mprog-matrix."""
    env = os.environ.get("MPROG_MATRIX_CACHE")
    if env:
        return env
    if os.geteuid() == 0:
        return "/var/cache/mprog-matrix"
    return os.path.join(os.path.expanduser("~"), ".cache", "mprog-matrix")


@dataclass
class KernelImage:
    """An unpacked Debian kernel: what vng boots and the tree it needs."""
    spec: str
    release: str                     # uname -r
    vmlinuz: str
    root: str                        # the unpacked tree (holds [usr/]lib/modules/<release>)
    suite: str
    packages: list = field(default_factory=list)
    deb_bytes: int = 0
    seconds: dict = field(default_factory=dict)   # download, unpack, depmod (first fetch)
    cached: bool = False

    @property
    def version(self) -> str:
        """The Debian version part of the release (6.12.117+deb12)."""
        return self.release[:-len("-" + ARCH)] if self.release.endswith("-" + ARCH) else self.release


def version_key(text: str) -> list:
    """Sort key for kernel versions: 6.12.117+deb12 after 6.12.95."""
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", text)]


SPEC = re.compile(r"6\.1|6\.12|newest|sid|\d+\.\d+[0-9.+a-z~-]*")


def is_spec(text: str) -> bool:
    """Whether ``text`` is a kernel spec (module docstring)."""
    return SPEC.fullmatch(text) is not None or is_image_path(text)


def is_image_path(text: str) -> bool:
    return "/" in text


def local_image(path: str) -> KernelImage:
    """A kernel image given by path: its release from the file name
    (vmlinuz-<release>) or the directory (lib/modules/<release>/vmlinuz),
    its tree the directory that holds [usr/]lib/modules/<release>."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise KernelUnavailable(f"no kernel image at {path}")
    name = os.path.basename(path)
    release = name[len("vmlinuz-"):] if name.startswith("vmlinuz-") else os.path.basename(os.path.dirname(path))
    root = os.path.dirname(path)
    d = root
    while d != "/":
        if any(os.path.isdir(os.path.join(d, m, release)) for m in ("lib/modules", "usr/lib/modules")):
            root = d
            break
        d = os.path.dirname(d)
    return KernelImage(spec=path, release=release, vmlinuz=path, root=root, suite="local", cached=True)


# The plain flavour only: no -rt-amd64, -cloud-amd64.
PLAIN_RELEASE = re.compile(rf"\d+\.\d+[0-9.]*(\+deb\d+|-\d+)?-{ARCH}")


def _sources(keyring: str) -> dict:
    return {
        "bookworm": [f"deb [signed-by={keyring}] {MIRROR} bookworm main",
                     f"deb [signed-by={keyring}] {MIRROR} bookworm-updates main",
                     f"deb [signed-by={keyring}] {MIRROR} bookworm-backports main",
                     f"deb [signed-by={keyring}] {SECURITY} bookworm-security main"],
        "sid": [f"deb [signed-by={keyring}] {MIRROR} sid main"],
        # Only to fetch a newer debian-archive-keyring for sid: trixie is
        # signed by the 13/trixie key that bookworm's keyring carries.
        "trixie": [f"deb [signed-by={keyring}] {MIRROR} trixie main",
                   f"deb [signed-by={keyring}] {MIRROR} trixie-updates main"],
    }


class PrivateApt:
    """apt-get / apt-cache with their own configuration under CACHE/apt/NAME."""

    def __init__(self, name: str, cache: str, keyring: str = KEYRING):
        self.name = name
        self.root = os.path.join(cache, "apt", name)
        for d in ("lists/partial", "archives/partial", "cache", "etc/sources.list.d", "etc/preferences.d"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        with open(os.path.join(self.root, "etc", "sources.list"), "w") as f:
            f.write("\n".join(_sources(keyring)[name]) + "\n")
        status = os.path.join(self.root, "status")
        if not os.path.exists(status):
            open(status, "w").close()

    def _options(self) -> list:
        r = self.root
        # Dir::Cache too: without it apt writes the system's pkgcache.bin.
        return ["-o", f"Dir::Etc::sourcelist={r}/etc/sources.list",
                "-o", f"Dir::Etc::sourceparts={r}/etc/sources.list.d",
                "-o", f"Dir::Etc::preferences={r}/etc/preferences",
                "-o", f"Dir::Etc::preferencesparts={r}/etc/preferences.d",
                "-o", f"Dir::State::lists={r}/lists",
                "-o", f"Dir::State::status={r}/status",
                "-o", f"Dir::Cache={r}/cache",
                "-o", f"Dir::Cache::archives={r}/archives",
                "-o", "APT::Get::List-Cleanup=0"]

    def run(self, tool: str, *args: str, cwd: Optional[str] = None, check: bool = True):
        try:
            p = subprocess.run([tool, *self._options(), *args], cwd=cwd, capture_output=True, text=True)
        except FileNotFoundError:
            raise KernelUnavailable(f"{tool} is not installed (a Debian host is needed to fetch kernels)") from None
        if check and p.returncode != 0:
            raise KernelUnavailable(f"{tool} {' '.join(args)} failed ({p.returncode}): "
                                    f"{p.stderr.strip()[-600:]}")
        return p

    def lists_age(self) -> float:
        lists = os.path.join(self.root, "lists")
        stamps = [os.path.getmtime(os.path.join(lists, f)) for f in os.listdir(lists)
                  if f.endswith("InRelease") or f.endswith("_Release")]
        return time.time() - min(stamps) if stamps else float("inf")

    def update(self, force: bool = False) -> None:
        if not force and self.lists_age() < LIST_MAX_AGE_S:
            return
        p = self.run("apt-get", "update", check=False)
        # apt-get update exits 0 when a source fails its signature check.
        bad = [l for l in (p.stderr + p.stdout).splitlines()
               if l.startswith(("E:", "W: GPG", "Err:")) or "NO_PUBKEY" in l
               or "not signed" in l or "EXPKEYSIG" in l]
        if p.returncode != 0 or bad:
            raise KernelUnavailable(f"apt-get update ({self.name}) failed: "
                                    + " | ".join(bad or [p.stderr.strip()[-600:]]))

    def names(self, regex: str) -> list:
        p = self.run("apt-cache", "search", "--names-only", regex)
        return [l.split(" ", 1)[0] for l in p.stdout.splitlines() if l.strip()]

    def show(self, package: str) -> dict:
        p = self.run("apt-cache", "show", "--no-all-versions", package)
        out: dict = {}
        for line in p.stdout.splitlines():
            if ":" in line and not line.startswith(" "):
                k, v = line.split(":", 1)
                out.setdefault(k, v.strip())
        return out

    def suite_of(self, package: str) -> str:
        p = self.run("apt-cache", "policy", package, check=False)
        m = re.search(r"\d+ \S+ (\S+)/main", p.stdout)
        return m.group(1) if m else "?"


# ---------------------------------------------------------------------------
# Candidates: release -> packages

def _bookworm_candidates(apt: PrivateApt) -> dict:
    out = {}
    for name in apt.names(rf"^linux-image-6\.1(\.0-[0-9]+|2\.[0-9]+\+deb12)-{ARCH}-unsigned$"):
        out[name[len("linux-image-"):-len("-unsigned")]] = [name]
    return out


def _sid_candidates(apt: PrivateApt) -> dict:
    out = {}
    for name in apt.names(rf"^linux-binary-[0-9][^ ]*-{ARCH}$"):
        rel = name[len("linux-binary-"):]
        if PLAIN_RELEASE.fullmatch(rel):
            out[rel] = [name, f"linux-modules-{rel}", f"linux-base-{rel}"]
    for name in apt.names(rf"^linux-image-[0-9][^ ]*-{ARCH}-unsigned$"):     # the older layout
        rel = name[len("linux-image-"):-len("-unsigned")]
        if PLAIN_RELEASE.fullmatch(rel):
            out.setdefault(rel, [name])
    return out


def _release_version(rel: str) -> str:
    return rel[:-len("-" + ARCH)]


class Resolver:
    """Spec -> (release, packages, the PrivateApt that offers them)."""

    def __init__(self, cache: str, refresh: bool = False):
        self.cache = cache
        self.refresh = refresh
        self._apts: dict = {}
        self._errors: dict = {}

    def apt(self, name: str) -> PrivateApt:
        if name in self._errors:
            raise KernelUnavailable(self._errors[name])
        if name not in self._apts:
            try:
                apt = PrivateApt(name, self.cache)
                apt.update(self.refresh)
            except KernelUnavailable as e:
                if name != "sid" or "NO_PUBKEY" not in str(e):
                    self._errors[name] = str(e)
                    raise
                apt = self._sid_with_newer_keyring(str(e))
            self._apts[name] = apt
        return self._apts[name]

    def _sid_with_newer_keyring(self, first_error: str) -> PrivateApt:
        """sid is signed by keys bookworm's keyring lacks: retry with
        trixie's debian-archive-keyring (verified through bookworm's)."""
        try:
            keyring = newer_keyring(self.apt("trixie"), self.cache)
            apt = PrivateApt("sid", self.cache, keyring)
            apt.update(True)
            return apt
        except KernelUnavailable as e:
            self._errors["sid"] = f"{first_error}; with trixie's keyring: {e}"
            raise KernelUnavailable(self._errors["sid"]) from None

    def resolve(self, spec: str) -> tuple:
        if spec in ("6.1", "6.12"):
            cands = _bookworm_candidates(self.apt("bookworm"))
            pattern = r"6\.1\.0-\d+" if spec == "6.1" else r"6\.12\.\d+\+deb12"
            rels = [r for r in cands if re.fullmatch(f"{pattern}-{ARCH}", r)]
            if not rels:
                raise KernelUnavailable(f"no {spec} kernel in bookworm, bookworm-security or bookworm-backports")
            rel = max(rels, key=version_key)
            return rel, cands[rel], self.apt("bookworm")
        if spec in NEWEST:
            cands = _sid_candidates(self.apt("sid"))
            if not cands:
                raise KernelUnavailable("no amd64 kernel in Debian sid")
            rel = max(cands, key=lambda r: version_key(_release_version(r)))
            return rel, cands[rel], self.apt("sid")
        if not is_spec(spec):
            raise KernelUnavailable(f"not a kernel spec: {spec!r} (6.1, 6.12, newest, host, or a "
                                    f"Debian kernel version such as 6.12.95)")
        for name, candidates in (("bookworm", _bookworm_candidates), ("sid", _sid_candidates)):
            try:
                apt = self.apt(name)
            except KernelUnavailable:
                continue
            cands = candidates(apt)
            hits = [r for r in cands if _release_version(r) == spec
                    or re.fullmatch(re.escape(spec) + r"\+deb\d+", _release_version(r))]
            if hits:
                rel = max(hits, key=version_key)
                return rel, cands[rel], apt
        raise KernelUnavailable(f"kernel {spec} is not offered by bookworm, bookworm-security, "
                                f"bookworm-backports or sid (Debian keeps only the current versions)")


def newer_keyring(trixie: PrivateApt, cache: str) -> str:
    """debian-archive-keyring from trixie, downloaded through apt (its
    checksum is checked against a release file bookworm's keyring
    verifies), unpacked under CACHE/keyrings/<version>/."""
    info = trixie.show("debian-archive-keyring")
    dest = os.path.join(cache, "keyrings", info["Version"])
    path = os.path.join(dest, "usr/share/keyrings/debian-archive-keyring.gpg")
    if not os.path.exists(path):
        debs = os.path.join(cache, "debs")
        os.makedirs(debs, exist_ok=True)
        trixie.run("apt-get", "download", f"debian-archive-keyring={info['Version']}", cwd=debs)
        os.makedirs(dest, exist_ok=True)          # dpkg-deb -x makes no parent directories
        _unpack(os.path.join(debs, os.path.basename(info["Filename"])), dest)
    if not os.path.exists(path):
        raise KernelUnavailable(f"debian-archive-keyring {info['Version']} holds no keyring")
    return path


def _unpack(deb: str, dest: str) -> None:
    p = subprocess.run(["dpkg-deb", "-x", deb, dest], capture_output=True, text=True)
    if p.returncode != 0:
        raise KernelUnavailable(f"dpkg-deb -x {deb} failed: {p.stderr.strip()[-300:]}")


def find_vmlinuz(root: str, release: str) -> Optional[str]:
    for rel_path in (f"boot/vmlinuz-{release}", f"usr/lib/modules/{release}/vmlinuz",
                     f"lib/modules/{release}/vmlinuz"):
        path = os.path.join(root, rel_path)
        if os.path.exists(path):
            return path
    return None


@contextlib.contextmanager
def _locked(cache: str):
    """One fetcher at a time per cache (two matrix runs may share it)."""
    os.makedirs(cache, exist_ok=True)
    fd = os.open(os.path.join(cache, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def fetch(spec: str, cache: str, resolver: Optional[Resolver] = None) -> KernelImage:
    """Resolve ``spec``, download and unpack it unless the cache has it.
    Raises KernelUnavailable with the reason."""
    if is_image_path(spec):
        return local_image(spec)
    with _locked(cache):
        resolver = resolver or Resolver(cache)
        release, packages, apt = resolver.resolve(spec)
        root = os.path.join(cache, "kernels", release)
        meta_path = os.path.join(root, "kernel.json")
        cached = _cached(meta_path, spec, release, root)
        if cached is not None:
            return cached
        return _download_and_unpack(spec, release, packages, apt, cache)


def _cached(meta_path: str, spec: str, release: str, root: str) -> Optional[KernelImage]:
    """The unpacked kernel recorded in ``meta_path``, if it is complete."""
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    vmlinuz = meta.get("vmlinuz") or find_vmlinuz(root, release)
    if not isinstance(vmlinuz, str) or not os.path.exists(vmlinuz):
        return None
    size = meta.get("deb_bytes", 0)
    return KernelImage(spec=spec, release=release, vmlinuz=vmlinuz, root=root,
                       suite=str(meta.get("suite", "?")), packages=list(meta.get("packages", [])),
                       deb_bytes=sum(size.values()) if isinstance(size, dict) else int(size),
                       cached=True)


def _download_and_unpack(spec: str, release: str, packages: list, apt: PrivateApt,
                         cache: str) -> KernelImage:
    debs_dir = os.path.join(cache, "debs")
    os.makedirs(debs_dir, exist_ok=True)
    t0 = time.monotonic()
    debs, size = [], 0
    for package in packages:
        info = apt.show(package)
        path = os.path.join(debs_dir, os.path.basename(info["Filename"]))
        if not (os.path.exists(path) and os.path.getsize(path) == int(info["Size"])):
            apt.run("apt-get", "download", f"{package}={info['Version']}", cwd=debs_dir)
        if not os.path.exists(path):
            raise KernelUnavailable(f"apt-get download {package} did not produce {path}")
        debs.append(path)
        size += os.path.getsize(path)
    t1 = time.monotonic()
    root = os.path.join(cache, "kernels", release)
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)                                # dpkg-deb -x makes no parent directories
    for deb in debs:
        _unpack(deb, tmp)
    t2 = time.monotonic()
    for base in (tmp, os.path.join(tmp, "usr")):
        if os.path.isdir(os.path.join(base, "lib", "modules", release)) and \
                not os.path.islink(os.path.join(base, "lib")):
            p = subprocess.run(["depmod", "-a", "-b", base, release], capture_output=True, text=True)
            if p.returncode != 0:
                raise KernelUnavailable(f"depmod for {release} failed (is kmod installed?): "
                                        f"{p.stderr.strip()[-300:]}")
    t3 = time.monotonic()
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)
    vmlinuz = find_vmlinuz(root, release)
    if vmlinuz is None:
        raise KernelUnavailable(f"no vmlinuz for {release} in {', '.join(packages)}")
    image = KernelImage(spec=spec, release=release, vmlinuz=vmlinuz, root=root,
                        suite=", ".join(sorted({apt.suite_of(p) for p in packages})),
                        packages=list(packages), deb_bytes=size,
                        seconds={"download": round(t1 - t0, 1), "unpack": round(t2 - t1, 1),
                                 "depmod": round(t3 - t2, 1)})
    with open(os.path.join(root, "kernel.json"), "w") as f:
        json.dump({k: v for k, v in asdict(image).items() if k not in ("spec", "cached")}, f, indent=1)
    return image
