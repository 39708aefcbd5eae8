"""numpy's sort on AMD Zen 4, where its AVX-512 kernels are six times slower than its AVX2 kernels.

numpy sorts with x86-simd-sort, whose AVX-512 partition stores each vector with a memory-destination
compress-store. Zen 4 runs that instruction in microcode, over 100 cycles an instruction (numpy/x86-simd-sort#6).
On a Zen 4 EPYC, 5M float64 sort in 0.31 s with the AVX-512 kernels and in 0.05 s with the AVX2 ones.

The drift engine and the day profiles sort every numeric column. So on Zen 4 the package asks numpy for its AVX2
kernels, as OpenJDK's sort does there (JDK-8317976). Zen 4 is AMD family 19h with AVX-512: EPYC 9004, Ryzen 7000.
Zen 3 has no AVX-512, and Zen 5 (family 1Ah) runs the instruction fast.

numpy reads ``NPY_DISABLE_CPU_FEATURES`` once, when it is imported. So this works only when the package is
imported before numpy, as the CLI, the Dagster code location and the benchmark do. It never overrides a value that
is already set: set it empty to keep numpy's AVX-512 kernels.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping, MutableMapping
from importlib import metadata

NUMPY_SETTING = "NPY_DISABLE_CPU_FEATURES"
AVX512_KERNELS = "X86_V4"
"""numpy's name (2.4 and later) for its group of AVX-512 kernels; AVX2 (``X86_V3``) is what numpy uses without it."""


def is_zen4(cpuinfo: str) -> bool:
    """Whether the first processor described in ``/proc/cpuinfo``'s text is an AMD Zen 4 (family 19h with AVX-512)."""
    fields = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return (fields.get("vendor_id") == "AuthenticAMD" and fields.get("cpu family") == "25"
            and "avx512f" in fields.get("flags", "").split())


def prefer_avx2_sort(environ: MutableMapping[str, str] = os.environ, modules: Mapping[str, object] = sys.modules,
                     cpuinfo_path: str = "/proc/cpuinfo") -> bool:
    """On Zen 4, ask numpy for its AVX2 kernels. Nothing is done when numpy is imported already, is older than 2.4
    (other kernel names), or when ``NPY_DISABLE_CPU_FEATURES`` is set. Returns whether it asked."""
    if "numpy" in modules or NUMPY_SETTING in environ:
        return False
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as handle:
            first_processor = "".join(itertools.takewhile(str.strip, handle))  # up to the first blank line
    except OSError:  # not Linux: nothing to read, nothing asked
        return False
    # the CPU first: most machines end there, before the package metadata is searched (3 ms at every import)
    if not is_zen4(first_processor) or not _numpy_names_kernel_groups():
        return False
    environ[NUMPY_SETTING] = AVX512_KERNELS
    return True


def _numpy_names_kernel_groups() -> bool:
    try:
        major, minor = (int(part) for part in metadata.version("numpy").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (2, 4)
