"""numpy's AVX2 kernels asked for on AMD Zen 4 only, before numpy is imported, and never over a user's setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring_jobs.cpu import AVX512_KERNELS, NUMPY_SETTING, is_zen4, prefer_avx2_sort


def cpuinfo(vendor: str, family: int, flags: str) -> str:
    """Two processors as /proc/cpuinfo lists them; only the first is read."""
    first = (f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: 17\n"
             f"model name\t: some CPU\nflags\t\t: fpu sse2 avx2 {flags}\n")
    return first + "\n" + first.replace("processor\t: 0", "processor\t: 1") + "\n"


ZEN4 = cpuinfo("AuthenticAMD", 25, "avx512f avx512dq avx512bw")


@pytest.mark.parametrize(("text", "expected"), [
    (ZEN4, True),
    (cpuinfo("AuthenticAMD", 25, "sha_ni"), False),  # Zen 3: same family, no AVX-512
    (cpuinfo("AuthenticAMD", 26, "avx512f avx512dq"), False),  # Zen 5 stores compressed vectors fast
    (cpuinfo("GenuineIntel", 6, "avx512f avx512dq"), False),  # x86-simd-sort's AVX-512 kernels are Intel's fastest
    ("", False),
])
def test_only_amd_family_19h_with_avx512_is_zen4(text, expected):
    assert is_zen4(text) is expected


def test_the_first_processor_decides():
    assert not is_zen4(cpuinfo("GenuineIntel", 6, "avx512f") + ZEN4)


def written(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return str(path)


def test_on_zen4_numpy_is_asked_for_its_avx2_kernels(tmp_path):
    environ: dict[str, str] = {}
    assert prefer_avx2_sort(environ, {}, written(tmp_path, ZEN4))
    assert environ == {NUMPY_SETTING: AVX512_KERNELS}


@pytest.mark.parametrize(("environ", "modules", "text"), [
    ({NUMPY_SETTING: ""}, {}, ZEN4),  # the user keeps numpy's own choice
    ({NUMPY_SETTING: "AVX512_SPR"}, {}, ZEN4),
    ({}, {"numpy": object()}, ZEN4),  # too late: numpy has read its settings
    ({}, {}, cpuinfo("GenuineIntel", 6, "avx512f")),
])
def test_nothing_is_asked_when_numpy_is_imported_or_set_or_the_cpu_is_not_zen4(tmp_path, environ, modules, text):
    before = dict(environ)
    assert not prefer_avx2_sort(environ, modules, written(tmp_path, text))
    assert environ == before


def test_without_proc_cpuinfo_nothing_is_asked(tmp_path):
    environ: dict[str, str] = {}
    assert not prefer_avx2_sort(environ, {}, str(tmp_path / "absent"))
    assert environ == {}


def test_importing_the_package_first_asks_numpy_on_this_machine_exactly_when_it_is_a_zen4():
    """A fresh interpreter, as the CLI, Dagster and the benchmark start: the package is imported before numpy."""
    environ = {key: value for key, value in os.environ.items() if key != NUMPY_SETTING}
    found = subprocess.run(
        [sys.executable, "-c", "import os, monitoring_jobs, numpy; print(os.environ.get('NPY_DISABLE_CPU_FEATURES'))"],
        env=environ, capture_output=True, text=True, check=True)
    zen4 = Path("/proc/cpuinfo").exists() and is_zen4(Path("/proc/cpuinfo").read_text())
    assert found.stdout.strip() == (AVX512_KERNELS if zen4 else "None")
    assert found.stderr == ""  # numpy took the setting without a warning
